// The UpgradeRequest's own steps (Snapshot, Finish, Compensate) on the fake API.
import { describe, expect, it } from "vitest";
import {
  API_VERSION,
  ConditionReason,
  ConditionType,
  Kind,
  suspensionHoldersOf,
  type UpgradeRequest,
} from "../../../../../src/api/index.ts";
import { acquireLock, lockHolder } from "../../../../../src/controllers/request/lock.ts";
import { SNAPSHOT_API } from "../../../../../src/controllers/request/snapshots.ts";
import {
  compensateStep,
  rollbackName,
} from "../../../../../src/controllers/upgrade/steps/compensate.ts";
import { finishStep } from "../../../../../src/controllers/upgrade/steps/finish.ts";
import { snapshotStep } from "../../../../../src/controllers/upgrade/steps/snapshot.ts";
import { KubeError } from "../../../../../src/kube/errors.ts";
import { FakeObjectApi } from "../../../../fakes/object-api.ts";
import {
  condition,
  NS,
  planWith,
  seedApp,
  seedFlux,
  seedUpgrade,
  seedWorkload,
  testStepDeps,
} from "../../../../fakes/requests.ts";
import { stepContext } from "../../../../fakes/step-context.ts";

const NOW = new Date("2026-01-01T00:00:00Z");
const snapRef = (name: string) => ({
  apiVersion: SNAPSHOT_API,
  kind: "VolumeSnapshot",
  namespace: NS,
  name,
});
const appRef = { apiVersion: API_VERSION, kind: Kind.ManagedApp, namespace: NS, name: "db" };
const plan = planWith({
  volumes: [{ namespace: NS, name: "data-db-0", snapshot: "data-db-0-abc" }],
  volumeSnapshotClassName: "csi",
});

describe("Snapshot", () => {
  it("records the snapshots, creates each once and waits until all are ready", async () => {
    const api = new FakeObjectApi();
    const up = seedUpgrade(api);
    const ctx = stepContext(up, { plan });
    const step = snapshotStep(testStepDeps<UpgradeRequest>(api));
    api.beforeNext("create", () => {
      expect(ctx.status().snapshots).toEqual([
        { namespace: NS, name: "data-db-0-abc", pvcName: "data-db-0" },
      ]);
    });
    expect(await step(ctx)).toMatchObject({
      kind: "waiting",
      message: expect.stringMatching(/^0\/1 snapshots ready/) as unknown,
    });
    expect(api.peek(snapRef("data-db-0-abc"))?.metadata.labels).toMatchObject({
      "cairn.dev/request-uid": up.metadata.uid,
    });
    api.write(snapRef("data-db-0-abc"), { status: { readyToUse: true } });
    expect(await step(ctx)).toMatchObject({ kind: "succeeded", message: "1/1 snapshots ready" });
    expect(api.callsOf("create")).toHaveLength(1);
  });

  it("adopts its own snapshot after AlreadyExists, refuses one made by anyone else", async () => {
    const api = new FakeObjectApi();
    const up = seedUpgrade(api);
    api.seed({
      apiVersion: SNAPSHOT_API,
      kind: "VolumeSnapshot",
      metadata: {
        name: "data-db-0-abc",
        namespace: NS,
        labels: { "cairn.dev/request-uid": "someone" },
      },
      spec: {},
    });
    expect(
      await snapshotStep(testStepDeps<UpgradeRequest>(api))(stepContext(up, { plan })),
    ).toMatchObject({
      kind: "failed",
      reason: "SnapshotConflict",
    });
  });

  it("fails a snapshot in error only after the grace period", async () => {
    const api = new FakeObjectApi();
    const up = seedUpgrade(api);
    const step = snapshotStep(testStepDeps<UpgradeRequest>(api));
    await step(stepContext(up, { plan }));
    api.write(snapRef("data-db-0-abc"), {
      status: { error: { message: "driver down", time: "2026-01-01T00:00:00Z" } },
    });
    expect(await step(stepContext(up, { plan }, new Date("2026-01-01T00:00:30Z")))).toMatchObject({
      kind: "waiting",
      message: expect.stringContaining("driver down") as unknown,
    });
    expect(await step(stepContext(up, { plan }, new Date("2026-01-01T00:02:00Z")))).toMatchObject({
      kind: "failed",
      reason: "SnapshotFailed",
    });
  });

  it("runWhileUploading: runs the workloads from the cut to readyToUse, then stops them again", async () => {
    const api = new FakeObjectApi();
    const up = seedUpgrade(api);
    seedWorkload(api, "StatefulSet", "db", 0);
    const uploading = planWith({
      ...plan,
      runWhileUploading: true,
      workloads: [{ kind: "StatefulSet", namespace: NS, name: "db", replicas: 2 }],
    });
    const ctx = stepContext(up, {
      plan: uploading,
      replicas: [{ kind: "StatefulSet", namespace: NS, name: "db", original: 2 }],
    });
    const step = snapshotStep(testStepDeps<UpgradeRequest>(api));
    const dbRef = { apiVersion: "apps/v1", kind: "StatefulSet", namespace: NS, name: "db" };
    const replicas = () => (api.peek(dbRef)?.["spec"] as { replicas: number }).replicas;

    // Created, not cut yet: the workloads stay stopped.
    expect(await step(ctx)).toMatchObject({ kind: "waiting" });
    expect(replicas()).toBe(0);
    expect(ctx.status().uploadWindow).toBeUndefined();

    // Cut (creationTime set), still uploading: the window opens, written before the scale.
    api.write(snapRef("data-db-0-abc"), {
      status: { readyToUse: false, creationTime: "2026-01-01T00:00:00Z" },
    });
    api.beforeNext("patchScale", () => {
      expect(ctx.status().uploadWindow).toEqual({ openedAt: "2026-01-01T00:00:00.000Z" });
    });
    expect(await step(ctx)).toMatchObject({
      kind: "waiting",
      message: expect.stringContaining("the workloads run at the old version") as unknown,
    });
    expect(replicas()).toBe(2);

    // A pass while the window is open scales nothing (the cache shows the workload running).
    const scalesBefore = api.callsOf("patchScale").length;
    expect(await step(ctx)).toMatchObject({ kind: "waiting" });
    expect(api.callsOf("patchScale")).toHaveLength(scalesBefore);

    // Uploaded: the workloads are stopped again, and the step succeeds only once they are.
    api.write(snapRef("data-db-0-abc"), { status: { readyToUse: true } });
    const later = new Date("2026-01-01T00:01:30Z");
    const closing = stepContext(up, ctx.status(), later);
    expect(await step(closing)).toMatchObject({
      kind: "succeeded",
      message:
        "1/1 snapshots ready; the workloads ran at the old version for 90s while they uploaded and are stopped again",
      facts: {
        uploadWindow: {
          openedAt: "2026-01-01T00:00:00.000Z",
          closedAt: "2026-01-01T00:01:30.000Z",
        },
      },
    });
    expect(replicas()).toBe(0);
  });

  it("runWhileUploading: reopens the window after a crash between its status write and the scale", async () => {
    const api = new FakeObjectApi();
    const up = seedUpgrade(api);
    seedWorkload(api, "StatefulSet", "db", 0);
    const step = snapshotStep(testStepDeps<UpgradeRequest>(api));
    const status = {
      plan: planWith({
        ...plan,
        runWhileUploading: true,
        workloads: [{ kind: "StatefulSet" as const, namespace: NS, name: "db", replicas: 1 }],
      }),
      replicas: [{ kind: "StatefulSet" as const, namespace: NS, name: "db", original: 1 }],
      snapshots: [{ namespace: NS, name: "data-db-0-abc", pvcName: "data-db-0" }],
      uploadWindow: { openedAt: "2026-01-01T00:00:00.000Z" },
    };
    await step(stepContext(up, status));
    api.write(snapRef("data-db-0-abc"), {
      status: { readyToUse: false, creationTime: "2026-01-01T00:00:00Z" },
    });
    expect(await step(stepContext(up, status))).toMatchObject({ kind: "waiting" });
    expect(
      api.peek({ apiVersion: "apps/v1", kind: "StatefulSet", namespace: NS, name: "db" })?.["spec"],
    ).toEqual({ replicas: 1 });
  });

  it("without runWhileUploading keeps the workloads stopped while the snapshots upload", async () => {
    const api = new FakeObjectApi();
    const up = seedUpgrade(api);
    seedWorkload(api, "StatefulSet", "db", 0);
    const ctx = stepContext(up, {
      plan: planWith({
        ...plan,
        workloads: [{ kind: "StatefulSet", namespace: NS, name: "db", replicas: 1 }],
      }),
      replicas: [{ kind: "StatefulSet", namespace: NS, name: "db", original: 1 }],
    });
    const step = snapshotStep(testStepDeps<UpgradeRequest>(api));
    await step(ctx);
    api.write(snapRef("data-db-0-abc"), {
      status: { readyToUse: false, creationTime: "2026-01-01T00:00:00Z" },
    });
    expect(await step(ctx)).toMatchObject({
      kind: "waiting",
      message: "0/1 snapshots ready; waiting for data-db-0-abc",
    });
    expect(api.callsOf("patchScale")).toHaveLength(0);
    expect(ctx.status().uploadWindow).toBeUndefined();
  });

  it("is not needed when nothing is to be snapshotted", async () => {
    const api = new FakeObjectApi();
    const up = seedUpgrade(api, "up-1", { skipSnapshot: true });
    expect(
      await snapshotStep(testStepDeps<UpgradeRequest>(api))(stepContext(up, { plan: planWith() })),
    ).toMatchObject({
      kind: "succeeded",
      reason: "NotNeeded",
      message: "no snapshots: skipSnapshot is set on the request",
    });
  });
});

describe("Finish", () => {
  it("records the version on the app, keeps the lock for the runner to release, and can run again", async () => {
    const api = new FakeObjectApi();
    const app = seedApp(api);
    const up = seedUpgrade(api);
    const deps = testStepDeps<UpgradeRequest>(api);
    await acquireLock(api, NS, app.metadata.uid ?? "", deps.me(stepContext(up)), NOW);
    const finish = finishStep(deps);
    const result = await finish(stepContext(up, { plan }));
    expect(result).toMatchObject({
      kind: "finished",
      complete: "True",
      reason: ConditionReason.Succeeded,
      message: "upgraded db 1.0.0 → 1.1.0",
    });
    expect(api.peek(appRef)?.["status"]).toMatchObject({
      currentVersion: "1.1.0",
      lastUpgrade: { name: "up-1", version: "1.1.0", outcome: "Succeeded" },
    });
    // Released by the runner once the request's final status is written, not here.
    expect(await lockHolder(api, NS, app.metadata.uid ?? "")).toMatchObject({ name: "up-1" });
    expect((await finish(stepContext(up, { plan }))).kind).toBe("finished");
  });

  it("keeps the lock when the app's status write fails", async () => {
    const api = new FakeObjectApi();
    const app = seedApp(api);
    const up = seedUpgrade(api);
    const deps = testStepDeps<UpgradeRequest>(api);
    await acquireLock(api, NS, app.metadata.uid ?? "", deps.me(stepContext(up)), NOW);
    api.failNext("patchStatus", new KubeError("Transient", "etcd timeout", 503));
    await expect(finishStep(deps)(stepContext(up, { plan }))).rejects.toThrow("etcd timeout");
    expect(await lockHolder(api, NS, app.metadata.uid ?? "")).toMatchObject({ name: "up-1" });
  });
});

describe("Compensate", () => {
  const frozen = (committed: boolean) => ({
    plan,
    suspended: [{ kind: "Kustomization" as const, namespace: NS, name: "apps" }],
    replicas: [{ kind: "StatefulSet" as const, namespace: NS, name: "db", original: 1 }],
    conditions: [
      condition(ConditionType.Aborting, "True", "HealthCheckFailed", "pods crash"),
      ...(committed ? [condition(ConditionType.Committed, "True")] : []),
    ],
    ...(committed ? { commit: { sha: "a".repeat(40), adopted: false } } : {}),
  });

  function setUp(autoRollback: boolean) {
    const api = new FakeObjectApi();
    const app = seedApp(api, { autoRollback });
    seedFlux(api, "Kustomization", "apps", { suspend: true });
    seedWorkload(api, "StatefulSet", "db", 0);
    const up = seedUpgrade(api);
    const deps = testStepDeps<UpgradeRequest>(api);
    return { api, app, up, deps };
  }

  it("before the commit: thaws and says Git is untouched", async () => {
    const { api, app, up, deps } = setUp(true);
    await acquireLock(api, NS, app.metadata.uid ?? "", deps.me(stepContext(up)), NOW);
    const result = await compensateStep(deps)(stepContext(up, frozen(false)));
    expect(result).toMatchObject({
      kind: "finished",
      complete: "False",
      reason: "HealthCheckFailed",
      message: `pods crash. Before the commit: resumed Kustomization ${NS}/apps; restored StatefulSet ${NS}/db=1; Git untouched`,
    });
    expect(await lockHolder(api, NS, app.metadata.uid ?? "")).toMatchObject({ name: "up-1" });
    expect(api.callsOf("create")).toHaveLength(1); // the lock only: no rollback
  });

  it("after the commit with autoRollback: creates the rollback and hands it the lock", async () => {
    const { api, app, up, deps } = setUp(true);
    await acquireLock(api, NS, app.metadata.uid ?? "", deps.me(stepContext(up)), NOW);
    const ctx = stepContext(up, frozen(true));
    const result = await compensateStep(deps)(ctx);
    expect(result).toMatchObject({ kind: "finished", reason: ConditionReason.RollbackTriggered });
    const rb = api.peek({
      apiVersion: API_VERSION,
      kind: Kind.RollbackRequest,
      namespace: NS,
      name: "up-1-rollback",
    });
    expect(rb?.["spec"]).toEqual({ upgradeRequestRef: { name: "up-1" }, autoTriggered: true });
    // Not owned by the upgrade, so deleting the upgrade never garbage-collects it.
    expect(rb?.metadata["ownerReferences"]).toBeUndefined();
    expect(ctx.status().rollbackRef).toEqual({ name: "up-1-rollback" });
    // The freeze goes to the rollback as it is: Flux stays suspended, now held by the rollback,
    // and the workload stays at 0 (the failed version does not start on live data).
    const ks = api.peek({
      apiVersion: "kustomize.toolkit.fluxcd.io/v1",
      kind: "Kustomization",
      namespace: NS,
      name: "apps",
    });
    expect((ks?.["spec"] as { suspend?: boolean }).suspend).toBe(true);
    expect(suspensionHoldersOf(ks ?? { metadata: {} })).toEqual([
      {
        kind: Kind.RollbackRequest,
        namespace: NS,
        name: "up-1-rollback",
        uid: rb?.metadata.uid,
        upgrade: "up-1",
      },
    ]);
    expect(
      (
        api.peek({ apiVersion: "apps/v1", kind: "StatefulSet", namespace: NS, name: "db" })?.[
          "spec"
        ] as { replicas: number }
      ).replicas,
    ).toBe(0);
    expect(result).toMatchObject({
      message: expect.stringContaining(
        `the app stays frozen for the rollback (suspended: Kustomization ${NS}/apps; stopped: StatefulSet ${NS}/db (was 1))`,
      ) as unknown,
    });
    expect(await lockHolder(api, NS, app.metadata.uid ?? "")).toEqual({
      kind: Kind.RollbackRequest,
      name: "up-1-rollback",
      uid: rb?.metadata.uid,
    });
    // Again after a crash: AlreadyExists reads the rollback made before.
    expect((await compensateStep(deps)(stepContext(up, frozen(true)))).kind).toBe("finished");
  });

  it("after the commit, past Resume, with autoRollback: does not call an app frozen that is not", async () => {
    const { api, app, up, deps } = setUp(true);
    await acquireLock(api, NS, app.metadata.uid ?? "", deps.me(stepContext(up)), NOW);
    await api.mergePatch(
      {
        apiVersion: "kustomize.toolkit.fluxcd.io/v1",
        kind: "Kustomization",
        namespace: NS,
        name: "apps",
      },
      { spec: { suspend: false } },
    );
    await api.patchScale(
      { apiVersion: "apps/v1", kind: "StatefulSet", namespace: NS, name: "db" },
      1,
    );
    // Resume ran: nothing is recorded as suspended any more; Flux's apply scaled the workload.
    const result = await compensateStep(deps)(stepContext(up, { ...frozen(true), suspended: [] }));
    expect(result).toMatchObject({
      reason: ConditionReason.RollbackTriggered,
      message: expect.stringContaining(
        "After the commit: nothing left frozen (Flux was already resumed and the workloads scaled up again); RollbackRequest up-1-rollback",
      ) as unknown,
    });
  });

  it("after the commit without autoRollback: says how to roll back", async () => {
    const { api, up, deps } = setUp(false);
    const result = await compensateStep(deps)(stepContext(up, frozen(true)));
    expect(result).toMatchObject({
      kind: "finished",
      reason: ConditionReason.RollbackRequired,
      message: expect.stringContaining(`kubectl cairn rollback up-1 -n ${NS}`) as unknown,
    });
    expect(api.peek(appRef)?.["status"]).toMatchObject({ lastUpgrade: { outcome: "Failed" } });
  });

  it("names the rollback within 63 characters", () => {
    expect(rollbackName("a")).toBe("a-rollback");
    expect(rollbackName("x".repeat(60)).length).toBeLessThanOrEqual(63);
  });
});
