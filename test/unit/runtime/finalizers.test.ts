import { describe, expect, it } from "vitest";
import { KubeError } from "../../../src/kube/errors.ts";
import {
  ensureFinalizer,
  finalizersOf,
  hasFinalizer,
  removeFinalizer,
} from "../../../src/runtime/finalizers.ts";
import { FakeObjectApi } from "../../fakes/object-api.ts";

const ref = { apiVersion: "tests.cairn.dev/v1", kind: "Widget", namespace: "ns", name: "w" };
const MINE = "example.com/cleanup";

function setup(finalizers?: string[]) {
  const api = new FakeObjectApi();
  const obj = api.seed({
    apiVersion: ref.apiVersion,
    kind: ref.kind,
    metadata: { name: ref.name, namespace: ref.namespace, ...(finalizers ? { finalizers } : {}) },
  });
  return { api, obj };
}

describe("ensureFinalizer", () => {
  it("patches the whole list with the resourceVersion it read as a precondition", async () => {
    const { api, obj } = setup(["other/keep"]);
    const updated = await ensureFinalizer(api, ref, obj, MINE);
    expect(api.callsOf("mergePatch").map((c) => c.body)).toEqual([
      {
        metadata: {
          finalizers: ["other/keep", MINE],
          resourceVersion: obj.metadata.resourceVersion,
        },
      },
    ]);
    expect(finalizersOf(updated)).toEqual(["other/keep", MINE]);
    expect(hasFinalizer(api.peek(ref) ?? obj, MINE)).toBe(true);
  });

  it("sends the labels in the same patch as the finalizer, and nothing when it is there", async () => {
    const { api, obj } = setup([]);
    const updated = await ensureFinalizer(api, ref, obj, MINE, { labels: { app: "web" } });
    expect(api.callsOf("mergePatch")).toHaveLength(1);
    expect(updated.metadata.labels).toEqual({ app: "web" });
    expect(finalizersOf(updated)).toEqual([MINE]);
    await ensureFinalizer(api, ref, updated, MINE, { labels: { app: "other" } });
    expect(api.callsOf("mergePatch")).toHaveLength(1);
  });

  it("sends nothing when the finalizer is already there", async () => {
    const { api, obj } = setup([MINE]);
    const same = await ensureFinalizer(api, ref, obj, MINE);
    expect(same).toBe(obj);
    expect(api.calls).toEqual([]);
  });

  it("on a Conflict re-reads and keeps the finalizer another writer added meanwhile", async () => {
    const { api, obj } = setup([]);
    api.beforeNext("mergePatch", () => {
      api.write(ref, { metadata: { finalizers: ["other/added"] } });
    });
    await ensureFinalizer(api, ref, obj, MINE);
    expect(api.calls.map((c) => c.op)).toEqual(["mergePatch", "get", "mergePatch"]);
    expect(finalizersOf(api.peek(ref) ?? obj)).toEqual(["other/added", MINE]);
    const retry = api.callsOf("mergePatch")[1]?.body as { metadata: { resourceVersion: string } };
    expect(retry.metadata.resourceVersion).not.toBe(obj.metadata.resourceVersion);
  });

  it("stops after the re-read when the other writer added our finalizer too", async () => {
    const { api, obj } = setup([]);
    api.beforeNext("mergePatch", () => void api.write(ref, { metadata: { finalizers: [MINE] } }));
    const result = await ensureFinalizer(api, ref, obj, MINE);
    expect(api.calls.map((c) => c.op)).toEqual(["mergePatch", "get"]);
    expect(finalizersOf(result)).toEqual([MINE]);
  });

  it("gives up with the Conflict after maxAttempts", async () => {
    const { api, obj } = setup([]);
    api.failNext("mergePatch", new KubeError("Conflict", "modified", 409), 10);
    await expect(ensureFinalizer(api, ref, obj, MINE, { maxAttempts: 3 })).rejects.toMatchObject({
      code: "Conflict",
    });
    expect(api.callsOf("mergePatch")).toHaveLength(3);
  });

  it("does not retry other errors", async () => {
    const { api, obj } = setup([]);
    api.failNext("mergePatch", new KubeError("Forbidden", "no", 403));
    await expect(ensureFinalizer(api, ref, obj, MINE)).rejects.toMatchObject({ code: "Forbidden" });
    expect(api.calls.map((c) => c.op)).toEqual(["mergePatch"]);
  });

  it("reads first when the object it was given carries no resourceVersion", async () => {
    const { api } = setup([]);
    await ensureFinalizer(api, ref, { metadata: {} }, MINE);
    expect(api.calls.map((c) => c.op)).toEqual(["get", "mergePatch"]);
    const body = api.callsOf("mergePatch")[0]?.body as { metadata: { resourceVersion?: string } };
    expect(body.metadata.resourceVersion).toBeDefined();
  });
});

describe("removeFinalizer", () => {
  it("patches the list without it, with the precondition, keeping others", async () => {
    const { api, obj } = setup(["other/keep", MINE]);
    await removeFinalizer(api, ref, obj, MINE);
    expect(api.callsOf("mergePatch")[0]?.body).toEqual({
      metadata: { finalizers: ["other/keep"], resourceVersion: obj.metadata.resourceVersion },
    });
    expect(finalizersOf(api.peek(ref) ?? obj)).toEqual(["other/keep"]);
  });

  it("sends nothing when the finalizer is not there", async () => {
    const { api, obj } = setup(["other/keep"]);
    expect(await removeFinalizer(api, ref, obj, MINE)).toBe(obj);
    expect(api.calls).toEqual([]);
  });

  it("treats a missing object as done", async () => {
    const { api, obj } = setup([MINE]);
    await api.delete(ref);
    // Someone else cleared the finalizers meanwhile, so the object is gone.
    api.write(ref, { metadata: { finalizers: [] } });
    expect(api.peek(ref)).toBeUndefined();
    await expect(removeFinalizer(api, ref, obj, MINE)).resolves.toBeUndefined();
    expect(api.calls.map((c) => c.op)).toEqual(["delete", "mergePatch"]);
  });

  it("treats an object that vanished during a conflict retry as done", async () => {
    const { api, obj } = setup([MINE, "other/last"]);
    // The deletion sets deletionTimestamp and moves the resourceVersion, so our patch (held
    // against the version in `obj`) conflicts; before we re-read, another writer clears the
    // finalizers and the object goes.
    await api.delete(ref);
    api.beforeNext("get", () => void api.write(ref, { metadata: { finalizers: [] } }));
    await expect(removeFinalizer(api, ref, obj, MINE)).resolves.toBeUndefined();
    expect(api.calls.map((c) => c.op)).toEqual(["delete", "mergePatch", "get"]);
  });

  it("removing the last finalizer of a deleting object lets it go", async () => {
    const { api } = setup([MINE]);
    await api.delete(ref);
    const deleting = api.peek(ref);
    expect(deleting?.metadata["deletionTimestamp"]).toBeDefined();
    if (!deleting) throw new Error("the object should still be there");
    await removeFinalizer(api, ref, deleting, MINE);
    expect(api.peek(ref)).toBeUndefined();
  });
});
