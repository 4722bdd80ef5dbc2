// Compensate (UpgradeRequest): a step failed for good. Flux is resumed and replicas restored
// whatever the point of failure; before the commit that is all (Git untouched); after it, the app
// runs the new version on data that may already be changed, so with autoRollback a
// RollbackRequest is created and handed the app's lock, and without it the message says how to
// roll back. Idempotent: the rollback's name is derived from the upgrade's (AlreadyExists reads
// it), its reference is saved before the hand-over, and every write repeats harmlessly.
import {
  API_VERSION,
  ConditionReason,
  ConditionType,
  Kind,
  Label,
  type UpgradeRequest,
} from "../../../api/index.ts";
import type { KubeObject } from "../../../kube/client.ts";
import { isKubeError } from "../../../kube/errors.ts";
import { isTrue, rfc3339 } from "../../../runtime/conditions.ts";
import { undoFreeze } from "../../request/freeze.ts";
import { handOverLock, releaseLock } from "../../request/lock.ts";
import type { StepResult } from "../../request/result.ts";
import type { StepHandler } from "../../request/runner.ts";
import { namespaceOf, type StepDeps } from "../../request/step-deps.ts";

/** The auto-triggered RollbackRequest's name: the upgrade's, suffixed, within 63 characters. */
export function rollbackName(upgrade: string): string {
  const name = `${upgrade}-rollback`;
  return name.length <= 63 ? name : `${upgrade.slice(0, 54).replace(/-+$/, "")}-rollback`;
}

export type CompensateDeps = Pick<StepDeps<UpgradeRequest>, "client" | "world" | "appOf" | "me">;

export function compensateStep(deps: CompensateDeps): StepHandler<UpgradeRequest> {
  const { client, world } = deps;
  return async (ctx): Promise<StepResult> => {
    const status = ctx.status();
    const aborting = status.conditions?.find((c) => c.type === ConditionType.Aborting);
    const reason = aborting?.reason ?? "Failed";
    const why = aborting?.message ?? "the request failed";
    const undone = await undoFreeze(client, world, ctx.status());
    const app = deps.appOf(ctx);
    const committed = isTrue(
      status.conditions as Parameters<typeof isTrue>[0],
      ConditionType.Committed,
    );
    const appRef = app
      ? {
          apiVersion: API_VERSION,
          kind: Kind.ManagedApp,
          namespace: app.metadata.namespace,
          name: app.metadata.name,
        }
      : undefined;
    if (!committed) {
      if (app) await releaseLock(client, namespaceOf(ctx), app.metadata.uid ?? "", deps.me(ctx));
      return {
        kind: "finished",
        complete: "False",
        reason,
        message: `${why}. Before the commit: ${undone}; Git untouched`,
      };
    }
    const name = ctx.request.metadata.name;
    if (app?.spec.autoRollback) {
      const rollback = rollbackName(name);
      let created: KubeObject;
      try {
        created = await client.create({
          apiVersion: API_VERSION,
          kind: Kind.RollbackRequest,
          metadata: {
            name: rollback,
            namespace: namespaceOf(ctx),
            // The upgrade's labels travel along, so a controller that selects by label
            // (--watch-label-selector) also handles the rollback it asked for.
            labels: {
              ...ctx.request.metadata.labels,
              [Label.ManagedApp]: ctx.request.spec.managedAppRef.name,
            },
            ownerReferences: [
              {
                apiVersion: API_VERSION,
                kind: Kind.UpgradeRequest,
                name,
                uid: ctx.request.metadata.uid ?? "",
                blockOwnerDeletion: true,
                controller: false,
              },
            ],
          },
          spec: { upgradeRequestRef: { name }, autoTriggered: true },
        });
      } catch (err) {
        if (!isKubeError(err, "AlreadyExists")) throw err;
        created = await client.get({
          apiVersion: API_VERSION,
          kind: Kind.RollbackRequest,
          namespace: namespaceOf(ctx),
          name: rollback,
        });
      }
      await ctx.save({ rollbackRef: { name: rollback } });
      if (appRef)
        await client.patchStatus(appRef, {
          status: {
            lastUpgrade: {
              name,
              version: status.plan?.git.to,
              outcome: "Failed",
              completedAt: rfc3339(ctx.now()),
            },
          },
        });
      // The rollback gets the app straight from us: no other waiting request slips in between.
      await handOverLock(client, namespaceOf(ctx), app.metadata.uid ?? "", deps.me(ctx), {
        kind: Kind.RollbackRequest,
        name: rollback,
        uid: created.metadata.uid ?? "",
      });
      return {
        kind: "finished",
        complete: "False",
        reason: ConditionReason.RollbackTriggered,
        message: `${reason}: ${why}. After the commit: ${undone}; RollbackRequest ${rollback} restores the data and reverts Git`,
        facts: { rollbackRef: { name: rollback } },
      };
    }
    if (appRef)
      await client.patchStatus(appRef, {
        status: {
          lastUpgrade: {
            name,
            version: status.plan?.git.to,
            outcome: "Failed",
            completedAt: rfc3339(ctx.now()),
          },
        },
      });
    if (app) await releaseLock(client, namespaceOf(ctx), app.metadata.uid ?? "", deps.me(ctx));
    return {
      kind: "finished",
      complete: "False",
      reason: ConditionReason.RollbackRequired,
      message: `${reason}: ${why}. After the commit (${status.commit?.sha.slice(0, 12) ?? ""}): ${undone}. The new version is in Git; to restore the data and the old version run: kubectl cairn rollback ${name} -n ${namespaceOf(ctx)}`,
    };
  };
}
