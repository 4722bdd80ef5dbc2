// Compensate (RollbackRequest): a step failed for good. Before the first PVC was deleted (no
// status.snapshots yet), compensation is the upgrade's: resume what Cairn suspended and restore
// the recorded replicas; Git is not touched again. After it and before Resume, the app is left
// frozen on purpose (frozen-state.ts): the request ends RestoreIncomplete with a Warning Event
// that says exactly what state the app is in. After Resume every PVC exists and Flux runs the
// reverted version: replicas are restored and the message says the app needs a look. A
// rollback never triggers another request. Idempotent: every write repeats harmlessly.
import { ConditionType, type RollbackRequest } from "../../../api/index.ts";
import { isTrue, type Conditions } from "../../../runtime/conditions.ts";
import { abortCause } from "../../request/abort-cause.ts";
import { observeLandedCommit } from "../../request/landed-commit.ts";
import { undoFreeze } from "../../request/freeze.ts";
import { unadoptedHandover } from "../handover.ts";
import type { StepResult } from "../../request/result.ts";
import type { StepHandler } from "../../request/runner.ts";
import type { StepDeps } from "../../request/step-deps.ts";
import { suspensionHolder } from "../../request/suspension.ts";
import { RESTORE_INCOMPLETE } from "../../../health/frozen-apps.ts";
import { frozenState, mustStayFrozen, type FrozenStateDeps } from "../frozen-state.ts";

export type CompensateDeps = FrozenStateDeps &
  Pick<StepDeps<RollbackRequest>, "client" | "world" | "repoFor" | "me">;

export function compensateStep(deps: CompensateDeps): StepHandler<RollbackRequest> {
  const { client } = deps;
  return async (ctx): Promise<StepResult> => {
    const { reason, why } = abortCause(ctx.status());
    // Before anything else: did a revert land that Revert did not get to record?
    await observeLandedCommit(deps, ctx, ConditionType.Reverted);
    const status = ctx.status();
    if (mustStayFrozen(ctx)) {
      const state = await frozenState(deps, ctx);
      const message = `${reason}: ${why}. ${state}`;
      return {
        kind: "finished",
        complete: "False",
        reason: RESTORE_INCOMPLETE,
        message,
        event: { type: "Warning", reason: RESTORE_INCOMPLETE, message },
      };
    }
    // Before Plan succeeded nothing is adopted yet: what the failed upgrade handed over is thawed.
    const handover = await unadoptedHandover(client, ctx);
    const undone = await undoFreeze(
      client,
      handover ?? ctx.status(),
      suspensionHolder(ctx, deps.me(ctx)),
    );
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
