// Finish (RollbackRequest): record the previous version on the ManagedApp; the upgrade's snapshots
// stay (retention prunes them after a later successful upgrade). The app's lock goes only after
// the runner has written the final status (RequestMachine.release). Idempotent: the status patch
// writes the same values again.
import { ConditionReason, type RollbackRequest } from "../../../api/index.ts";
import { recordOnApp } from "../../request/app-status.ts";
import { rfc3339 } from "../../../runtime/conditions.ts";
import type { StepResult } from "../../request/result.ts";
import type { StepHandler } from "../../request/runner.ts";
import { planOf, type StepDeps } from "../../request/step-deps.ts";
import { upgradeName } from "../upgrade-of.ts";

export type FinishDeps = Pick<StepDeps<RollbackRequest>, "client" | "requireApp">;

export function finishStep(deps: FinishDeps): StepHandler<RollbackRequest> {
  const { client } = deps;
  return async (ctx): Promise<StepResult> => {
    const p = planOf(ctx);
    const app = deps.requireApp(ctx);
    await recordOnApp(client, app, {
      currentVersion: p.git.to,
      lastUpgrade: {
        name: upgradeName(ctx),
        version: p.git.from,
        outcome: "RolledBack",
        completedAt: rfc3339(ctx.now()),
      },
    });
    // The upgrade's snapshots stay: retention prunes them after a later successful upgrade.
    const data = p.gitOnly
      ? "Git only (the upgrade took no snapshots)"
      : `restored ${p.volumes.length} PVC(s) from the snapshots of UpgradeRequest ${upgradeName(ctx)}`;
    const message = `rolled back ${app.metadata.name} ${p.git.from} → ${p.git.to}: ${data}; Git at ${ctx.status().commit?.sha.slice(0, 12) ?? "?"}`;
    return {
      kind: "finished",
      complete: "True",
      reason: ConditionReason.Succeeded,
      message,
      event: { type: "Normal", reason: "RolledBack", message },
    };
  };
}
