// The status patcher against a real API server: a small CRD of this file's own with a status
// subresource, so what reaches the server and what the server keeps can both be checked.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeClient, KubeObject, ObjectRef } from "../../../src/kube/client.ts";
import { isKubeError } from "../../../src/kube/errors.ts";
import { setCondition, type Condition } from "../../../src/runtime/conditions.ts";
import { StatusPatcher, type StatusClient } from "../../../src/runtime/status-patcher.ts";
import {
  createTestNamespace,
  deleteNamespace,
  eventually,
  testClient,
} from "../../support/kube.ts";

const GROUP = "tests.cairn.dev";
const PLURAL = "statuspatcherprobes";
const KIND = "StatusPatcherProbe";
const API_VERSION = `${GROUP}/v1`;
const CRD_NAME = `${PLURAL}.${GROUP}`;

const crd: KubeObject = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: CRD_NAME },
  spec: {
    group: GROUP,
    scope: "Namespaced",
    names: { plural: PLURAL, singular: "statuspatcherprobe", kind: KIND, listKind: `${KIND}List` },
    versions: [
      {
        name: "v1",
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: "object",
            properties: {
              spec: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
              status: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
            },
          },
        },
      },
    ],
  },
};

/** Passes calls through to the real client and remembers every status patch body and error. */
class RecordingClient implements StatusClient {
  readonly patches: Record<string, unknown>[] = [];
  readonly errors: string[] = [];
  readonly gets: ObjectRef[] = [];
  readonly #client: KubeClient;
  constructor(client: KubeClient) {
    this.#client = client;
  }
  get(ref: ObjectRef): Promise<KubeObject> {
    this.gets.push(ref);
    return this.#client.get(ref);
  }
  async patchStatus(ref: ObjectRef, patch: Record<string, unknown>): Promise<KubeObject> {
    this.patches.push(structuredClone(patch));
    try {
      return await this.#client.patchStatus(ref, patch);
    } catch (err) {
      this.errors.push(isKubeError(err, "Conflict") ? "Conflict" : String(err));
      throw err;
    }
  }
}

let client: KubeClient;
let namespace: string;

beforeAll(async () => {
  const admin = testClient();
  try {
    await admin.create(crd);
  } catch (err) {
    if (!isKubeError(err, "AlreadyExists")) throw err;
  }
  await eventually(`CRD ${CRD_NAME} established`, async () => {
    const got = await admin.get({
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      name: CRD_NAME,
    });
    const conditions = (
      got["status"] as { conditions?: { type: string; status: string }[] } | undefined
    )?.conditions;
    return conditions?.some((c) => c.type === "Established" && c.status === "True")
      ? true
      : undefined;
  });
  namespace = await createTestNamespace(admin, "status");
  // A client made after the CRD exists, so its discovery cache knows the new kind.
  client = testClient();
  await eventually(`${KIND} served`, () => client.list(API_VERSION, KIND, { namespace }));
});

afterAll(async () => {
  const admin = testClient();
  await deleteNamespace(admin, namespace);
  try {
    await admin.delete({
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      name: CRD_NAME,
    });
  } catch (err) {
    if (!isKubeError(err, "NotFound")) throw err;
  }
});

async function probe(name: string, status: Record<string, unknown>): Promise<KubeObject> {
  const ref = { apiVersion: API_VERSION, kind: KIND, namespace, name };
  const obj = await client.create({
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name, namespace },
    spec: { size: 1 },
  });
  // Status on create is dropped by the subresource; write it through the subresource.
  await StatusPatcher.from(obj).patch(client, ref, status);
  return client.get(ref);
}

function refOf(obj: KubeObject): ObjectRef {
  return { apiVersion: API_VERSION, kind: KIND, namespace, name: obj.metadata.name ?? "" };
}

const now = new Date("2025-01-01T00:00:00Z");

describe("StatusPatcher against the API server", () => {
  it("sends only the changed keys, nulls removed ones, and leaves other writers' keys alone", async () => {
    const obj = await probe("delta", {
      phase: "Pending",
      count: 0,
      plan: { pvcs: ["data-0"] },
      note: "ours",
    });
    const ref = refOf(obj);
    const recording = new RecordingClient(client);
    const patcher = StatusPatcher.from(obj);
    const status = obj["status"] as Record<string, unknown>;

    // Someone else writes `note` after we read; we do not touch it, so it must survive.
    await client.patchStatus(ref, { status: { note: "theirs" } });

    const first = await patcher.patch(recording, ref, {
      ...status,
      phase: "Running",
      startedAt: "2025-01-01T00:00:00Z",
      count: undefined,
    });
    expect(first.keys.slice().sort()).toEqual(["count", "phase", "startedAt"]);
    expect(recording.patches).toEqual([
      { status: { phase: "Running", startedAt: "2025-01-01T00:00:00Z", count: null } },
    ]);

    // A second patch in the same pass carries only what changed since the first.
    await patcher.patch(recording, ref, {
      ...status,
      phase: "Running",
      startedAt: "2025-01-01T00:00:00Z",
      count: undefined,
      plan: { pvcs: ["data-0", "data-1"] },
    });
    expect(recording.patches[1]).toEqual({ status: { plan: { pvcs: ["data-0", "data-1"] } } });

    // Nothing changed: no request at all.
    const third = await patcher.patch(recording, ref, patcher.baseline);
    expect(third.attempts).toBe(0);
    expect(recording.patches).toHaveLength(2);

    const stored = await client.get(ref);
    expect(stored["status"]).toEqual({
      phase: "Running",
      startedAt: "2025-01-01T00:00:00Z",
      plan: { pvcs: ["data-0", "data-1"] },
      note: "theirs",
    });
    // The subresource leaves spec and generation alone.
    expect(stored["spec"]).toEqual({ size: 1 });
    expect(stored.metadata.generation).toBe(obj.metadata.generation);
  });

  it("concurrent writers in optimistic mode get Conflicts and retry to a correct result", async () => {
    const writers = 5;
    const obj = await probe("optimistic", { count: 0, conditions: [] });
    const ref = refOf(obj);
    // Every writer read the same version before any of them wrote.
    const reads = await Promise.all(Array.from({ length: writers }, () => client.get(ref)));
    const recordings = reads.map(() => new RecordingClient(client));
    const results = await Promise.all(
      reads.map((read, i) =>
        StatusPatcher.from(read, { optimistic: true, maxAttempts: writers * 2 }).patch(
          recordings[i] ?? client,
          ref,
          (current) => ({
            ...current,
            count: (current["count"] as number) + 1,
            conditions: setCondition(
              current["conditions"] as Condition[],
              { type: `Writer${i}`, status: "True", reason: "Wrote", message: `writer ${i}` },
              now,
              1,
            ),
          }),
        ),
      ),
    );

    const conflicts = recordings.flatMap((r) => r.errors);
    // All five held the same resourceVersion: exactly one could win the first round.
    expect(conflicts.length).toBeGreaterThanOrEqual(writers - 1);
    expect(new Set(conflicts)).toEqual(new Set(["Conflict"]));
    expect(results.reduce((n, r) => n + r.attempts, 0)).toBe(writers + conflicts.length);
    // Every retry re-read the object first.
    expect(recordings.reduce((n, r) => n + r.gets.length, 0)).toBe(conflicts.length);

    const stored = (await client.get(ref))["status"] as { count: number; conditions: Condition[] };
    expect(stored.count).toBe(writers);
    expect(stored.conditions.map((c) => c.type).sort()).toEqual(
      Array.from({ length: writers }, (_, i) => `Writer${i}`),
    );
  });

  it("without optimistic mode the same writers lose each other's updates (why the mode exists)", async () => {
    const writers = 5;
    const obj = await probe("last-writer-wins", { count: 0, conditions: [] });
    const ref = refOf(obj);
    const reads = await Promise.all(Array.from({ length: writers }, () => client.get(ref)));
    await Promise.all(
      reads.map((read, i) =>
        StatusPatcher.from(read).patch(client, ref, (current) => ({
          ...current,
          count: (current["count"] as number) + 1,
          conditions: setCondition(
            current["conditions"] as Condition[],
            { type: `Writer${i}`, status: "True", reason: "Wrote", message: "" },
            now,
            1,
          ),
        })),
      ),
    );
    const stored = (await client.get(ref))["status"] as { count: number; conditions: Condition[] };
    expect(stored.count).toBe(1);
    expect(stored.conditions).toHaveLength(1);
  });

  it("a stale resourceVersion is a precondition the server enforces on /status", async () => {
    const obj = await probe("precondition", { phase: "A" });
    const ref = refOf(obj);
    await client.patchStatus(ref, { status: { phase: "B" } });
    const stale = new RecordingClient(client);
    const patcher = StatusPatcher.from(obj, { optimistic: true, maxAttempts: 1 });
    await expect(patcher.patch(stale, ref, { phase: "C" })).rejects.toMatchObject({
      code: "Conflict",
    });
    expect(((await client.get(ref))["status"] as { phase: string }).phase).toBe("B");
  });
});
