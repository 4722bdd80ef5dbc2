// Admit, the first step: a real request takes its app's lock (lock.ts), or waits for the request
// that holds it, before it plans; so its plan reads an app that no other request is changing, and
// two requests created together run one after the other, the second planning on what the first
// left. Idempotent: the lock names this request, so taking it again is a no-op. A dry run changes
// nothing and takes no lock: it goes on to plan at once. A request whose ManagedApp is not found
// has nothing to lock; it passes on to Plan, which says why it cannot run (and takes the lock
// itself should the app have appeared: plan-lock.ts).
import { ConditionReason, type ManagedApp } from "../../../api/index.ts";
import { acquireLock } from "../lock.ts";
import type { StepResult } from "../result.ts";
import type { RequestObject, StepContext, StepHandler } from "../runner.ts";
import { namespaceOf, type StepDeps } from "../step-deps.ts";

export type AdmitDeps<R> = Pick<StepDeps<R>, "client" | "appOf" | "appNameOf" | "me" | "locks">;

/**
 * What a request kind waits for before it may take the lock (a rollback: its upgrade's end);
 * undefined when nothing holds it back.
 */
export type AdmitGate<R> = (
  ctx: StepContext<R>,
  app: ManagedApp,
) => Promise<StepResult | undefined>;

export function admitStep<R extends RequestObject<unknown>>(
  deps: AdmitDeps<R>,
  gate?: AdmitGate<R>,
): StepHandler<R> {
  return async (ctx) => {
    if (ctx.request.spec.dryRun)
      return {
        kind: "succeeded",
        reason: ConditionReason.NotNeeded,
        message: "a dry run changes nothing, so it takes no lock",
      };
    const app = deps.appOf(ctx);
    if (!app) {
      const name = deps.appNameOf(ctx.request);
      return {
        kind: "succeeded",
        reason: ConditionReason.NotNeeded,
        message: `${name === undefined ? "nothing names a ManagedApp" : `ManagedApp ${name} not found`}: no lock to take`,
      };
    }
    const held = await gate?.(ctx, app);
    if (held) return held;
    const result = await acquireLock(
      deps.client,
      namespaceOf(ctx),
      app.metadata.uid ?? "",
      deps.me(ctx),
      ctx.now(),
      app.metadata.name,
      false,
      deps.locks,
    );
    if (result.acquired) return { kind: "succeeded", message: "holds the app's lock" };
    return {
      kind: "waiting",
      reason: ConditionReason.Waiting,
      message: `waiting for ${result.holder.kind} ${result.holder.name}, which holds the app; planning once it lets go`,
      afterMs: 10_000,
    };
  };
}
