// RestoreVolumes: put the upgrade's snapshots back in place of the upgraded PVCs, under the same
// names. Each pass reads every planned PVC and its snapshot fresh, decides, then acts: PVCs still
// holding the upgraded data are deleted (under a uid precondition), gone ones are recreated from
// their snapshots, ours are waited on until Bound (or left to their first pod under
// WaitForFirstConsumer). Any blocker (a snapshot not ready, a pod using a PVC, Flux resumed)
// stops the step before the first delete; once the restore has begun, no further original is
// deleted, but every PVC already gone whose snapshot is ready is still recreated before the step
// fails, so as little as possible is missing. Idempotent: a restored PVC is recognised by this
// request's label, and status.snapshots is written before the first delete (from then on a
// failure leaves the app frozen: see compensate.ts).
import { ConditionType, type RollbackRequest } from "../../../api/index.ts";
import type { KubeClient, KubeObject } from "../../../kube/client.ts";
import { isKubeError } from "../../../kube/errors.ts";
import { getIfExists } from "../../../kube/get-if-exists.ts";
import { stillSuspended } from "../../request/freeze.ts";
import type { StepResult } from "../../request/result.ts";
import type { StepHandler } from "../../request/runner.ts";
import { planOf, type StepDeps } from "../../request/step-deps.ts";
import { isRestoredBy, restoredClaim, snapshotProblem } from "../plan.ts";
import { pvcRef, snapshotRef } from "../volume-refs.ts";

/** Pods (by name) whose volumes reference the claim: they hold it, terminating or not. */
function podsUsing(pods: readonly KubeObject[], claim: string): string[] {
  return pods
    .filter((pod) =>
      (
        (
          pod["spec"] as
            { volumes?: { persistentVolumeClaim?: { claimName?: string } }[] } | undefined
        )?.volumes ?? []
      ).some((v) => v.persistentVolumeClaim?.claimName === claim),
    )
    .map((pod) => pod.metadata.name ?? "");
}

/** Whether a class binds only once a pod is scheduled (then Bound is checked in HealthCheck). */
async function waitsForConsumer(
  client: KubeClient,
  className: string | undefined,
): Promise<boolean> {
  if (className === "") return false;
  let sc: KubeObject | undefined;
  if (className === undefined) {
    const classes = (await client.list("storage.k8s.io/v1", "StorageClass")).items;
    sc = classes.find(
      (c) => c.metadata.annotations?.["storageclass.kubernetes.io/is-default-class"] === "true",
    );
  } else {
    sc = await getIfExists(client, {
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      name: className,
    });
  }
  return (
    (sc as { volumeBindingMode?: string } | undefined)?.volumeBindingMode === "WaitForFirstConsumer"
  );
}

export type RestoreVolumesDeps = Pick<StepDeps<RollbackRequest>, "client">;

export function restoreVolumesStep(deps: RestoreVolumesDeps): StepHandler<RollbackRequest> {
  const { client } = deps;
  return async (ctx): Promise<StepResult> => {
    const p = planOf(ctx);
    if (p.gitOnly || p.volumes.length === 0)
      return {
        kind: "succeeded",
        reason: "NotNeeded",
        message: "Git-only rollback: the upgrade took no snapshots, no volume is restored",
      };
    const uid = ctx.request.metadata.uid ?? "";
    const seen = [];
    for (const v of p.volumes) {
      const live = await getIfExists(client, pvcRef(v));
      // Ours and staying: one of ours that someone is deleting is waited out and made again.
      const ours =
        live !== undefined && !live.metadata["deletionTimestamp"] && isRestoredBy(live, v, uid);
      seen.push({
        v,
        live,
        ours,
        // Never without a ready snapshot: checked fresh before each delete and each recreate.
        problem: ours
          ? undefined
          : snapshotProblem(await getIfExists(client, snapshotRef(v)), v, undefined),
      });
    }
    const toDelete = seen.filter((s) => s.live && !s.ours && !s.live.metadata["deletionTimestamp"]);
    const toCreate = seen.filter((s) => !s.live);
    const blockers = [...toDelete, ...toCreate]
      .map((s) => s.problem)
      .filter((x): x is string => x !== undefined);
    const podsByNs = new Map<string, readonly KubeObject[]>();
    for (const s of toDelete) {
      let pods = podsByNs.get(s.v.namespace);
      if (!pods) {
        pods = (await client.list("v1", "Pod", { namespace: s.v.namespace })).items;
        podsByNs.set(s.v.namespace, pods);
      }
      const users = podsUsing(pods, s.v.name);
      if (users.length > 0)
        blockers.push(`PVC ${s.v.namespace}/${s.v.name} is used by pod(s) ${users.join(", ")}`);
    }
    if (toDelete.length > 0) {
      const thawed = await stillSuspended(client, p.flux);
      if (thawed) blockers.push(thawed);
    }
    const started = ctx.status().snapshots !== undefined;
    if (blockers.length > 0 && !started)
      return {
        kind: "failed",
        reason: "RestoreBlocked",
        message: `no PVC was deleted: ${blockers.join("; ")}`,
      };
    if (toDelete.length > 0 || toCreate.length > 0) {
      // Persisted before the first delete: from here on a failure leaves the app frozen.
      if (!started)
        await ctx.save({
          snapshots: p.volumes.map((v) => ({
            namespace: v.namespace,
            name: v.snapshot ?? "",
            pvcName: v.name,
          })),
        });
    }
    const acted: string[] = [];
    if (blockers.length === 0)
      for (const s of toDelete) {
        try {
          await client.delete(pvcRef(s.v), { preconditions: { uid: s.live?.metadata.uid ?? "" } });
        } catch (err) {
          // NotFound: gone already. Conflict: replaced since the read; look again next pass.
          if (!isKubeError(err, "NotFound") && !isKubeError(err, "Conflict")) throw err;
        }
        acted.push(`deleted ${s.v.name}`);
      }
    for (const s of toCreate) {
      if (s.problem) continue;
      try {
        await client.create(restoredClaim(s.v, uid));
      } catch (err) {
        if (!isKubeError(err, "AlreadyExists")) throw err;
      }
      acted.push(`recreated ${s.v.name} from ${s.v.snapshot ?? ""}`);
    }
    if (blockers.length > 0)
      return {
        kind: "failed",
        reason: "RestoreBlocked",
        message: `the restore cannot finish: ${blockers.join("; ")}${acted.length > 0 ? `; ${acted.join(", ")}` : ""}`,
      };

    let restored = 0;
    const pending: string[] = [];
    const lateBinding: string[] = [];
    for (const s of seen) {
      if (!s.ours) {
        pending.push(
          s.live
            ? `${s.v.name} to be gone (its protection finalizer clears once no pod uses it)`
            : `${s.v.name} to be created`,
        );
        continue;
      }
      const phase = (s.live?.["status"] as { phase?: string } | undefined)?.phase;
      if (phase === "Bound") restored++;
      else if (await waitsForConsumer(client, s.v.storageClassName)) {
        restored++;
        lateBinding.push(s.v.name);
      } else pending.push(`${s.v.name} to bind (${phase ?? "Pending"})`);
    }
    const total = p.volumes.length;
    if (pending.length === 0)
      return {
        kind: "succeeded",
        message: `restored ${total} PVC(s): ${p.volumes.map((v) => `${v.name} ← ${v.snapshot ?? ""}`).join(", ")}${lateBinding.length > 0 ? `; ${lateBinding.join(", ")} bind(s) when the first pod is scheduled (WaitForFirstConsumer), checked in HealthCheck` : ""}`,
      };
    const before = /^restored (\d+)\//.exec(
      ctx.status().conditions?.find((c) => c.type === ConditionType.VolumesRestored)?.message ?? "",
    );
    return {
      kind: "waiting",
      message: `restored ${restored}/${total} PVC(s); waiting for ${pending.join(", ")}${acted.length > 0 ? ` (${acted.join(", ")})` : ""}`,
      progressed: acted.length > 0 || (before !== null && Number(before[1]) < restored),
      afterMs: acted.length > 0 ? 1_000 : 3_000,
    };
  };
}
