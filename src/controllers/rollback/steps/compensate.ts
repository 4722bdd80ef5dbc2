// Compensate (RollbackRequest): a step failed for good. Before the first PVC was deleted (no
// status.snapshots yet), compensation is the upgrade's: resume what Cairn suspended and restore
// the recorded replicas; Git is not touched again. After it and before Resume, the app is left
// frozen on purpose (frozen-state.ts): the request ends RestoreIncomplete with a Warning Event
// that says exactly what state the app is in. After Resume every PVC exists and Flux runs the
// reverted version: replicas are restored and the message says the app needs a look. A
// rollback never triggers another request. Idempotent: every write repeats harmlessly.
import { ConditionType, type RollbackRequest } from "../../../api/index.ts";
import { isTrue, type Conditions } from "../../../runtime/conditions.ts";
import { undoFreeze } from "../../request/freeze.ts";
import { releaseLock } from "../../request/lock.ts";
import type { StepResult } from "../../request/result.ts";
import type { StepHandler } from "../../request/runner.ts";
import { namespaceOf, type StepDeps } from "../../request/step-deps.ts";
import { RESTORE_INCOMPLETE } from "../frozen.ts";
import { frozenState, mustStayFrozen, type FrozenStateDeps } from "../frozen-state.ts";

export type CompensateDeps = FrozenStateDeps &
  Pick<StepDeps<RollbackRequest>, "client" | "world" | "appOf" | "me">;

export function compensateStep(deps: CompensateDeps): StepHandler<RollbackRequest> {
  const { client, world } = deps;
  return async (ctx): Promise<StepResult> => {
    const status = ctx.status();
    const aborting = status.conditions?.find((c) => c.type === ConditionType.Aborting);
    const reason = aborting?.reason ?? "Failed";
    const why = aborting?.message ?? "the request failed";
    const app = deps.appOf(ctx);
    const release = async () => {
      if (app) await releaseLock(client, namespaceOf(ctx), app.metadata.uid ?? "", deps.me(ctx));
    };
    if (mustStayFrozen(ctx)) {
      const state = await frozenState(deps, ctx);
      await release();
      const message = `${reason}: ${why}. ${state}`;
      return {
        kind: "finished",
        complete: "False",
        reason: RESTORE_INCOMPLETE,
        message,
        event: { type: "Warning", reason: RESTORE_INCOMPLETE, message },
      };
    }
    const undone = await undoFreeze(client, world, ctx.status());
    await release();
    const resumed = isTrue(status.conditions as Conditions, ConditionType.Resumed);
    const git = status.commit
      ? `Git reverted at ${status.commit.sha.slice(0, 12)}, which Flux applies`
      : "Git untouched";
    const data = resumed
      ? "the volumes were restored"
      : status.plan?.gitOnly
        ? "no volume was touched (Git-only rollback)"
        : "nothing was deleted";
    return {
      kind: "finished",
      complete: "False",
      reason,
      message: `${why}. ${data}; ${undone}; ${git}${resumed ? "; the app runs the previous version on the restored data, but check it" : ""}`,
    };
  };
}
