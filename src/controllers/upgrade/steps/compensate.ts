// Compensate (UpgradeRequest): a step failed for good. Before the commit, Flux is resumed and
// replicas restored whatever the point of failure (Git untouched). After it, the app may run the
// new version on data already changed: with autoRollback a RollbackRequest is created and handed
// the app's lock and its freeze as it stands (the Flux objects this upgrade still holds
// suspended, the replicas it recorded), so the failed version is not started again on live data;
// without it Flux is resumed, replicas restored, and the message says how to roll back. The
// rollback is not owned by the upgrade (deleting the upgrade leaves it running). Idempotent: the
// rollback's name is derived from the upgrade's (AlreadyExists reads it), its reference is saved
// before the hand-over, and every write repeats harmlessly.
import {
  API_VERSION,
  ConditionReason,
  ConditionType,
  Kind,
  Label,
  type SuspensionHolder,
  type UpgradeRequest,
} from "../../../api/index.ts";
import type { KubeObject } from "../../../kube/client.ts";
import { isKubeError } from "../../../kube/errors.ts";
import { isTrue, rfc3339 } from "../../../runtime/conditions.ts";
import { abortCause } from "../../request/abort-cause.ts";
import { observeLandedCommit } from "../../request/landed-commit.ts";
import { recordOnApp } from "../../request/app-status.ts";
import { describeRef, undoFreeze } from "../../request/freeze.ts";
import { handOverLock } from "../../request/lock.ts";
import type { StepResult } from "../../request/result.ts";
import type { StepHandler } from "../../request/runner.ts";
import { namespaceOf, type StepDeps } from "../../request/step-deps.ts";
import { suspensionHolder, transferSuspension } from "../../request/suspension.ts";
import { specReplicas } from "../../request/workloads.ts";

/** The auto-triggered RollbackRequest's name: the upgrade's, suffixed, within 63 characters. */
export function rollbackName(upgrade: string): string {
  const name = `${upgrade}-rollback`;
  return name.length <= 63 ? name : `${upgrade.slice(0, 54).replace(/-+$/, "")}-rollback`;
}

export type CompensateDeps = Pick<
  StepDeps<UpgradeRequest>,
  "client" | "world" | "appOf" | "me" | "repoFor" | "locks"
>;

export function compensateStep(deps: CompensateDeps): StepHandler<UpgradeRequest> {
  const { client } = deps;
  return async (ctx): Promise<StepResult> => {
    const { reason, why } = abortCause(ctx.status());
    // Before anything else: did a push land that Commit did not get to record?
    const landed = await observeLandedCommit(deps, ctx, ConditionType.Committed);
    const status = ctx.status();
    const me = suspensionHolder(ctx, deps.me(ctx));
    const app = deps.appOf(ctx);
    // A recorded commit is on the branch, whether Commit or the look above recorded it.
    const committed =
      isTrue(status.conditions as Parameters<typeof isTrue>[0], ConditionType.Committed) ||
      status.commit !== undefined;
    const recordFailed = async () => {
      if (app)
        await recordOnApp(client, app, {
          lastUpgrade: {
            name: ctx.request.metadata.name,
            version: status.plan?.git.to,
            outcome: "Failed",
            completedAt: rfc3339(ctx.now()),
          },
        });
    };
    if (!committed) {
      const undone = await undoFreeze(client, status, me);
      return {
        kind: "finished",
        complete: "False",
        reason,
        message: `${why}. Before the commit: ${undone}; ${landed.kind === "unreadable" ? `Git could not be read to confirm that no commit landed (${landed.message}): check ${status.plan?.git.branch ?? "the branch"} for this request's trailer` : "Git untouched"}`,
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
            // No ownerReference: deleting the finished upgrade must not let the garbage
            // collector delete its rollback mid-flight. spec.upgradeRequestRef is the link.
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
      // The freeze goes to the rollback as it is: resuming Flux and scaling up here would start
      // the version that failed on live data (and perhaps run its migrations) only for the
      // rollback to stop it again. Each hold passes to the rollback in one write, so the object
      // never comes free in between; the recorded replicas are read from this status by the
      // rollback's Plan (rollback/steps/plan.ts), which also thaws the app if it refuses.
      const successor: SuspensionHolder = {
        kind: Kind.RollbackRequest,
        namespace: namespaceOf(ctx),
        name: rollback,
        uid: created.metadata.uid ?? "",
        upgrade: name,
      };
      const handed: string[] = [];
      for (const f of status.suspended ?? [])
        if (await transferSuspension(client, f, me, successor)) handed.push(describeRef(f));
      const stopped = (status.replicas ?? [])
        .filter((r) => specReplicas(deps.world.workload(r.kind, r.namespace, r.name)) === 0)
        .map((r) => `${describeRef(r)} (was ${r.original})`);
      // Past Resume (a failure while Flux applies the commit) nothing may be left to hand over:
      // say so rather than call the app frozen.
      const frozen =
        handed.length === 0 && stopped.length === 0
          ? "nothing left frozen (Flux was already resumed and the workloads scaled up again)"
          : `the app stays frozen for the rollback (suspended: ${handed.join(", ") || "nothing"}; stopped: ${stopped.join(", ") || "nothing"})`;
      await recordFailed();
      // The rollback gets the app straight from us: no other waiting request slips in between.
      await handOverLock(
        client,
        namespaceOf(ctx),
        app.metadata.uid ?? "",
        deps.me(ctx),
        {
          kind: Kind.RollbackRequest,
          name: rollback,
          uid: created.metadata.uid ?? "",
        },
        deps.locks,
      );
      return {
        kind: "finished",
        complete: "False",
        reason: ConditionReason.RollbackTriggered,
        message: `${reason}: ${why}. After the commit: ${frozen}; RollbackRequest ${rollback} restores the data, reverts Git and then resumes Flux and restores the replicas`,
        facts: { rollbackRef: { name: rollback } },
      };
    }
    const undone = await undoFreeze(client, status, me);
    await recordFailed();
    return {
      kind: "finished",
      complete: "False",
      reason: ConditionReason.RollbackRequired,
      message: `${reason}: ${why}. After the commit (${status.commit?.sha.slice(0, 12) ?? ""}): ${undone}. The new version is in Git; to restore the data and the old version run: kubectl cairn rollback ${name} -n ${namespaceOf(ctx)}`,
    };
  };
}
