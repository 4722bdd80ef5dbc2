// Admit, Suspend, ScaleDown, ScaleUp and the thaw of a deleted request, on the fake API.
import { describe, expect, it } from "vitest";
import { ConditionReason, type UpgradeRequest } from "../../../../../src/api/index.ts";
import { FLUX_API } from "../../../../../src/controllers/request/flux.ts";
import { restoreReplicas } from "../../../../../src/controllers/request/freeze.ts";
import { lockHolder } from "../../../../../src/controllers/request/lock.ts";
import { admitStep } from "../../../../../src/controllers/request/steps/admit.ts";
import { thawOnDelete } from "../../../../../src/controllers/request/steps/on-delete.ts";
import { scaleDownStep } from "../../../../../src/controllers/request/steps/scale-down.ts";
import { scaleUpStep } from "../../../../../src/controllers/request/steps/scale-up.ts";
import { suspendStep } from "../../../../../src/controllers/request/steps/suspend.ts";
import { KubeError } from "../../../../../src/kube/errors.ts";
import { FakeObjectApi } from "../../../../fakes/object-api.ts";
import {
  NS,
  planWith,
  seedApp,
  seedFlux,
  seedUpgrade,
  seedWorkload,
  testStepDeps,
} from "../../../../fakes/requests.ts";
import { stepContext } from "../../../../fakes/step-context.ts";

const fluxRef = (kind: "Kustomization" | "HelmRelease", name: string) => ({
  apiVersion: FLUX_API[kind],
  kind,
  namespace: NS,
  name,
});
const suspended = (api: FakeObjectApi, kind: "Kustomization" | "HelmRelease", name: string) =>
  (api.peek(fluxRef(kind, name))?.["spec"] as { suspend?: boolean }).suspend === true;
const replicasOf = (api: FakeObjectApi, kind: string, name: string) =>
  (api.peek({ apiVersion: "apps/v1", kind, namespace: NS, name })?.["spec"] as { replicas: number })
    .replicas;

describe("Admit", () => {
  it("takes the app's lock, again and again", async () => {
    const api = new FakeObjectApi();
    const app = seedApp(api);
    const up = seedUpgrade(api);
    const admit = admitStep(testStepDeps<UpgradeRequest>(api));
    expect((await admit(stepContext(up))).kind).toBe("succeeded");
    expect((await admit(stepContext(up))).kind).toBe("succeeded");
    expect(await lockHolder(api, NS, app.metadata.uid ?? "")).toMatchObject({ name: "up-1" });
  });

  it("waits, naming the request that holds the app", async () => {
    const api = new FakeObjectApi();
    seedApp(api);
    const first = seedUpgrade(api, "first");
    const second = seedUpgrade(api, "second");
    const admit = admitStep(testStepDeps<UpgradeRequest>(api));
    await admit(stepContext(first));
    expect(await admit(stepContext(second))).toMatchObject({
      kind: "waiting",
      reason: ConditionReason.Waiting,
      message: "waiting for UpgradeRequest first, which holds the app; planning once it lets go",
    });
  });
});

describe("Suspend", () => {
  it("records each object before suspending it", async () => {
    const api = new FakeObjectApi();
    seedFlux(api, "Kustomization", "apps");
    seedFlux(api, "HelmRelease", "db");
    const up = seedUpgrade(api);
    const ctx = stepContext(up, { plan: planWith() });
    // The record must be in status before the object is flipped: check at the moment of the write.
    api.beforeNext("mergePatch", () => {
      expect(ctx.status().suspended).toEqual([
        { kind: "Kustomization", namespace: NS, name: "apps" },
      ]);
      expect(suspended(api, "Kustomization", "apps")).toBe(false);
    });
    const result = await suspendStep(testStepDeps<UpgradeRequest>(api))(ctx);
    expect(result.kind).toBe("succeeded");
    expect(suspended(api, "Kustomization", "apps")).toBe(true);
    expect(suspended(api, "HelmRelease", "db")).toBe(true);
    expect(ctx.status().suspended).toEqual([
      { kind: "Kustomization", namespace: NS, name: "apps" },
      { kind: "HelmRelease", namespace: NS, name: "db" },
    ]);
  });

  it("refuses, naming it, an object suspended by something that is not Cairn, and never records it", async () => {
    const api = new FakeObjectApi();
    seedFlux(api, "Kustomization", "apps");
    seedFlux(api, "HelmRelease", "db", { suspend: true });
    const ctx = stepContext(seedUpgrade(api), { plan: planWith() });
    const result = await suspendStep(testStepDeps<UpgradeRequest>(api))(ctx);
    expect(result).toMatchObject({
      kind: "failed",
      reason: "SuspendedByOther",
      message: expect.stringContaining(
        `HelmRelease ${NS}/db is suspended, and not by a Cairn request`,
      ) as unknown,
    });
    // What Cairn did not suspend, Cairn never resumes: not in the record compensation reads.
    expect(ctx.status().suspended).toEqual([
      { kind: "Kustomization", namespace: NS, name: "apps" },
    ]);
  });

  it("run twice writes nothing more", async () => {
    const api = new FakeObjectApi();
    seedFlux(api, "Kustomization", "apps");
    seedFlux(api, "HelmRelease", "db");
    const ctx = stepContext(seedUpgrade(api), { plan: planWith() });
    const suspend = suspendStep(testStepDeps<UpgradeRequest>(api));
    await suspend(ctx);
    const writes = api.callsOf("mergePatch").length;
    expect((await suspend(ctx)).kind).toBe("succeeded");
    expect(api.callsOf("mergePatch")).toHaveLength(writes);
    expect(ctx.saved).toHaveLength(2);
  });

  it("refuses a child whose parent Kustomization would undo the suspend", async () => {
    const api = new FakeObjectApi();
    seedFlux(api, "Kustomization", "apps", {
      labels: {
        "kustomize.toolkit.fluxcd.io/name": "root",
        "kustomize.toolkit.fluxcd.io/namespace": NS,
      },
    });
    api.write(fluxRef("Kustomization", "apps"), {
      metadata: {
        managedFields: [
          { manager: "kustomize-controller", fieldsV1: { "f:spec": { "f:suspend": {} } } },
        ],
      },
    });
    seedFlux(api, "Kustomization", "root");
    const ctx = stepContext(seedUpgrade(api), { plan: planWith() });
    const result = await suspendStep(testStepDeps<UpgradeRequest>(api))(ctx);
    expect(result).toMatchObject({ kind: "failed", reason: "ParentNotSuspended" });
    expect(suspended(api, "Kustomization", "apps")).toBe(false);
  });

  it("fails naming an object that is gone", async () => {
    const api = new FakeObjectApi();
    const ctx = stepContext(seedUpgrade(api), { plan: planWith() });
    expect(await suspendStep(testStepDeps<UpgradeRequest>(api))(ctx)).toMatchObject({
      kind: "failed",
      reason: ConditionReason.ReferenceNotFound,
      message: `Kustomization ${NS}/apps not found`,
    });
  });

  it("a failed write leaves the record, so compensation resumes the object if it flipped", async () => {
    const api = new FakeObjectApi();
    seedFlux(api, "Kustomization", "apps");
    seedFlux(api, "HelmRelease", "db");
    const ctx = stepContext(seedUpgrade(api), { plan: planWith() });
    api.failNext("mergePatch", new KubeError("Transient", "connection reset", 503));
    await expect(suspendStep(testStepDeps<UpgradeRequest>(api))(ctx)).rejects.toThrow(
      "connection reset",
    );
    expect(ctx.status().suspended).toHaveLength(1);
  });
});

describe("ScaleDown and ScaleUp", () => {
  const plan = planWith({
    workloads: [{ kind: "StatefulSet", namespace: NS, name: "db", replicas: 3 }],
    volumes: [{ namespace: NS, name: "data-db-0" }],
  });

  it("records the original replicas before scaling to 0, and never overwrites them", async () => {
    const api = new FakeObjectApi();
    seedWorkload(api, "StatefulSet", "db", 3);
    const ctx = stepContext(seedUpgrade(api), { plan });
    api.beforeNext("patchScale", () => {
      expect(ctx.status().replicas).toEqual([
        { kind: "StatefulSet", namespace: NS, name: "db", original: 3 },
      ]);
    });
    const down = scaleDownStep(testStepDeps<UpgradeRequest>(api));
    expect((await down(ctx)).kind).toBe("succeeded");
    expect(replicasOf(api, "StatefulSet", "db")).toBe(0);
    // A second pass (after a crash) reads 0 but keeps the recorded 3.
    expect((await down(ctx)).kind).toBe("succeeded");
    expect(ctx.status().replicas).toEqual([
      { kind: "StatefulSet", namespace: NS, name: "db", original: 3 },
    ]);
    expect(api.callsOf("patchScale")).toHaveLength(1);
  });

  it("waits while a pod of a stopped workload still mounts a planned PVC", async () => {
    const api = new FakeObjectApi();
    const sts = seedWorkload(api, "StatefulSet", "db", 1);
    api.seed({
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: "db-0",
        namespace: NS,
        ownerReferences: [
          { kind: "StatefulSet", name: "db", uid: sts.metadata.uid, controller: true },
        ],
      },
      spec: { volumes: [{ name: "data", persistentVolumeClaim: { claimName: "data-db-0" } }] },
    });
    const result = await scaleDownStep(testStepDeps<UpgradeRequest>(api))(
      stepContext(seedUpgrade(api), { plan }),
    );
    expect(result).toMatchObject({
      kind: "waiting",
      message: expect.stringContaining("db-0") as unknown,
    });
  });

  it("scales up only what is still at 0, to the recorded count", async () => {
    const api = new FakeObjectApi();
    seedWorkload(api, "StatefulSet", "db", 0);
    seedWorkload(api, "Deployment", "web", 2);
    const ctx = stepContext(seedUpgrade(api), {
      plan,
      replicas: [
        { kind: "StatefulSet", namespace: NS, name: "db", original: 3 },
        { kind: "Deployment", namespace: NS, name: "web", original: 5 },
      ],
    });
    const up = scaleUpStep(testStepDeps<UpgradeRequest>(api));
    expect(await up(ctx)).toMatchObject({
      kind: "succeeded",
      message: expect.stringContaining("db=3") as unknown,
    });
    expect(replicasOf(api, "StatefulSet", "db")).toBe(3);
    expect(replicasOf(api, "Deployment", "web")).toBe(2);
    expect(await up(ctx)).toMatchObject({ kind: "succeeded", reason: "NotNeeded" });
  });

  it("scales up from the informer's copy at 0 without a read, held against its version", async () => {
    const api = new FakeObjectApi();
    seedWorkload(api, "StatefulSet", "db", 0);
    const ctx = stepContext(seedUpgrade(api), {
      plan,
      replicas: [{ kind: "StatefulSet", namespace: NS, name: "db", original: 3 }],
    });
    const gets = () => api.callsOf("get").filter((c) => c.key.includes("StatefulSet")).length;
    expect((await scaleUpStep(testStepDeps<UpgradeRequest>(api))(ctx)).kind).toBe("succeeded");
    expect(replicasOf(api, "StatefulSet", "db")).toBe(3);
    expect(gets()).toBe(0);
    expect(api.callsOf("patchScale")[0]?.body).toMatchObject({
      metadata: { resourceVersion: expect.any(String) as unknown },
    });
  });

  it("reads a workload fresh when the informer's copy is stale, and leaves one someone scaled", async () => {
    const api = new FakeObjectApi();
    const ref = { apiVersion: "apps/v1", kind: "StatefulSet", namespace: NS, name: "db" };
    seedWorkload(api, "StatefulSet", "db", 0);
    const stale = await api.get(ref);
    const recorded = {
      replicas: [{ kind: "StatefulSet" as const, namespace: NS, name: "db", original: 3 }],
    };
    // Someone else scaled it to 2 after the copy was taken: the held scale conflicts, the fresh
    // read shows 2, and the count stays theirs.
    await api.patchScale(ref, 2);
    expect(await restoreReplicas(api, recorded, () => stale)).toEqual([]);
    expect(replicasOf(api, "StatefulSet", "db")).toBe(2);
    // Back at 0 under another version: the conflict's fresh read finds 0 and scales.
    await api.patchScale(ref, 0);
    expect(await restoreReplicas(api, recorded, () => stale)).toEqual([`StatefulSet ${NS}/db=3`]);
    expect(replicasOf(api, "StatefulSet", "db")).toBe(3);
  });
});

describe("a request deleted in flight", () => {
  it("resumes what it suspended (newest first), restores replicas and lets the lock go", async () => {
    const api = new FakeObjectApi();
    const app = seedApp(api);
    seedFlux(api, "Kustomization", "apps", { suspend: true });
    seedFlux(api, "HelmRelease", "db", { suspend: true });
    seedWorkload(api, "StatefulSet", "db", 0);
    const up = seedUpgrade(api);
    const deps = testStepDeps<UpgradeRequest>(api);
    await admitStep(deps)(stepContext(up));
    const ctx = stepContext(up, {
      plan: planWith(),
      suspended: [
        { kind: "Kustomization", namespace: NS, name: "apps" },
        { kind: "HelmRelease", namespace: NS, name: "db" },
      ],
      replicas: [{ kind: "StatefulSet", namespace: NS, name: "db", original: 1 }],
    });
    const result = await thawOnDelete(deps)(ctx);
    expect(result).toMatchObject({
      kind: "succeeded",
      message: `deleted while in flight: resumed HelmRelease ${NS}/db, Kustomization ${NS}/apps; restored StatefulSet ${NS}/db=1; Git is not reverted`,
    });
    expect(suspended(api, "Kustomization", "apps")).toBe(false);
    expect(replicasOf(api, "StatefulSet", "db")).toBe(1);
    expect(await lockHolder(api, NS, app.metadata.uid ?? "")).toBeUndefined();
  });
});
