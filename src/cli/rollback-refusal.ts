// The refusals of a rollback the plugin can see before creating anything, decided by the very
// rules the controller applies (src/controllers/rollback/plan.ts): a dry run or an upgrade that
// never committed, one already rolled back or being rolled back, one a later upgrade builds on.
import {
  committedSha,
  laterUpgradeRefusal,
  siblingOf,
  siblingRefusal,
  upgradeRefusal,
  type OtherUpgrade,
  type Refusal,
} from "../controllers/rollback/plan.ts";
import type { RollbackRequest } from "../api/rollbackrequest.ts";
import type { UpgradeRequest } from "../api/upgraderequest.ts";
import type { KubeObject } from "../kube/client.ts";
import { outcomeOf } from "./requests.ts";

/** Pure: why the controller would refuse a new rollback of `upgrade`, if it would. */
export function rollbackRefusal(
  upgrade: UpgradeRequest,
  upgrades: readonly UpgradeRequest[],
  rollbacks: readonly RollbackRequest[],
  now: Date,
): Refusal | undefined {
  const own = upgradeRefusal(upgrade);
  if (own) return own;
  const rollbacksOf = (name: string) =>
    rollbacks.filter((r) => r.spec.upgradeRequestRef.name === name);
  // The new request is the newest of all: any unfinished sibling is older and goes on.
  const me = { name: "", uid: "", creationTimestamp: now.toISOString() };
  const siblings = rollbacksOf(upgrade.metadata.name).map((r) =>
    siblingOf(r as unknown as KubeObject),
  );
  const sibling = siblingRefusal(me, upgrade.metadata.name, siblings);
  if (sibling) return sibling;
  const others: OtherUpgrade[] = upgrades.map((u) => ({
    name: u.metadata.name,
    app: u.spec.managedAppRef.name,
    creationTimestamp: u.metadata.creationTimestamp,
    committed: committedSha(u) !== undefined,
    dryRun: u.spec.dryRun,
    rolledBack: rollbacksOf(u.metadata.name).some(
      (r) => !r.spec.dryRun && outcomeOf(r.status).state === "succeeded",
    ),
  }));
  return laterUpgradeRefusal(upgrade, others);
}
