// Approve (UpgradeRequest): when the app (spec.approval: Manual) or the request asks for it, the
// request waits after Plan, with no side effect, until a person approves the plan shown in
// status (the cairn.dev/approved-by annotation, set by `kubectl cairn approve`). The request
// holds its app meanwhile, so no other request moves it; the wait ends at the app's
// timeouts.approval. On approval the plan is made again and must come out the same: the plan
// executed is the plan approved, checked against the world as it is now. Idempotent: it only
// reads, and the approval is written with the step's success.
import {
  approverOf,
  ConditionReason,
  ConditionType,
  type ManagedApp,
  type UpgradeRequest,
} from "../../../api/index.ts";
import { rfc3339 } from "../../../runtime/conditions.ts";
import type { StepResult } from "../../request/result.ts";
import type { StepHandler } from "../../request/runner.ts";
import { namespaceOf, planOf, type StepDeps } from "../../request/step-deps.ts";
import { planDifferences } from "../plan-differences.ts";

export const APPROVAL_NOT_REQUIRED = "neither the app nor the request asks for approval";
export const APPROVAL_PAST = "the request had begun to act before approval could be asked for";

/** Whether the request waits for a person: a dry run never does. */
export function approvalRequired(request: UpgradeRequest, app: ManagedApp | undefined): boolean {
  if (request.spec.dryRun) return false;
  return request.spec.approval === "Manual" || app?.spec.approval === "Manual";
}

export type ApproveDeps = Pick<StepDeps<UpgradeRequest>, "appOf">;

/** `replan` is the Plan step's handler: it only reads, so running it again changes nothing. */
export function approveStep(
  deps: ApproveDeps,
  replan: StepHandler<UpgradeRequest>,
): StepHandler<UpgradeRequest> {
  return async (ctx): Promise<StepResult> => {
    // A request that has begun to act (planned and suspended by a Cairn without this step) is
    // past the point where a person could approve anything: waiting now would hold Flux
    // suspended and the workloads stopped.
    if (ctx.status().conditions?.some((c) => c.type === ConditionType.Suspended) === true)
      return { kind: "succeeded", reason: "NotNeeded", message: APPROVAL_PAST };
    if (!approvalRequired(ctx.request, deps.appOf(ctx)))
      return { kind: "succeeded", reason: "NotNeeded", message: APPROVAL_NOT_REQUIRED };
    const shown = planOf(ctx);
    const by = approverOf(ctx.request);
    if (by === undefined)
      return {
        kind: "waiting",
        reason: ConditionReason.AwaitingApproval,
        message:
          `waiting for approval of the plan (${shown.git.from} → ${shown.git.to} in ${shown.git.path}; ` +
          `${shown.volumes.length} PVC(s), ${shown.workloads.length} workload(s)): ` +
          `kubectl cairn approve ${ctx.request.metadata.name} -n ${namespaceOf(ctx)}`,
        // The annotation wakes the request through its watch; this only bounds the wait.
        afterMs: 10 * 60_000,
      };
    const again = await replan(ctx);
    switch (again.kind) {
      case "waiting":
        return { ...again, message: `approved by ${by}; planning again: ${again.message}` };
      case "failed":
      case "finished":
        return {
          kind: "failed",
          reason: ConditionReason.PlanFailed,
          message: `approved by ${by}, but the plan no longer holds: ${again.message}`,
        };
      case "succeeded": {
        const now = again.facts?.plan;
        const differences = now ? planDifferences(shown, now) : ["the plan could not be made"];
        if (differences.length > 0)
          return {
            kind: "failed",
            reason: ConditionReason.PlanChanged,
            message:
              `approved by ${by}, but the plan changed since it was shown: ${differences.join("; ")}; ` +
              "create a new request to see the new plan",
          };
        return {
          kind: "succeeded",
          message: `approved by ${by}; planned again, the plan still holds`,
          facts: { approval: { approvedBy: by, approvedAt: rfc3339(ctx.now()) } },
          event: { type: "Normal", reason: "Approved", message: `plan approved by ${by}` },
        };
      }
    }
  };
}
