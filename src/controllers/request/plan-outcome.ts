// How a Plan step ends, for both request kinds: failed checks end the request PlanFailed (or
// DryRunFailed) listing every one of them; a dry run ends DryRunSucceeded with the plan in
// status; a real request goes on with the plan, the preflight checks and any other facts.
import { ConditionReason, type Plan, type PreflightCheck } from "../../api/index.ts";
import type { Facts, StepResult } from "./result.ts";

export interface PlanOutcome {
  readonly dry: boolean;
  readonly plan: Plan | undefined;
  /** Every check, passed or not. */
  readonly checks: readonly PreflightCheck[];
  /** What status.preflight keeps of them. */
  readonly preflight: PreflightCheck[];
  /** The words before the list of failed checks, after their count. */
  readonly failedLead: string;
  /** One line on what the plan will do. */
  readonly summary: (plan: Plan) => string;
  /** The success message's first word(s), before the summary. */
  readonly plannedLead: string;
  /** Facts a real request keeps besides the plan and the checks. */
  readonly facts?: Facts;
}

export function planOutcome(o: PlanOutcome): StepResult {
  const failed = o.checks.filter((c) => !c.passed);
  if (failed.length > 0 || !o.plan)
    return {
      kind: "finished",
      complete: "False",
      reason: o.dry ? "DryRunFailed" : ConditionReason.PlanFailed,
      message:
        `${failed.length} ${o.failedLead}: ${failed.map((c) => `${c.name}: ${c.message}`).join("; ")}`.slice(
          0,
          32_000,
        ),
      facts: { preflight: o.preflight, ...(o.plan ? { plan: o.plan } : {}) },
    };
  const summary = o.summary(o.plan);
  if (o.dry)
    return {
      kind: "finished",
      complete: "True",
      reason: ConditionReason.DryRunSucceeded,
      message: `dry run: ${summary}; nothing was changed`,
      facts: { plan: o.plan, preflight: o.preflight },
    };
  return {
    kind: "succeeded",
    message: `${o.plannedLead} ${summary}`,
    facts: { plan: o.plan, preflight: o.preflight, ...o.facts },
  };
}
