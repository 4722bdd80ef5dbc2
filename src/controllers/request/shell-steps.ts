// Steps both request kinds share (Admit, Suspend, ScaleDown, Resume's Flux half, ScaleUp) and
// the two halves of compensation (resume what Cairn suspended, restore recorded replicas). Each
// is idempotent: it looks at the world, acts at most once, and reports.
import { ConditionReason, type FluxObjectRef, type RequestStatus } from "../../api/index.ts";
import type { KubeClient, KubeObject } from "../../kube/client.ts";
import { isKubeError } from "../../kube/errors.ts";
import { applierOwnsSuspend, appliedBy, fluxRef, isSuspended, setSuspend } from "./flux.ts";
import { acquireLock, type Holder } from "./lock.ts";
import type { StepContext } from "./runner.ts";
import type { StepResult } from "./result.ts";
import { busyPods, replicasToRecord, specReplicas, workloadRef } from "./workloads.ts";
import type { World } from "./world.ts";

const describeRef = (f: { kind: string; namespace: string; name: string }) =>
  `${f.kind} ${f.namespace}/${f.name}`;

async function fresh(client: KubeClient, f: FluxObjectRef): Promise<KubeObject | undefined> {
  try {
    return await client.get(fluxRef(f));
  } catch (err) {
    if (isKubeError(err, "NotFound")) return undefined;
    throw err;
  }
}

export async function admit(
  client: KubeClient,
  ctx: StepContext<{ metadata: { namespace?: string | undefined } }>,
  appUid: string,
  me: Holder,
): Promise<StepResult> {
  const result = await acquireLock(
    client,
    ctx.request.metadata.namespace ?? "",
    appUid,
    me,
    ctx.now(),
  );
  if (result.acquired) return { kind: "succeeded", message: "holds the app's lock" };
  return {
    kind: "waiting",
    reason: ConditionReason.Waiting,
    message: `waiting for ${result.holder.kind} ${result.holder.name}, which holds the app`,
    afterMs: 10_000,
  };
}

/** Suspends the planned Flux objects in order, recording each before flipping it. */
export async function suspendFlux(
  client: KubeClient,
  ctx: StepContext<unknown>,
  flux: readonly FluxObjectRef[],
): Promise<StepResult> {
  for (const f of flux) {
    const obj = await fresh(client, f);
    if (!obj)
      return {
        kind: "failed",
        reason: ConditionReason.ReferenceNotFound,
        message: `${describeRef(f)} not found`,
      };
    const parent = appliedBy(obj);
    if (parent && applierOwnsSuspend(obj)) {
      const p = await fresh(client, { kind: "Kustomization", ...parent });
      if (p && !isSuspended(p))
        return {
          kind: "failed",
          reason: "ParentNotSuspended",
          message: `${describeRef(f)} is applied by Kustomization ${parent.namespace}/${parent.name}, which sets its spec.suspend and is not suspended: suspend the parent first`,
        };
    }
    if (isSuspended(obj)) continue;
    const recorded = ctx.status().suspended ?? [];
    if (
      !recorded.some((r) => r.kind === f.kind && r.namespace === f.namespace && r.name === f.name)
    )
      await ctx.save({ suspended: [...recorded, f] });
    await setSuspend(client, f, true);
  }
  return { kind: "succeeded", message: `suspended ${flux.map(describeRef).join(", ")}` };
}

/** Whether every planned Flux object is still suspended: checked before an irreversible step. */
export async function stillSuspended(
  client: KubeClient,
  flux: readonly FluxObjectRef[],
): Promise<string | undefined> {
  for (const f of flux) {
    const obj = await fresh(client, f);
    if (!isSuspended(obj))
      return `${describeRef(f)} was resumed by someone else during the operation`;
  }
  return undefined;
}

export async function scaleDown(
  client: KubeClient,
  world: World,
  ctx: StepContext<unknown>,
): Promise<StepResult> {
  const plan = ctx.status().plan;
  if (!plan) throw new Error("no plan in status");
  if (plan.workloads.length === 0 && plan.volumes.length === 0)
    return { kind: "succeeded", reason: "NotNeeded", message: "no workload mounts a planned PVC" };
  const live = (w: { kind: string; namespace: string; name: string }) =>
    world.workload(w.kind, w.namespace, w.name);
  const toRecord = replicasToRecord(plan.workloads, ctx.status().replicas ?? [], live);
  if (toRecord.length > 0)
    await ctx.save({ replicas: [...(ctx.status().replicas ?? []), ...toRecord] });
  for (const w of plan.workloads) {
    const obj = live(w);
    if (obj && (specReplicas(obj) ?? 0) > 0) await client.patchScale(workloadRef(w), 0);
  }
  const namespaces = [
    ...new Set([
      ...plan.workloads.map((w) => w.namespace),
      ...plan.volumes.map((v) => v.namespace),
    ]),
  ];
  const objects = world.objectsIn(namespaces);
  const uids = new Set(
    plan.workloads.map((w) => live(w)?.metadata.uid).filter((u): u is string => u !== undefined),
  );
  const rsOwners = new Map<string, string>();
  for (const rs of objects.replicaSets) {
    const owner = (
      (rs.metadata["ownerReferences"] ?? []) as { uid?: string; controller?: boolean }[]
    ).find((o) => o.controller);
    if (rs.metadata.uid && owner?.uid) rsOwners.set(rs.metadata.uid, owner.uid);
  }
  const busy = busyPods(objects.pods, plan.volumes, uids, rsOwners);
  if (busy.length > 0)
    return {
      kind: "waiting",
      message: `waiting for ${busy.length} pod(s) to go: ${busy.slice(0, 5).join(", ")}`,
      afterMs: 5_000,
    };
  return {
    kind: "succeeded",
    message: `stopped ${plan.workloads.map(describeRef).join(", ") || "nothing"}; no pod mounts a planned PVC`,
  };
}

/** Resumes what Cairn suspended (never anything else), in the given order. */
export async function resumeRecorded(
  client: KubeClient,
  suspended: readonly FluxObjectRef[],
): Promise<string[]> {
  const resumed: string[] = [];
  for (const f of suspended) {
    const obj = await fresh(client, f);
    if (obj && isSuspended(obj)) {
      await setSuspend(client, f, false);
      resumed.push(describeRef(f));
    }
  }
  return resumed;
}

/** Puts recorded replica counts back on workloads that are still at 0. */
export async function restoreReplicas(
  client: KubeClient,
  world: World,
  status: RequestStatus,
): Promise<string[]> {
  const restored: string[] = [];
  for (const r of status.replicas ?? []) {
    const obj = world.workload(r.kind, r.namespace, r.name);
    if (obj && specReplicas(obj) === 0 && r.original > 0) {
      await client.patchScale(workloadRef(r), r.original);
      restored.push(`${describeRef(r)}=${r.original}`);
    }
  }
  return restored;
}

export async function scaleUp(
  client: KubeClient,
  world: World,
  ctx: StepContext<unknown>,
): Promise<StepResult> {
  const restored = await restoreReplicas(client, world, ctx.status());
  if (restored.length === 0)
    return {
      kind: "succeeded",
      reason: "NotNeeded",
      message: "every workload already runs its recorded replicas",
    };
  return { kind: "succeeded", message: `restored replicas: ${restored.join(", ")}` };
}
