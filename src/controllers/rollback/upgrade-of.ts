// How a RollbackRequest names what it undoes: the UpgradeRequest of spec.upgradeRequestRef, and
// through it (or through the label Plan puts on the rollback) the ManagedApp.
import { Label, type RollbackRequest } from "../../api/index.ts";
import type { KubeObject } from "../../kube/client.ts";
import type { StepContext } from "../request/runner.ts";
import type { World } from "../request/world.ts";

/** The name of the UpgradeRequest the rollback undoes. */
export function upgradeName(ctx: StepContext<RollbackRequest>): string {
  return ctx.request.spec.upgradeRequestRef.name;
}

/**
 * The app a raw RollbackRequest belongs to: its label, else its upgrade's reference (or, for
 * a refused rollback of a rollback, that rollback's label). Undefined when nothing names one:
 * under --watch-label-selector such a request is handled only if it carries the labels.
 */
export function rollbackAppName(world: World): (request: KubeObject) => string | undefined {
  return (r) => {
    const label = r.metadata.labels?.[Label.ManagedApp];
    if (label !== undefined) return label;
    const ref = (r["spec"] as { upgradeRequestRef?: { name?: string } } | undefined)
      ?.upgradeRequestRef?.name;
    const key = `${r.metadata.namespace ?? ""}/${ref ?? ""}`;
    const upgrade = world.upgrades.get(key);
    if (upgrade)
      return (upgrade["spec"] as { managedAppRef?: { name?: string } } | undefined)?.managedAppRef
        ?.name;
    return world.rollbacks.get(key)?.metadata.labels?.[Label.ManagedApp];
  };
}
