// Finish (UpgradeRequest): record the new version on the ManagedApp and prune old snapshots by the
// app's retention. The app's lock goes only after the runner has written the final status
// (RequestMachine.release). Idempotent: the status patch writes the same values again, and
// pruning skips what is gone.
import { ConditionReason, type UpgradeRequest } from "../../../api/index.ts";
import { recordOnApp } from "../../request/app-status.ts";
import { rfc3339 } from "../../../runtime/conditions.ts";
import type { StepResult } from "../../request/result.ts";
import { pruneSnapshots } from "../../request/retention.ts";
import type { StepHandler } from "../../request/runner.ts";
import { planOf, type StepDeps } from "../../request/step-deps.ts";

export type FinishDeps = Pick<StepDeps<UpgradeRequest>, "client" | "world" | "requireApp">;

export function finishStep(deps: FinishDeps): StepHandler<UpgradeRequest> {
  const { client, world } = deps;
  return async (ctx): Promise<StepResult> => {
    const p = planOf(ctx);
    const app = deps.requireApp(ctx);
    await recordOnApp(client, app, {
      currentVersion: p.git.to,
      lastUpgrade: {
        name: ctx.request.metadata.name,
        version: p.git.to,
        outcome: "Succeeded",
        completedAt: rfc3339(ctx.now()),
      },
    });
    const pruned = await pruneSnapshots(client, world, app, ctx.request.metadata.uid ?? "");
    return {
      kind: "finished",
      complete: "True",
      reason: ConditionReason.Succeeded,
      message: `upgraded ${app.metadata.name} ${p.git.from} → ${p.git.to}${pruned.length > 0 ? `; retention deleted ${pruned.length} old snapshot(s)` : ""}`,
      event: { type: "Normal", reason: "Upgraded", message: `${p.git.from} → ${p.git.to}` },
    };
  };
}
