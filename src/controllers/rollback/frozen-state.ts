// WHEN FLUX IS LEFT SUSPENDED (also in docs/rollback.md). status.snapshots is written right
// before the first PVC is deleted (or, if one is already missing, recreated): from that moment
// a PVC may be missing, and a missing PVC would come back EMPTY if anything recreated it: the
// StatefulSet controller once its replicas are above 0, Helm or the Kustomization once Flux
// runs. So a failure in RestoreVolumes, Revert or Resume after that moment does NOT resume Flux
// and does NOT scale up: the request ends Complete=False, reason RestoreIncomplete, with a
// Warning Event and the frozen-apps gauge raised. Its message (frozenState) lists what is still
// suspended, the replicas to restore, each PVC's state (restored, missing with the snapshot that
// holds its data, or not replaced yet) and whether Git was reverted. A human decides: create a
// new RollbackRequest for the same upgrade (it takes over the freeze and finishes the restore),
// or restore by hand.
import { ConditionType, type RollbackRequest } from "../../api/index.ts";
import { getIfExists } from "../../kube/get-if-exists.ts";
import { isTrue, type Conditions } from "../../runtime/conditions.ts";
import { isSuspended } from "../request/flux.ts";
import { describeRef } from "../request/freeze.ts";
import type { StepContext } from "../request/runner.ts";
import { planOf, type StepDeps } from "../request/step-deps.ts";
import { specReplicas } from "../request/workloads.ts";
import { isRestoredBy } from "./plan.ts";
import { upgradeName } from "./upgrade-of.ts";
import { pvcRef } from "./volume-refs.ts";

type Ctx = StepContext<RollbackRequest>;

export type FrozenStateDeps = Pick<StepDeps<RollbackRequest>, "client" | "world">;

/** After the first delete and before Resume: a missing PVC must not come back empty. */
export function mustStayFrozen(ctx: Ctx): boolean {
  return (
    ctx.status().snapshots !== undefined &&
    !isTrue(ctx.status().conditions as Conditions, ConditionType.Resumed)
  );
}

/** Exactly what state a frozen app is in, fresh from the API, and what to do about it. */
export async function frozenState(deps: FrozenStateDeps, ctx: Ctx): Promise<string> {
  const { client, world } = deps;
  const status = ctx.status();
  const p = planOf(ctx);
  const uid = ctx.request.metadata.uid ?? "";
  const stillSuspendedNow: string[] = [];
  for (const f of status.suspended ?? []) {
    const obj = await getIfExists(client, {
      apiVersion:
        f.kind === "Kustomization" ? "kustomize.toolkit.fluxcd.io/v1" : "helm.toolkit.fluxcd.io/v2",
      kind: f.kind,
      namespace: f.namespace,
      name: f.name,
    });
    if (isSuspended(obj)) stillSuspendedNow.push(describeRef(f));
  }
  const stopped = (status.replicas ?? [])
    .filter((r) => specReplicas(world.workload(r.kind, r.namespace, r.name)) === 0)
    .map((r) => `${describeRef(r)} (was ${r.original})`);
  const volumes: string[] = [];
  for (const v of p.volumes) {
    const live = await getIfExists(client, pvcRef(v));
    const where = `${v.namespace}/${v.name}`;
    if (!live)
      volumes.push(
        `${where} MISSING (its data is in VolumeSnapshot ${v.namespace}/${v.snapshot ?? ""})`,
      );
    else if (isRestoredBy(live, v, uid)) volumes.push(`${where} restored from ${v.snapshot ?? ""}`);
    else if (live.metadata["deletionTimestamp"])
      volumes.push(`${where} being deleted (restore it from ${v.snapshot ?? ""})`);
    else volumes.push(`${where} not replaced yet (still holds the upgraded data)`);
  }
  const git = status.commit
    ? `Git reverted at ${status.commit.sha.slice(0, 12)}`
    : `Git not reverted (${p.git.path} still at ${p.git.from})`;
  return [
    `The app is left frozen on purpose: resuming Flux or scaling up now could bring a missing PVC back empty.`,
    `Still suspended: ${stillSuspendedNow.join(", ") || "nothing (someone resumed it)"}.`,
    `At 0 replicas: ${stopped.join(", ") || "none"}.`,
    `Volumes: ${volumes.join("; ")}.`,
    `${git}.`,
    `To finish: fix the cause, then create a new RollbackRequest for UpgradeRequest ${upgradeName(ctx)} (it takes over this freeze and completes the restore); or by hand: recreate each missing PVC from its snapshot, ${status.commit ? "" : "revert Git, "}resume the suspended Flux objects and scale the workloads back.`,
  ].join(" ");
}
