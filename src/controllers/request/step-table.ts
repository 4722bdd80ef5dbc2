// The phase machine's pure half (docs/architecture.md): which step runs next is a function of
// the conditions alone, so a restarted controller resumes exactly where the last status write
// left off, and the table tests of this file pin down every transition.
import { ConditionType } from "../../api/index.ts";
import { getCondition, isTrue, type Conditions } from "../../runtime/conditions.ts";

export type UpgradeStepName =
  | "Admit"
  | "Plan"
  | "Approve"
  | "Suspend"
  | "ScaleDown"
  | "Snapshot"
  | "Commit"
  | "Resume"
  | "AwaitFlux"
  | "ScaleUp"
  | "HealthCheck"
  | "Finish";

export type RollbackStepName =
  | "Admit"
  | "Plan"
  | "Suspend"
  | "ScaleDown"
  | "RestoreVolumes"
  | "Revert"
  | "Resume"
  | "AwaitFlux"
  | "ScaleUp"
  | "HealthCheck"
  | "Finish";

export type StepName = UpgradeStepName | RollbackStepName;

/** A step and the condition it sets True when it is done. */
export interface StepDef<N extends StepName = StepName> {
  readonly name: N;
  readonly condition: ConditionType;
}

// Admit comes first: a real request plans only while it holds its app (admit.ts), so no other
// request can move the app (Git, Flux, workloads) between its plan and its first side effect. A
// dry run passes Admit without taking the lock and plans at once. Approve waits for a person when
// the app or the request asks for approval; Plan passes it in its own write when neither does.
export const UPGRADE_STEPS: readonly StepDef<UpgradeStepName>[] = [
  { name: "Admit", condition: ConditionType.Admitted },
  { name: "Plan", condition: ConditionType.Planned },
  { name: "Approve", condition: ConditionType.Approved },
  { name: "Suspend", condition: ConditionType.Suspended },
  { name: "ScaleDown", condition: ConditionType.WorkloadsStopped },
  { name: "Snapshot", condition: ConditionType.SnapshotsReady },
  { name: "Commit", condition: ConditionType.Committed },
  { name: "Resume", condition: ConditionType.Resumed },
  { name: "AwaitFlux", condition: ConditionType.FluxApplied },
  { name: "ScaleUp", condition: ConditionType.WorkloadsStarted },
  { name: "HealthCheck", condition: ConditionType.Healthy },
  { name: "Finish", condition: ConditionType.Complete },
];

export const ROLLBACK_STEPS: readonly StepDef<RollbackStepName>[] = [
  { name: "Admit", condition: ConditionType.Admitted },
  { name: "Plan", condition: ConditionType.Planned },
  { name: "Suspend", condition: ConditionType.Suspended },
  { name: "ScaleDown", condition: ConditionType.WorkloadsStopped },
  { name: "RestoreVolumes", condition: ConditionType.VolumesRestored },
  { name: "Revert", condition: ConditionType.Reverted },
  { name: "Resume", condition: ConditionType.Resumed },
  { name: "AwaitFlux", condition: ConditionType.FluxApplied },
  { name: "ScaleUp", condition: ConditionType.WorkloadsStarted },
  { name: "HealthCheck", condition: ConditionType.Healthy },
  { name: "Finish", condition: ConditionType.Complete },
];

export type NextStep<N extends StepName> =
  | { readonly name: N; readonly condition: ConditionType }
  /** A step failed for good (Aborting=True): undo what can be undone, then set Complete. */
  | { readonly name: "Compensate"; readonly condition: typeof ConditionType.Complete }
  /** Complete is set: requests are one-shot. */
  | { readonly name: "Done" };

/**
 * The first step whose condition is not True; Compensate once Aborting is True; Done once
 * Complete is set (True or False). Reads conditions only.
 */
export function nextStep<N extends StepName>(
  steps: readonly StepDef<N>[],
  conditions: Conditions,
): NextStep<N> {
  if (getCondition(conditions, ConditionType.Complete)?.status === "True") return { name: "Done" };
  if (getCondition(conditions, ConditionType.Complete)?.status === "False") return { name: "Done" };
  if (isTrue(conditions, ConditionType.Aborting))
    return { name: "Compensate", condition: ConditionType.Complete };
  for (const step of steps) {
    if (!isTrue(conditions, step.condition)) return step;
  }
  return { name: "Done" };
}

/** True once the step's condition is True: used to tell "before" from "after" a boundary. */
export function passed(conditions: Conditions, condition: ConditionType): boolean {
  return isTrue(conditions, condition);
}

const PHASE: Readonly<Record<StepName | "Compensate", string>> = {
  Plan: "Planning",
  Admit: "Pending",
  Approve: "AwaitingApproval",
  Suspend: "Suspending",
  ScaleDown: "ScalingDown",
  Snapshot: "Snapshotting",
  Commit: "Committing",
  RestoreVolumes: "Restoring",
  Revert: "Reverting",
  Resume: "Resuming",
  AwaitFlux: "Reconciling",
  ScaleUp: "ScalingUp",
  HealthCheck: "HealthChecking",
  Finish: "Finishing",
  Compensate: "Compensating",
};

/** The display phase, derived on every write and never read back: conditions are the truth. */
export function phaseOf<N extends StepName>(
  steps: readonly StepDef<N>[],
  conditions: Conditions,
): string {
  const complete = getCondition(conditions, ConditionType.Complete);
  // Unknown: Finish or Compensate is still at work, so the request is not over yet.
  if (complete && complete.status !== "Unknown") {
    if (complete.reason === "DryRunSucceeded" || complete.reason === "DryRunFailed")
      return complete.reason;
    return complete.status === "True" ? "Succeeded" : "Failed";
  }
  const step = nextStep(steps, conditions);
  return step.name === "Done" ? "Succeeded" : PHASE[step.name];
}
