// Suspend: suspend the planned Flux objects in order. Idempotent: each object is recorded in
// status.suspended before it is flipped, and one already suspended is left as it is (and not
// recorded: what Cairn did not suspend, Cairn never resumes).
import { ConditionReason } from "../../../api/index.ts";
import { applierOwnsSuspend, appliedBy, isSuspended, setSuspend } from "../flux.ts";
import { describeRef, freshFlux } from "../freeze.ts";
import type { RequestObject, StepHandler } from "../runner.ts";
import { planOf, type StepDeps } from "../step-deps.ts";

export type SuspendDeps<R> = Pick<StepDeps<R>, "client">;

export function suspendStep<R extends RequestObject<unknown>>(
  deps: SuspendDeps<R>,
): StepHandler<R> {
  return async (ctx) => {
    const { client } = deps;
    const flux = planOf(ctx).flux;
    for (const f of flux) {
      const obj = await freshFlux(client, f);
      if (!obj)
        return {
          kind: "failed",
          reason: ConditionReason.ReferenceNotFound,
          message: `${describeRef(f)} not found`,
        };
      const parent = appliedBy(obj);
      if (parent && applierOwnsSuspend(obj)) {
        const p = await freshFlux(client, { kind: "Kustomization", ...parent });
        if (p && !isSuspended(p))
          return {
            kind: "failed",
            reason: "ParentNotSuspended",
            message: `${describeRef(f)} is applied by Kustomization ${parent.namespace}/${parent.name}, which sets its spec.suspend and is not suspended: suspend the parent first`,
          };
      }
      if (isSuspended(obj)) continue;
      const recorded = ctx.status().suspended ?? [];
      if (
        !recorded.some((r) => r.kind === f.kind && r.namespace === f.namespace && r.name === f.name)
      )
        await ctx.save({ suspended: [...recorded, f] });
      await setSuspend(client, f, true);
    }
    return { kind: "succeeded", message: `suspended ${flux.map(describeRef).join(", ")}` };
  };
}
