// Admit: take the app's lock (lock.ts), or wait for the request that holds it. Idempotent: the
// lock names this request, so taking it again is a no-op.
import { ConditionReason } from "../../../api/index.ts";
import { acquireLock } from "../lock.ts";
import type { RequestObject, StepHandler } from "../runner.ts";
import { namespaceOf, type StepDeps } from "../step-deps.ts";

export type AdmitDeps<R> = Pick<StepDeps<R>, "client" | "appOf" | "appNameOf" | "me">;

export function admitStep<R extends RequestObject<unknown>>(deps: AdmitDeps<R>): StepHandler<R> {
  return async (ctx) => {
    const app = deps.appOf(ctx);
    if (!app)
      return {
        kind: "failed",
        reason: ConditionReason.AppNotFound,
        message: `ManagedApp ${deps.appNameOf(ctx.request) ?? "?"} is gone`,
      };
    const result = await acquireLock(
      deps.client,
      namespaceOf(ctx),
      app.metadata.uid ?? "",
      deps.me(ctx),
      ctx.now(),
    );
    if (result.acquired) return { kind: "succeeded", message: "holds the app's lock" };
    return {
      kind: "waiting",
      reason: ConditionReason.Waiting,
      message: `waiting for ${result.holder.kind} ${result.holder.name}, which holds the app`,
      afterMs: 10_000,
    };
  };
}
