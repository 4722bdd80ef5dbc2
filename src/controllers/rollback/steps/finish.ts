// Finish (RollbackRequest): record the previous version on the ManagedApp and release the app's
// lock; the upgrade's snapshots stay (retention prunes them after a later successful upgrade).
// Idempotent: the status patch writes the same values again, and releasing a lock this request no
// longer holds is a no-op.
import { API_VERSION, ConditionReason, Kind, type RollbackRequest } from "../../../api/index.ts";
import { rfc3339 } from "../../../runtime/conditions.ts";
import { releaseLock } from "../../request/lock.ts";
import type { StepResult } from "../../request/result.ts";
import type { StepHandler } from "../../request/runner.ts";
import { namespaceOf, planOf, type StepDeps } from "../../request/step-deps.ts";
import { upgradeName } from "../upgrade-of.ts";

export type FinishDeps = Pick<StepDeps<RollbackRequest>, "client" | "requireApp" | "me">;

export function finishStep(deps: FinishDeps): StepHandler<RollbackRequest> {
  const { client } = deps;
  return async (ctx): Promise<StepResult> => {
    const p = planOf(ctx);
    const app = deps.requireApp(ctx);
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
            name: upgradeName(ctx),
            version: p.git.from,
            outcome: "RolledBack",
            completedAt: rfc3339(ctx.now()),
          },
        },
      },
    );
    // The upgrade's snapshots stay: retention prunes them after a later successful upgrade.
    await releaseLock(client, namespaceOf(ctx), app.metadata.uid ?? "", deps.me(ctx));
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
