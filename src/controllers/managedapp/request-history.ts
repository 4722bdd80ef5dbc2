// Which finished requests of one app to delete so they do not pile up. Pure: the ManagedApp
// controller reads the requests from its informers (prune-requests.ts) and deletes what this
// returns. The rule: per app, keep the newest `maxCount` finished real requests (upgrades and
// rollbacks together) and the newest `maxDryRunCount` finished dry runs; of the older ones, delete
// every one nothing still needs. A request that has not finished is never deleted and does not
// count. How a request ended does not matter: a failed or compensated one counts like the others.
import { ConditionType, Kind, type RequestHistoryLimits } from "../../api/index.ts";
import type { KubeObject } from "../../kube/client.ts";
import { getCondition, type Conditions } from "../../runtime/conditions.ts";

/** Why an old finished request is kept although it is beyond the limit. */
export const KeptBecause = {
  /** An unfinished rollback (a dry run too) reads the upgrade's plan and snapshots. */
  RollbackRunning: "RollbackRunning",
  /** The newest committed upgrade not rolled back: the one a rollback may still undo. */
  RollbackPossible: "RollbackPossible",
  /** A rollback that succeeded is the record that its upgrade may not be rolled back again. */
  RecordsRollback: "RecordsRollback",
  /** A rollback that ended RestoreIncomplete: the app is frozen until another one succeeds. */
  RestoreIncomplete: "RestoreIncomplete",
} as const;
export type KeptBecause = (typeof KeptBecause)[keyof typeof KeptBecause];

/** What the selection reads of one request. */
export interface HistoryItem {
  readonly kind: typeof Kind.UpgradeRequest | typeof Kind.RollbackRequest;
  readonly name: string;
  readonly uid: string;
  readonly creationTimestamp: string;
  readonly dryRun: boolean;
  /** Complete is True or False. */
  readonly finished: boolean;
  /** Complete is True. */
  readonly succeeded: boolean;
  /** The Complete reason, when finished. */
  readonly reason: string | undefined;
  /** A deletion is already under way (deletionTimestamp set). */
  readonly deleting: boolean;
  /** An upgrade that recorded a commit: Git may hold its change. */
  readonly committed: boolean;
  /** A rollback's spec.upgradeRequestRef.name. */
  readonly upgrade: string | undefined;
}

const RESTORE_INCOMPLETE = "RestoreIncomplete";

/** Reads what the selection needs from a raw request of either kind. */
export function historyItem(obj: KubeObject): HistoryItem {
  const spec = (obj["spec"] ?? {}) as { dryRun?: boolean; upgradeRequestRef?: { name?: string } };
  const status = (obj["status"] ?? {}) as { conditions?: unknown; commit?: unknown };
  const complete = getCondition(status.conditions as Conditions, ConditionType.Complete);
  const finished = complete !== undefined && complete.status !== "Unknown";
  return {
    kind: obj.kind === Kind.RollbackRequest ? Kind.RollbackRequest : Kind.UpgradeRequest,
    name: obj.metadata.name ?? "",
    uid: obj.metadata.uid ?? "",
    creationTimestamp: (obj.metadata["creationTimestamp"] as string | undefined) ?? "",
    dryRun: spec.dryRun === true,
    finished,
    succeeded: finished && complete.status === "True",
    reason: finished ? complete.reason : undefined,
    deleting: obj.metadata["deletionTimestamp"] !== undefined,
    committed: status.commit !== undefined && status.commit !== null,
    upgrade: obj.kind === Kind.RollbackRequest ? spec.upgradeRequestRef?.name : undefined,
  };
}

/** Newest first: by creation, then by name (the same second), then by kind. */
function newestFirst(a: HistoryItem, b: HistoryItem): number {
  return (
    b.creationTimestamp.localeCompare(a.creationTimestamp) ||
    b.name.localeCompare(a.name) ||
    b.kind.localeCompare(a.kind)
  );
}

export interface HistoryDecision {
  /** To delete, in this order: an upgrade before the rollbacks that record it. */
  readonly prune: readonly HistoryItem[];
  /** Beyond the limit but still needed, with the reason. */
  readonly kept: readonly { readonly item: HistoryItem; readonly because: KeptBecause }[];
}

/**
 * Pure: the finished requests of one app to delete. `requests` are all of the app's requests,
 * both kinds, finished or not.
 */
export function selectPrunable(
  requests: readonly HistoryItem[],
  limits: RequestHistoryLimits,
): HistoryDecision {
  const upgrades = requests.filter((r) => r.kind === Kind.UpgradeRequest);
  const rollbacks = requests.filter((r) => r.kind === Kind.RollbackRequest);
  const realRollbacksOf = (upgrade: string) =>
    rollbacks.filter((r) => !r.dryRun && r.upgrade === upgrade);
  const rolledBack = (upgrade: string) => realRollbacksOf(upgrade).some((r) => r.succeeded);

  // Only the newest committed upgrade that was not rolled back can be rolled back (an older one
  // is refused with LaterUpgrade until the later ones are undone).
  const rollbackable = upgrades
    .filter((u) => !u.dryRun && u.committed && !rolledBack(u.name))
    .sort(newestFirst)[0];
  const upgradeNeeded = (u: HistoryItem): KeptBecause | undefined => {
    if (rollbacks.some((r) => r.upgrade === u.name && !r.finished))
      return KeptBecause.RollbackRunning;
    if (u === rollbackable) return KeptBecause.RollbackPossible;
    return undefined;
  };

  const beyond = (dryRun: boolean, max: number) =>
    requests
      .filter((r) => r.finished && !r.deleting && r.dryRun === dryRun)
      .sort(newestFirst)
      .slice(max);
  const candidates = [
    ...beyond(false, limits.maxCount),
    ...beyond(true, limits.maxDryRunCount),
  ].sort((a, b) => newestFirst(b, a));

  const kept: { item: HistoryItem; because: KeptBecause }[] = [];
  const doomedUpgrades = new Set<string>();
  const keptUpgrades = new Set<string>();
  for (const c of candidates.filter((r) => r.kind === Kind.UpgradeRequest)) {
    const because = upgradeNeeded(c);
    if (because) {
      kept.push({ item: c, because });
      keptUpgrades.add(c.name);
    } else doomedUpgrades.add(c.name);
  }
  // An upgrade that stays (in the newest ones or needed) keeps the rollbacks that say what
  // happened to it; one that goes takes them along, after it.
  const upgradeStays = (name: string) =>
    keptUpgrades.has(name) ||
    (!doomedUpgrades.has(name) && upgrades.some((u) => u.name === name && !u.deleting));
  const rollbackNeeded = (r: HistoryItem): KeptBecause | undefined => {
    if (r.dryRun || r.upgrade === undefined || !upgradeStays(r.upgrade)) return undefined;
    if (r.succeeded) return KeptBecause.RecordsRollback;
    if (r.reason === RESTORE_INCOMPLETE && !rolledBack(r.upgrade))
      return KeptBecause.RestoreIncomplete;
    return undefined;
  };
  const prune: HistoryItem[] = [];
  for (const c of candidates) {
    if (c.kind === Kind.UpgradeRequest) {
      if (doomedUpgrades.has(c.name)) prune.push(c);
      continue;
    }
    const because = rollbackNeeded(c);
    if (because) kept.push({ item: c, because });
    else prune.push(c);
  }
  // Upgrades first: should the controller stop between two deletions, what is left never shows
  // an upgrade without the rollback that undid it.
  prune.sort((a, b) =>
    a.kind === b.kind ? newestFirst(b, a) : a.kind === Kind.UpgradeRequest ? -1 : 1,
  );
  return { prune, kept };
}
