// Finish (UpgradeRequest): record the new version on the ManagedApp, prune old snapshots by the
// app's retention, release the app's lock. Idempotent: the status patch writes the same values
// again, pruning skips what is gone, and releasing a lock this request no longer holds is a no-op.
import { API_VERSION, ConditionReason, Kind, type UpgradeRequest } from "../../../api/index.ts";
import { rfc3339 } from "../../../runtime/conditions.ts";
import { releaseLock } from "../../request/lock.ts";
import type { StepResult } from "../../request/result.ts";
import { pruneSnapshots } from "../../request/retention.ts";
import type { StepHandler } from "../../request/runner.ts";
import { namespaceOf, planOf, type StepDeps } from "../../request/step-deps.ts";

export type FinishDeps = Pick<StepDeps<UpgradeRequest>, "client" | "world" | "requireApp" | "me">;

export function finishStep(deps: FinishDeps): StepHandler<UpgradeRequest> {
  const { client, world } = deps;
  return async (ctx): Promise<StepResult> => {
    const p = planOf(ctx);
    const app = deps.requireApp(ctx);
    const now = rfc3339(ctx.now());
    await client.patchStatus(
      {
        apiVersion: API_VERSION,
        kind: Kind.ManagedApp,
        namespace: app.metadata.namespace,
        name: app.metadata.name,
      },
      {
        status: {
          currentVersion: p.git.to,
          lastUpgrade: {
            name: ctx.request.metadata.name,
            version: p.git.to,
            outcome: "Succeeded",
            completedAt: now,
          },
        },
      },
    );
    const pruned = await pruneSnapshots(client, world, app, ctx.request.metadata.uid ?? "");
    await releaseLock(client, namespaceOf(ctx), app.metadata.uid ?? "", deps.me(ctx));
    return {
      kind: "finished",
      complete: "True",
      reason: ConditionReason.Succeeded,
      message: `upgraded ${app.metadata.name} ${p.git.from} → ${p.git.to}${pruned.length > 0 ? `; retention deleted ${pruned.length} old snapshot(s)` : ""}`,
      event: { type: "Normal", reason: "Upgraded", message: `${p.git.from} → ${p.git.to}` },
    };
  };
}
