// Admit (RollbackRequest): the shared Admit (request/steps/admit.ts), but a rollback takes its
// app only once the upgrade it undoes has ended. Holding the app while Plan waits for that end
// would keep an upgrade that is itself still waiting to be admitted from ever ending. An upgrade
// that handed the app to its rollback (autoRollback) ends a moment later: the lock names the
// rollback already, so it goes on, and Plan waits for the upgrade's last write.
import {
  API_VERSION,
  ConditionReason,
  ConditionType,
  Kind,
  type RollbackRequest,
} from "../../../api/index.ts";
import { getIfExists } from "../../../kube/get-if-exists.ts";
import { lockHolder } from "../../request/lock.ts";
import type { StepHandler } from "../../request/runner.ts";
import { admitStep, type AdmitDeps } from "../../request/steps/admit.ts";
import { namespaceOf } from "../../request/step-deps.ts";
import { upgradeName } from "../upgrade-of.ts";

export function rollbackAdmitStep(deps: AdmitDeps<RollbackRequest>): StepHandler<RollbackRequest> {
  return admitStep(deps, async (ctx, app) => {
    const namespace = namespaceOf(ctx);
    const name = upgradeName(ctx);
    const upgrade = await getIfExists(deps.client, {
      apiVersion: API_VERSION,
      kind: Kind.UpgradeRequest,
      namespace,
      name,
    });
    // No upgrade, or a dry run: nothing will end; Plan refuses the rollback under the lock.
    if (!upgrade || (upgrade["spec"] as { dryRun?: boolean } | undefined)?.dryRun === true)
      return undefined;
    const status = upgrade["status"] as
      { phase?: string; conditions?: { type: string; status: string }[] } | undefined;
    const complete = status?.conditions?.find((c) => c.type === ConditionType.Complete);
    if (complete && complete.status !== "Unknown") return undefined;
    const holder = await lockHolder(deps.client, namespace, app.metadata.uid ?? "");
    if (holder?.uid === deps.me(ctx).uid) return undefined;
    return {
      kind: "waiting",
      reason: ConditionReason.Waiting,
      message: `waiting for UpgradeRequest ${name} to finish (phase ${status?.phase ?? "Pending"}) before taking the app`,
      afterMs: 10_000,
    };
  });
}
