// Suspend: suspend the planned Flux objects in order. Each object is recorded in
// status.suspended before the request adds itself to the object's holders (suspension.ts), and
// the write that adds the first holder is the one that suspends it. An object another Cairn
// request already holds (two apps that share a parent Kustomization) is shared: the last holder
// resumes it. One suspended by anything but Cairn is refused, named: what Cairn did not suspend,
// Cairn never resumes. Idempotent: a pass that finds the request listed writes nothing.
import {
  Annotation,
  ConditionReason,
  describeHolder,
  suspensionHoldersOf,
} from "../../../api/index.ts";
import { applierOwnsSuspend, appliedBy, isSuspended } from "../flux.ts";
import { describeRef, freshFlux } from "../freeze.ts";
import type { RequestObject, StepHandler } from "../runner.ts";
import { planOf, type StepDeps } from "../step-deps.ts";
import { holdSuspension, suspensionHolder } from "../suspension.ts";

export type SuspendDeps<R> = Pick<StepDeps<R>, "client" | "me">;

export function suspendStep<R extends RequestObject<unknown>>(
  deps: SuspendDeps<R>,
): StepHandler<R> {
  return async (ctx) => {
    const { client } = deps;
    const flux = planOf(ctx).flux;
    const me = suspensionHolder(ctx, deps.me(ctx));
    const shared: string[] = [];
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
      const recorded = ctx.status().suspended ?? [];
      const mine = recorded.some(
        (r) => r.kind === f.kind && r.namespace === f.namespace && r.name === f.name,
      );
      if (!mine) {
        // A look before the record: an object suspended by something that is not Cairn is
        // refused without ever being listed as this request's to resume.
        if (isSuspended(obj) && suspensionHoldersOf(obj).length === 0)
          return {
            kind: "failed",
            reason: "SuspendedByOther",
            message: `${describeRef(f)} is suspended, and not by a Cairn request (it lists no ${Annotation.SuspendedBy} holder): whoever suspended it must resume it first`,
          };
        await ctx.save({ suspended: [...recorded, f] });
      }
      // `obj` was read fresh above: the hold needs no second read unless it meets a Conflict.
      const outcome = await holdSuspension(client, f, me, true, obj);
      if (outcome.kind === "missing")
        return {
          kind: "failed",
          reason: ConditionReason.ReferenceNotFound,
          message: `${describeRef(f)} not found`,
        };
      if (outcome.kind === "held" && outcome.sharedWith.length > 0)
        shared.push(
          `${describeRef(f)} shared with ${outcome.sharedWith.map(describeHolder).join(", ")}`,
        );
    }
    return {
      kind: "succeeded",
      message: `suspended ${flux.map(describeRef).join(", ")}${shared.length > 0 ? ` (${shared.join("; ")}: the last holder resumes it)` : ""}`,
    };
  };
}
