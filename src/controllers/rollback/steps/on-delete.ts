// A RollbackRequest deleted while in flight. Before the first PVC was deleted, or after Resume,
// it thaws the app like an upgrade does (request/steps/on-delete.ts). In between, the request
// goes and the freeze stays, since a deleted request must not bring a PVC back empty: a Warning
// Event on the app says what state it is in and how to finish. Idempotent like compensation.
import type { RollbackRequest } from "../../../api/index.ts";
import { undoFreeze } from "../../request/freeze.ts";
import { suspensionHolder } from "../../request/suspension.ts";
import { unadoptedHandover } from "../handover.ts";
import type { StepResult } from "../../request/result.ts";
import type { StepHandler } from "../../request/runner.ts";
import { releaseAppLock, type StepDeps } from "../../request/step-deps.ts";
import { thawOnDelete } from "../../request/steps/on-delete.ts";
import { RESTORE_INCOMPLETE } from "../../../health/frozen-apps.ts";
import { frozenState, mustStayFrozen, type FrozenStateDeps } from "../frozen-state.ts";

export type OnDeleteDeps = FrozenStateDeps &
  Pick<
    StepDeps<RollbackRequest>,
    "client" | "world" | "appOf" | "me" | "events" | "regarding" | "locks"
  >;

export function onDeleteStep(deps: OnDeleteDeps): StepHandler<RollbackRequest> {
  const thaw = thawOnDelete(deps);
  return async (ctx): Promise<StepResult> => {
    if (!mustStayFrozen(ctx)) {
      // Deleted before its Plan succeeded: what the failed upgrade handed over is thawed too.
      const handover = await unadoptedHandover(deps.client, ctx);
      if (handover) await undoFreeze(deps.client, handover, suspensionHolder(ctx, deps.me(ctx)));
      return thaw(ctx);
    }
    const app = deps.appOf(ctx);
    // The request goes, the freeze stays: a deleted request must not bring a PVC back empty.
    const state = await frozenState(deps, ctx);
    const regarding = deps.regarding(ctx.request);
    if (regarding)
      await deps.events.record(
        regarding,
        "Warning",
        RESTORE_INCOMPLETE,
        "Delete",
        `RollbackRequest ${ctx.request.metadata.name} was deleted in the middle of its restore. ${state}`,
      );
    if (app) await releaseAppLock(deps, ctx, app);
    return {
      kind: "succeeded",
      message: `deleted during the restore; Flux stays suspended. ${state}`,
    };
  };
}
