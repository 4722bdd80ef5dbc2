// The downtime of a failed upgrade, observed once its rollback has made the app healthy again:
// from the upgrade's ScaleDown until the rollback's HealthCheck succeeded. The upgrade's own
// finish could not observe it (its health check failed, so the app was still down); a successful
// upgrade that a person rolls back later already had its downtime observed, and the app was up
// in between, so only an upgrade that never passed its health check is recorded here.
import { ConditionReason, StepHistoryEntry, type RollbackRequest } from "../../api/index.ts";
import type { KubeObject } from "../../kube/client.ts";
import { downtimeSeconds, type Metrics, type RequestHistory } from "../../metrics.ts";
import type { World } from "../request/world.ts";

const History = StepHistoryEntry.array();

/** The step history of a raw request; an unreadable one counts as none. */
export function historyOf(obj: KubeObject | undefined): RequestHistory {
  const parsed = History.safeParse((obj?.["status"] as { history?: unknown } | undefined)?.history);
  return parsed.success ? { history: parsed.data } : {};
}

/**
 * Pure: the upgrade's history when this finished rollback ends the upgrade's downtime: a real
 * rollback that succeeded, of an upgrade whose app was left down (no successful HealthCheck).
 */
export function recoveredUpgrade(
  rollback: { readonly dryRun: boolean; readonly reason: string },
  upgrade: RequestHistory | undefined,
): RequestHistory | undefined {
  if (rollback.dryRun || rollback.reason !== ConditionReason.Succeeded || !upgrade)
    return undefined;
  return downtimeSeconds(upgrade) === undefined ? upgrade : undefined;
}

/** The rollback controller's finish hook: observes the recovered upgrade's downtime. */
export function observeRecovery(
  world: World,
  metrics: Pick<Metrics, "upgradeRecovered">,
): (request: RollbackRequest, reason: string, status: RequestHistory) => void {
  return (request, reason, status) => {
    const key = `${request.metadata.namespace ?? ""}/${request.spec.upgradeRequestRef.name}`;
    const upgrade = world.upgrades.get(key);
    const recovered = recoveredUpgrade(
      { dryRun: request.spec.dryRun, reason },
      upgrade ? historyOf(upgrade) : undefined,
    );
    if (recovered) metrics.upgradeRecovered(recovered, status);
  };
}
