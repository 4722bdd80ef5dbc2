// The RollbackRequest's own steps (RestoreVolumes, Finish, Compensate, deletion) on the fake API,
// with the freeze after a partial restore.
import { describe, expect, it } from "vitest";
import {
  API_VERSION,
  ConditionReason,
  ConditionType,
  Kind,
  Label,
  type RollbackRequest,
} from "../../../../../src/api/index.ts";
import { FLUX_API } from "../../../../../src/controllers/request/flux.ts";
import { acquireLock, lockHolder } from "../../../../../src/controllers/request/lock.ts";
import { SNAPSHOT_API } from "../../../../../src/controllers/request/snapshots.ts";
import { RESTORE_INCOMPLETE } from "../../../../../src/health/frozen-apps.ts";
import { compensateStep } from "../../../../../src/controllers/rollback/steps/compensate.ts";
import { finishStep } from "../../../../../src/controllers/rollback/steps/finish.ts";
import { onDeleteStep } from "../../../../../src/controllers/rollback/steps/on-delete.ts";
import { restoreVolumesStep } from "../../../../../src/controllers/rollback/steps/restore-volumes.ts";
import { FakeObjectApi } from "../../../../fakes/object-api.ts";
import {
  condition,
  NS,
  planWith,
  seedApp,
  seedFlux,
  seedRollback,
  seedUpgrade,
  seedWorkload,
  testStepDeps,
} from "../../../../fakes/requests.ts";
import { stepContext } from "../../../../fakes/step-context.ts";

const NOW = new Date("2026-01-01T00:00:00Z");
const pvcRef = {
  apiVersion: "v1",
  kind: "PersistentVolumeClaim",
  namespace: NS,
  name: "data-db-0",
};
const plan = planWith({
  git: {
    branch: "main",
    path: "apps/db/release.yaml",
    versionPath: "spec.chart.spec.version",
    from: "1.1.0",
    to: "1.0.0",
    revertOf: "a".repeat(40),
  },
  volumes: [{ namespace: NS, name: "data-db-0", snapshot: "data-db-0-abc", storageClassName: "" }],
});

function setUp(opts: { snapshotReady?: boolean; pvc?: boolean } = {}) {
  const api = new FakeObjectApi();
  const app = seedApp(api);
  seedFlux(api, "Kustomization", "apps", { suspend: true });
  seedFlux(api, "HelmRelease", "db", { suspend: true });
  seedWorkload(api, "StatefulSet", "db", 0);
  const up = seedUpgrade(api);
  api.seed({
    apiVersion: SNAPSHOT_API,
    kind: "VolumeSnapshot",
    metadata: {
      name: "data-db-0-abc",
      namespace: NS,
      labels: { [Label.RequestUid]: up.metadata.uid ?? "" },
    },
    spec: { source: { persistentVolumeClaimName: "data-db-0" } },
    status: { readyToUse: opts.snapshotReady ?? true },
  });
  if (opts.pvc ?? true)
    api.seed({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "data-db-0", namespace: NS },
      spec: {},
    });
  const rb = seedRollback(api, "up-1-rollback", "up-1", { [Label.ManagedApp]: "db" });
  const deps = testStepDeps<RollbackRequest>(api);
  return { api, app, up, rb, deps };
}

describe("RestoreVolumes", () => {
  it("records the snapshots before the first delete, deletes under the PVC's uid, recreates from the snapshot", async () => {
    const { api, rb, deps } = setUp();
    const ctx = stepContext(rb, { plan });
    const original = api.peek(pvcRef);
    api.beforeNext("delete", () => {
      expect(ctx.status().snapshots).toEqual([
        { namespace: NS, name: "data-db-0-abc", pvcName: "data-db-0" },
      ]);
    });
    const step = restoreVolumesStep(deps);
    expect((await step(ctx)).kind).toBe("waiting");
    expect(api.callsOf("delete")[0]?.body).toEqual({ uid: original?.metadata.uid });
    expect(api.peek(pvcRef)).toBeUndefined();
    expect((await step(ctx)).kind).toBe("waiting");
    const restored = api.peek(pvcRef);
    expect(restored?.["spec"]).toMatchObject({
      dataSource: { kind: "VolumeSnapshot", name: "data-db-0-abc" },
    });
    api.write(pvcRef, { status: { phase: "Bound" } });
    expect(await step(ctx)).toMatchObject({
      kind: "succeeded",
      message: expect.stringContaining("restored 1 PVC(s)") as unknown,
    });
    // Ours now: never deleted again.
    expect(api.callsOf("delete")).toHaveLength(1);
  });

  it("deletes nothing while the snapshot is not ready", async () => {
    const { api, rb, deps } = setUp({ snapshotReady: false });
    const ctx = stepContext(rb, { plan });
    expect(await restoreVolumesStep(deps)(ctx)).toMatchObject({
      kind: "failed",
      reason: "RestoreBlocked",
      message: expect.stringMatching(/^no PVC was deleted: .*not ready/) as unknown,
    });
    expect(api.peek(pvcRef)).toBeDefined();
    expect(ctx.status().snapshots).toBeUndefined();
  });

  it("deletes nothing once Flux was resumed by someone else", async () => {
    const { api, rb, deps } = setUp();
    api.write(
      { apiVersion: FLUX_API.Kustomization, kind: "Kustomization", namespace: NS, name: "apps" },
      { spec: { suspend: false } },
    );
    expect(await restoreVolumesStep(deps)(stepContext(rb, { plan }))).toMatchObject({
      kind: "failed",
      reason: "RestoreBlocked",
    });
    expect(api.peek(pvcRef)).toBeDefined();
  });

  it("a PVC replaced between the read and the delete is left for the next pass (uid precondition)", async () => {
    const { api, rb, deps } = setUp();
    api.beforeNext("delete", async () => {
      await api.delete(pvcRef);
      api.seed({
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: { name: "data-db-0", namespace: NS },
        spec: {},
      });
    });
    expect((await restoreVolumesStep(deps)(stepContext(rb, { plan }))).kind).toBe("waiting");
    expect(api.peek(pvcRef)).toBeDefined();
  });
});

describe("Finish", () => {
  it("records the previous version on the app", async () => {
    const { api, app, rb, deps } = setUp();
    await acquireLock(api, NS, app.metadata.uid ?? "", deps.me(stepContext(rb)), NOW);
    const result = await finishStep(deps)(
      stepContext(rb, { plan, commit: { sha: "b".repeat(40), adopted: false } }),
    );
    expect(result).toMatchObject({
      kind: "finished",
      complete: "True",
      reason: ConditionReason.Succeeded,
    });
    expect(
      api.peek({ apiVersion: API_VERSION, kind: Kind.ManagedApp, namespace: NS, name: "db" })?.[
        "status"
      ],
    ).toMatchObject({
      currentVersion: "1.0.0",
      lastUpgrade: { name: "up-1", version: "1.1.0", outcome: "RolledBack" },
    });
    expect(await lockHolder(api, NS, app.metadata.uid ?? "")).toMatchObject({
      name: "up-1-rollback",
    });
  });
});

describe("Compensate and deletion: the freeze after a partial restore", () => {
  const status = (restoreBegun: boolean) => ({
    plan,
    suspended: [
      { kind: "Kustomization" as const, namespace: NS, name: "apps" },
      { kind: "HelmRelease" as const, namespace: NS, name: "db" },
    ],
    replicas: [{ kind: "StatefulSet" as const, namespace: NS, name: "db", original: 1 }],
    conditions: [condition(ConditionType.Aborting, "True", "RestoreBlocked", "snapshot gone")],
    ...(restoreBegun
      ? { snapshots: [{ namespace: NS, name: "data-db-0-abc", pvcName: "data-db-0" }] }
      : {}),
  });
  const isSuspended = (api: FakeObjectApi) =>
    (
      api.peek({
        apiVersion: FLUX_API.Kustomization,
        kind: "Kustomization",
        namespace: NS,
        name: "apps",
      })?.["spec"] as { suspend?: boolean }
    ).suspend;

  it("before the first delete: thaws like an upgrade", async () => {
    const { api, app, rb, deps } = setUp();
    await acquireLock(api, NS, app.metadata.uid ?? "", deps.me(stepContext(rb)), NOW);
    const result = await compensateStep(deps)(stepContext(rb, status(false)));
    expect(result).toMatchObject({ kind: "finished", complete: "False", reason: "RestoreBlocked" });
    expect(isSuspended(api)).toBe(false);
    expect(await lockHolder(api, NS, app.metadata.uid ?? "")).toMatchObject({
      name: "up-1-rollback",
    });
  });

  it("after the first delete: stays frozen, ends RestoreIncomplete naming the missing PVC", async () => {
    const { api, app, rb, deps } = setUp({ pvc: false });
    await acquireLock(api, NS, app.metadata.uid ?? "", deps.me(stepContext(rb)), NOW);
    const result = await compensateStep(deps)(stepContext(rb, status(true)));
    expect(result).toMatchObject({
      kind: "finished",
      complete: "False",
      reason: RESTORE_INCOMPLETE,
      event: { type: "Warning", reason: RESTORE_INCOMPLETE },
      message: expect.stringContaining(
        `${NS}/data-db-0 MISSING (its data is in VolumeSnapshot ${NS}/data-db-0-abc)`,
      ) as unknown,
    });
    expect(isSuspended(api)).toBe(true);
    expect(api.callsOf("patchScale")).toHaveLength(0);
    expect(await lockHolder(api, NS, app.metadata.uid ?? "")).toMatchObject({
      name: "up-1-rollback",
    });
  });

  it("deleted after the first delete: the freeze stays and a Warning on the app says why", async () => {
    const { api, rb, deps } = setUp({ pvc: false });
    const result = await onDeleteStep(deps)(stepContext(rb, status(true)));
    expect(result).toMatchObject({
      kind: "succeeded",
      message: expect.stringContaining("Flux stays suspended") as unknown,
    });
    expect(isSuspended(api)).toBe(true);
    expect(deps.recorded).toEqual([
      expect.objectContaining({
        type: "Warning",
        reason: RESTORE_INCOMPLETE,
        regarding: expect.objectContaining({ kind: Kind.ManagedApp }) as unknown,
      }),
    ]);
  });

  it("deleted before the first delete: thaws", async () => {
    const { api, rb, deps } = setUp();
    const result = await onDeleteStep(deps)(stepContext(rb, status(false)));
    expect(result).toMatchObject({
      kind: "succeeded",
      message: expect.stringContaining("deleted while in flight") as unknown,
    });
    expect(isSuspended(api)).toBe(false);
  });
});
