// ScaleDown: stop every planned workload and wait until no pod mounts a planned PVC. Idempotent:
// the original replicas are recorded in status.replicas before the first scale (never
// overwritten by a later pass, which would read 0), and a workload already at 0 is left alone.
import type { RequestObject, StepHandler } from "../runner.ts";
import { describeRef } from "../freeze.ts";
import { planOf, type StepDeps } from "../step-deps.ts";
import { busyPods, replicasToRecord, specReplicas, workloadRef } from "../workloads.ts";

export type ScaleDownDeps<R> = Pick<StepDeps<R>, "client" | "world">;

export function scaleDownStep<R extends RequestObject<unknown>>(
  deps: ScaleDownDeps<R>,
): StepHandler<R> {
  return async (ctx) => {
    const { client, world } = deps;
    const plan = planOf(ctx);
    if (plan.workloads.length === 0 && plan.volumes.length === 0)
      return {
        kind: "succeeded",
        reason: "NotNeeded",
        message: "no workload mounts a planned PVC",
      };
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
  };
}
