// A request deleted while in flight: undo what a failure at this point would undo (Flux resumed,
// replicas back), never Git, and let the app's lock go. Idempotent like the helpers it calls;
// releasing a lock this request no longer holds is a no-op.
import { undoFreeze } from "../freeze.ts";
import type { RequestObject, StepHandler } from "../runner.ts";
import { releaseAppLock, type StepDeps } from "../step-deps.ts";
import { suspensionHolder } from "../suspension.ts";

export type OnDeleteDeps<R> = Pick<StepDeps<R>, "client" | "world" | "appOf" | "me" | "locks">;

export function thawOnDelete<R extends RequestObject<unknown>>(
  deps: OnDeleteDeps<R>,
): StepHandler<R> {
  return async (ctx) => {
    const undone = await undoFreeze(deps.client, ctx.status(), suspensionHolder(ctx, deps.me(ctx)));
    const app = deps.appOf(ctx);
    if (app) await releaseAppLock(deps, ctx, app);
    return {
      kind: "succeeded",
      message: `deleted while in flight: ${undone}; Git is not reverted`,
    };
  };
}
