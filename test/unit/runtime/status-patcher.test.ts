import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../../src/kube/client.ts";
import { KubeError } from "../../../src/kube/errors.ts";
import { setCondition, type Condition } from "../../../src/runtime/conditions.ts";
import { StatusPatcher, statusDelta, type Status } from "../../../src/runtime/status-patcher.ts";
import { FakeObjectApi } from "../../fakes/object-api.ts";

const ref = { apiVersion: "tests.cairn.dev/v1", kind: "Widget", namespace: "ns", name: "w" };

function setup(status: Record<string, unknown> = {}) {
  const api = new FakeObjectApi();
  const obj = api.seed({
    apiVersion: ref.apiVersion,
    kind: ref.kind,
    metadata: { name: ref.name, namespace: ref.namespace, generation: 1 },
    spec: { size: 1 },
    status,
  });
  return { api, obj };
}

const conflict = () => new KubeError("Conflict", "the object has been modified", 409);
const now = new Date("2025-01-01T00:00:00Z");

function withCondition(status: Status, type: string): Status {
  const list = (status["conditions"] ?? []) as Condition[];
  return {
    ...status,
    conditions: setCondition(list, { type, status: "True", reason: "Done", message: "" }, now, 1),
  };
}

describe("statusDelta", () => {
  it("lists changed and added keys with their values, removed keys as null", () => {
    expect(
      statusDelta(
        { phase: "A", count: 1, nested: { x: [1, 2] }, gone: true },
        { phase: "B", count: 1, nested: { x: [1, 2] }, added: "new" },
      ),
    ).toEqual({ phase: "B", added: "new", gone: null });
  });

  it("ignores key order inside values and sees changes deep inside lists", () => {
    expect(statusDelta({ o: { a: 1, b: 2 } }, { o: { b: 2, a: 1 } })).toEqual({});
    expect(statusDelta({ l: [{ a: 1 }] }, { l: [{ a: 2 }] })).toEqual({ l: [{ a: 2 }] });
    expect(statusDelta({ v: [1] }, { v: { 0: 1 } })).toEqual({ v: { 0: 1 } });
  });
});

describe("StatusPatcher", () => {
  it("sends one merge patch to /status holding only the keys that changed", async () => {
    const { api, obj } = setup({ phase: "Pending", startedAt: "t0", plan: { pvcs: ["a"] } });
    const patcher = StatusPatcher.from(obj);
    const result = await patcher.patch(api, ref, {
      phase: "Running",
      startedAt: "t0",
      plan: { pvcs: ["a"] },
      step: "snapshot",
    });
    expect(api.callsOf("patchStatus").map((c) => c.body)).toEqual([
      { status: { phase: "Running", step: "snapshot" } },
    ]);
    expect(result.keys).toEqual(["phase", "step"]);
    expect(result.attempts).toBe(1);
    expect(api.peek(ref)?.["status"]).toEqual({
      phase: "Running",
      startedAt: "t0",
      plan: { pvcs: ["a"] },
      step: "snapshot",
    });
  });

  it("sends null for keys that were removed, and the server drops them", async () => {
    const { api, obj } = setup({ phase: "Failed", error: "boom", retries: 2 });
    const patcher = StatusPatcher.from(obj);
    await patcher.patch(api, ref, { phase: "Running", retries: 2, error: undefined });
    expect(api.callsOf("patchStatus")[0]?.body).toEqual({
      status: { phase: "Running", error: null },
    });
    expect(api.peek(ref)?.["status"]).toEqual({ phase: "Running", retries: 2 });
  });

  it("makes no request at all when nothing changed", async () => {
    const { api, obj } = setup({ phase: "Running", conditions: [{ type: "Ready" }] });
    const patcher = StatusPatcher.from(obj);
    const result = await patcher.patch(api, ref, {
      conditions: [{ type: "Ready" }],
      phase: "Running",
    });
    expect(result).toEqual({ keys: [], attempts: 0, object: undefined });
    expect(api.calls.filter((c) => c.op !== "get")).toEqual([]);
  });

  it("advances the baseline, so a second patch in the same pass carries only the new delta", async () => {
    const { api, obj } = setup({ phase: "Pending" });
    const patcher = StatusPatcher.from(obj);
    await patcher.patch(api, ref, { phase: "Running", step: "a" });
    await patcher.patch(api, ref, { phase: "Running", step: "b", startedAt: "t1" });
    await patcher.patch(api, ref, { phase: "Running", step: "b", startedAt: "t1" });
    expect(api.callsOf("patchStatus").map((c) => c.body)).toEqual([
      { status: { phase: "Running", step: "a" } },
      { status: { step: "b", startedAt: "t1" } },
    ]);
    expect(patcher.baseline).toEqual({ phase: "Running", step: "b", startedAt: "t1" });
  });

  it("deep-copies its baseline, so later changes to the object do not leak into it", async () => {
    const status = { phase: "Pending", plan: { pvcs: ["a"] } };
    const { api, obj } = setup(status);
    const patcher = StatusPatcher.from(obj);
    const live = obj["status"] as { plan: { pvcs: string[] } };
    live.plan.pvcs.push("b");
    await patcher.patch(api, ref, obj["status"] as Status);
    expect(api.callsOf("patchStatus")[0]?.body).toEqual({ status: { plan: { pvcs: ["a", "b"] } } });
  });

  it("keeps the baseline when the request fails, so the next patch sends the keys again", async () => {
    const { api, obj } = setup({ phase: "Pending" });
    const patcher = StatusPatcher.from(obj);
    api.failNext("patchStatus", new KubeError("Transient", "503", 503));
    await expect(patcher.patch(api, ref, { phase: "Running" })).rejects.toMatchObject({
      code: "Transient",
    });
    await patcher.patch(api, ref, { phase: "Running" });
    expect(api.callsOf("patchStatus").map((c) => c.body)).toEqual([
      { status: { phase: "Running" } },
      { status: { phase: "Running" } },
    ]);
  });

  it("by default sends no resourceVersion and leaves other writers' keys alone", async () => {
    const { api, obj } = setup({ phase: "Pending", other: "theirs" });
    const patcher = StatusPatcher.from(obj);
    api.write(ref, { status: { other: "changed by someone else" } });
    await patcher.patch(api, ref, { phase: "Running", other: "theirs" });
    const body = api.callsOf("patchStatus")[0]?.body as Record<string, unknown>;
    expect(body).toEqual({ status: { phase: "Running" } });
    expect(api.peek(ref)?.["status"]).toEqual({
      phase: "Running",
      other: "changed by someone else",
    });
  });

  it("does not retry a Conflict outside optimistic mode", async () => {
    const { api, obj } = setup({});
    const patcher = StatusPatcher.from(obj);
    api.failNext("patchStatus", conflict());
    await expect(patcher.patch(api, ref, { phase: "Running" })).rejects.toMatchObject({
      code: "Conflict",
    });
    expect(api.callsOf("patchStatus")).toHaveLength(1);
    expect(api.callsOf("get")).toHaveLength(0);
  });

  describe("optimistic mode", () => {
    it("sends the resourceVersion it read as a precondition, then the one it wrote", async () => {
      const { api, obj } = setup({ phase: "Pending" });
      const patcher = StatusPatcher.from(obj, { optimistic: true });
      const first = await patcher.patch(api, ref, { phase: "Running" });
      await patcher.patch(api, ref, { phase: "Done" });
      expect(api.callsOf("patchStatus").map((c) => c.body)).toEqual([
        {
          status: { phase: "Running" },
          metadata: { resourceVersion: obj.metadata.resourceVersion },
        },
        {
          status: { phase: "Done" },
          metadata: { resourceVersion: first.object?.metadata.resourceVersion },
        },
      ]);
    });

    it("re-reads on a Conflict and recomputes a function against the fresh status", async () => {
      const { api, obj } = setup({ conditions: [] });
      const mine = StatusPatcher.from(obj, { optimistic: true });
      // Another writer adds its condition after we read and before our patch lands.
      api.beforeNext("patchStatus", () => {
        api.write(ref, { status: withCondition({}, "Theirs") });
      });
      const result = await mine.patch(api, ref, (current) => withCondition(current, "Mine"));
      expect(result.attempts).toBe(2);
      expect(api.callsOf("get")).toHaveLength(1);
      const conditions = (api.peek(ref)?.["status"] as { conditions: Condition[] }).conditions;
      expect(conditions.map((c) => c.type)).toEqual(["Theirs", "Mine"]);
      // The retry was held against the version it re-read.
      const retried = api.callsOf("patchStatus")[1]?.body as { metadata: unknown };
      expect(retried.metadata).toEqual({
        resourceVersion: String(Number(obj.metadata.resourceVersion) + 1),
      });
    });

    it("re-applies a plain object's changed keys on top of the fresh status", async () => {
      const { api, obj } = setup({ phase: "Pending", count: 1, note: "x" });
      const patcher = StatusPatcher.from(obj, { optimistic: true });
      api.beforeNext("patchStatus", () => {
        api.write(ref, { status: { count: 5, extra: "theirs" } });
      });
      const result = await patcher.patch(api, ref, { phase: "Running", count: 1 });
      expect(result.attempts).toBe(2);
      // Our intent was: phase → Running, note removed. Their count and extra survive.
      expect(api.peek(ref)?.["status"]).toEqual({ phase: "Running", count: 5, extra: "theirs" });
      expect(api.callsOf("patchStatus")[1]?.body).toMatchObject({
        status: { phase: "Running", note: null },
      });
    });

    it("gives up after maxAttempts conflicts with the Conflict error", async () => {
      const { api, obj } = setup({});
      const patcher = StatusPatcher.from(obj, { optimistic: true, maxAttempts: 3 });
      let n = 0;
      api.beforeNext("patchStatus", () => void api.write(ref, { status: { n: ++n } }), 10);
      await expect(patcher.patch(api, ref, { phase: "Running" })).rejects.toMatchObject({
        code: "Conflict",
      });
      expect(api.callsOf("patchStatus")).toHaveLength(3);
      expect(api.callsOf("get")).toHaveLength(2);
    });

    it("sends nothing when the fresh status already holds what we wanted", async () => {
      const { api, obj } = setup({ phase: "Pending" });
      const patcher = StatusPatcher.from(obj, { optimistic: true });
      api.beforeNext("patchStatus", () => void api.write(ref, { status: { phase: "Running" } }));
      const result = await patcher.patch(api, ref, { phase: "Running" });
      expect(result.attempts).toBe(1);
      expect(result.keys).toEqual([]);
      expect(api.callsOf("patchStatus")).toHaveLength(1);
    });

    it("reads a resourceVersion first when the object it started from had none", async () => {
      const { api, obj } = setup({ phase: "Pending" });
      const bare: Pick<KubeObject, "metadata"> & { status: unknown } = {
        metadata: {},
        status: { phase: "Pending" },
      };
      const patcher = StatusPatcher.from(bare, { optimistic: true });
      await patcher.patch(api, ref, { phase: "Running" });
      expect(api.calls.map((c) => c.op)).toEqual(["get", "patchStatus"]);
      const body = api.callsOf("patchStatus")[0]?.body as { metadata: { resourceVersion: string } };
      expect(body.metadata.resourceVersion).toBe(obj.metadata.resourceVersion);
    });
  });

  describe("fenced mode", () => {
    it("throws the Conflict when someone else wrote the status, and keeps fencing after it", async () => {
      const { api, obj } = setup({ phase: "Pending" });
      const patcher = StatusPatcher.from(obj, { fenced: true });
      api.beforeNext("patchStatus", () => void api.write(ref, { status: { phase: "Done" } }));
      await expect(patcher.patch(api, ref, { phase: "Running" })).rejects.toMatchObject({
        code: "Conflict",
      });
      expect(api.peek(ref)?.["status"]).toEqual({ phase: "Done" });
      // A later patch of the same writer is still held against the version it had seen.
      await expect(patcher.patch(api, ref, { phase: "Running" })).rejects.toMatchObject({
        code: "Conflict",
      });
      expect(api.peek(ref)?.["status"]).toEqual({ phase: "Done" });
      const bodies = api.callsOf("patchStatus").map((c) => c.body as { metadata: unknown });
      expect(bodies.map((b) => b.metadata)).toEqual([
        { resourceVersion: obj.metadata.resourceVersion },
        { resourceVersion: obj.metadata.resourceVersion },
      ]);
    });

    it("writes again when only the metadata or spec changed since its read", async () => {
      const { api, obj } = setup({ phase: "Pending" });
      const patcher = StatusPatcher.from(obj, { fenced: true });
      api.beforeNext(
        "patchStatus",
        () => void api.write(ref, { metadata: { labels: { a: "b" } } }),
      );
      const result = await patcher.patch(api, ref, { phase: "Running" });
      expect(result.attempts).toBe(2);
      expect(api.peek(ref)?.["status"]).toEqual({ phase: "Running" });
      expect(api.peek(ref)?.metadata.labels).toEqual({ a: "b" });
    });

    it("rebase takes a newer version of our own whose status is unchanged, and refuses others", async () => {
      const { api, obj } = setup({ phase: "Pending" });
      const patcher = StatusPatcher.from(obj, { fenced: true });
      const labelled = api.write(ref, { metadata: { labels: { a: "b" } } });
      expect(patcher.rebase(labelled)).toBe(true);
      await patcher.patch(api, ref, { phase: "Running" });
      expect(api.callsOf("patchStatus")).toHaveLength(1);
      const theirs = api.write(ref, { status: { phase: "Done" } });
      expect(patcher.rebase(theirs)).toBe(false);
      expect(patcher.rebase({ metadata: {}, status: { phase: "Running" } })).toBe(false);
    });
  });
});
