// Snapshot: one VolumeSnapshot per planned PVC, named in the plan, and wait until all are ready.
// Idempotent: the names are fixed by the plan and written to status.snapshots before the first
// create; an existing snapshot is read instead of created and used only if this request made it
// (its uid label). A snapshot in error fails the step only after a grace period, since the
// snapshot controller reports transient errors too. With runWhileUploading in the plan, the
// workloads run again between the cut and readyToUse (upload-window.ts) and are stopped again,
// checked from fresh reads, before the step succeeds: Commit still finds the writers stopped.
import { ConditionType, type UpgradeRequest } from "../../../api/index.ts";
import { isKubeError } from "../../../kube/errors.ts";
import type { StepResult } from "../../request/result.ts";
import type { StepHandler } from "../../request/runner.ts";
import { isOurs, SNAPSHOT_API, snapshotObject, snapshotState } from "../../request/snapshots.ts";
import { planOf, type StepDeps } from "../../request/step-deps.ts";
import { freshCutProblems } from "../../request/fresh-cut.ts";
import { restoreReplicas } from "../../request/freeze.ts";
import { requestTime } from "../../request/time.ts";
import { isCut, stillStopped, stopAfterUpload } from "../upload-window.ts";

const SNAPSHOT_ERROR_GRACE_MS = 60_000;

export type SnapshotDeps = Pick<StepDeps<UpgradeRequest>, "client" | "world">;

export function snapshotStep(deps: SnapshotDeps): StepHandler<UpgradeRequest> {
  const { client, world } = deps;
  return async (ctx): Promise<StepResult> => {
    const p = planOf(ctx);
    const wanted = p.volumes.filter((v) => v.snapshot !== undefined);
    if (wanted.length === 0) {
      const why = ctx.request.spec.skipSnapshot
        ? "skipSnapshot is set on the request"
        : "the app does not enable volumeSnapshots";
      return { kind: "succeeded", reason: "NotNeeded", message: `no snapshots: ${why}` };
    }
    if (!ctx.status().snapshots)
      await ctx.save({
        snapshots: wanted.map((v) => ({
          namespace: v.namespace,
          name: v.snapshot ?? "",
          pvcName: v.name,
        })),
      });
    // The moment of the cut: re-checked from fresh reads right before any snapshot is created.
    const toCreate = wanted.filter((v) => !world.snapshot(v.namespace, v.snapshot ?? ""));
    if (toCreate.length > 0) {
      const problems = await freshCutProblems(client, p.volumes, p.workloads);
      if (problems.length > 0)
        return {
          kind: "failed",
          reason: "NotQuiescent",
          message: `no snapshot was taken: ${problems.join("; ")}`,
        };
    }
    const uid = ctx.request.metadata.uid ?? "";
    let ready = 0;
    let cut = 0;
    const problems: string[] = [];
    const pending: string[] = [];
    for (const v of wanted) {
      const name = v.snapshot ?? "";
      let obj = world.snapshot(v.namespace, name);
      if (!obj) {
        // Not cached: usually not made yet, so create first; an existing one (a cache that lags,
        // or a name someone else took) answers AlreadyExists and is read instead.
        try {
          obj = await client.create(
            snapshotObject({
              namespace: v.namespace,
              name,
              pvc: v.name,
              className: p.volumeSnapshotClassName,
              app: ctx.request.spec.managedAppRef.name,
              request: { name: ctx.request.metadata.name, uid },
            }),
          );
        } catch (err) {
          if (!isKubeError(err, "AlreadyExists")) throw err;
          obj = await client.get({
            apiVersion: SNAPSHOT_API,
            kind: "VolumeSnapshot",
            namespace: v.namespace,
            name,
          });
        }
      }
      if (!isOurs(obj, uid))
        return {
          kind: "failed",
          reason: "SnapshotConflict",
          message: `VolumeSnapshot ${v.namespace}/${name} exists and was not made by this request`,
        };
      const state = snapshotState(obj);
      if (state.state === "ready") {
        ready++;
        cut++;
      } else if (state.state === "error") {
        const since = state.since ? Date.parse(state.since) : NaN;
        if (!Number.isNaN(since) && ctx.now().getTime() - since > SNAPSHOT_ERROR_GRACE_MS)
          return {
            kind: "failed",
            reason: "SnapshotFailed",
            message: `VolumeSnapshot ${v.namespace}/${name} of PVC ${v.name} failed: ${state.message}`,
          };
        problems.push(`${name}: ${state.message}`);
      } else {
        pending.push(name);
        if (isCut(obj)) cut++;
      }
    }
    const window = ctx.status().uploadWindow;
    if (ready === wanted.length) {
      if (!p.runWhileUploading || window === undefined)
        return { kind: "succeeded", message: `${ready}/${wanted.length} snapshots ready` };
      const running = await stopAfterUpload(client, p.volumes, p.workloads);
      if (running.length > 0)
        return {
          kind: "waiting",
          message: `${ready}/${wanted.length} snapshots ready; stopping the workloads again for the commit: ${running.slice(0, 5).join("; ")}`,
          afterMs: 5_000,
        };
      const closedAt = requestTime(ctx.now());
      const ranMs = Date.parse(closedAt) - Date.parse(window.openedAt);
      return {
        kind: "succeeded",
        message: `${ready}/${wanted.length} snapshots ready; the workloads ran at the old version for ${Math.round(ranMs / 1000)}s while they uploaded and are stopped again`,
        facts: { uploadWindow: { openedAt: window.openedAt, closedAt } },
      };
    }
    let uploading = "";
    if (p.runWhileUploading && cut === wanted.length) {
      // Every snapshot is cut: the data is safe, only the upload is left. The window's opening
      // is written before the scale, so a crash in between still reopens it on the next pass.
      if (window === undefined) {
        await ctx.save({ uploadWindow: { openedAt: requestTime(ctx.now()) } });
        await restoreReplicas(client, ctx.status());
      } else if (stillStopped(ctx.status(), (r) => world.workload(r.kind, r.namespace, r.name)))
        await restoreReplicas(client, ctx.status());
      uploading = "; the workloads run at the old version while the snapshots upload";
    }
    const before = /^(\d+)\//.exec(
      ctx.status().conditions?.find((c) => c.type === ConditionType.SnapshotsReady)?.message ?? "",
    );
    const progressed = before !== null && Number(before[1]) < ready;
    return {
      kind: "waiting",
      message: `${ready}/${wanted.length} snapshots ready${uploading}${problems.length > 0 ? `; error: ${problems.join("; ")}` : ""}${pending.length > 0 ? `; waiting for ${pending.slice(0, 5).join(", ")}` : ""}`,
      progressed,
      afterMs: 5_000,
    };
  };
}
