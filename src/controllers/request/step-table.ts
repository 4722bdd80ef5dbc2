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
  /**
   * The step may run in the same pass as the step before it, without that step's end and its
   * own start written first: they go out with its first save (before it acts on the world) or
   * with the pass's last write. Only for steps after which re-running the steps before them is
   * harmless, should the process die before that write: not the step after a point of no return
   * (Resume after Commit or Revert, whose re-run would find Flux resumed), nor a step that
   * deletes what the step before must still see.
   */
  readonly chained?: true;
  /** Its success is worth an Event on the request (the plan, the restore point, the commit). */
  readonly milestone?: true;
}

// Admit comes first: a real request plans only while it holds its app (admit.ts), so no other
// request can move the app (Git, Flux, workloads) between its plan and its first side effect. A
// dry run passes Admit without taking the lock and plans at once. Approve waits for a person when
// the app or the request asks for approval; Plan passes it in its own write when neither does.
//
// Most steps are chained: a request runs through them in one pass until one waits, so an upgrade
// costs a status write per wait, per save before an action, and per point of no return, not one
// per step. Each is idempotent (it reads the facts saved by the steps before it, or the world),
// so a process that dies before the pass's write re-runs them from the last written step.
export const UPGRADE_STEPS: readonly StepDef<UpgradeStepName>[] = [
  { name: "Admit", condition: ConditionType.Admitted, chained: true },
  { name: "Plan", condition: ConditionType.Planned, chained: true, milestone: true },
  { name: "Approve", condition: ConditionType.Approved, chained: true },
  { name: "Suspend", condition: ConditionType.Suspended, chained: true },
  { name: "ScaleDown", condition: ConditionType.WorkloadsStopped, chained: true },
  { name: "Snapshot", condition: ConditionType.SnapshotsReady, chained: true, milestone: true },
  { name: "Commit", condition: ConditionType.Committed, chained: true, milestone: true },
  // Not chained: Commit's end is written before Flux resumes, since Commit re-run after a crash
  // would find Flux resumed and refuse (FluxResumed) a commit that has landed.
  { name: "Resume", condition: ConditionType.Resumed },
  { name: "AwaitFlux", condition: ConditionType.FluxApplied, chained: true },
  { name: "ScaleUp", condition: ConditionType.WorkloadsStarted, chained: true },
  { name: "HealthCheck", condition: ConditionType.Healthy, chained: true },
  { name: "Finish", condition: ConditionType.Complete, chained: true },
];

// A rollback deletes PVCs and reverts Git: RestoreVolumes, Revert and Resume each start only once
// the step before is written.
export const ROLLBACK_STEPS: readonly StepDef<RollbackStepName>[] = [
  { name: "Admit", condition: ConditionType.Admitted, chained: true },
  { name: "Plan", condition: ConditionType.Planned, chained: true, milestone: true },
  { name: "Suspend", condition: ConditionType.Suspended, chained: true },
  { name: "ScaleDown", condition: ConditionType.WorkloadsStopped, chained: true },
  { name: "RestoreVolumes", condition: ConditionType.VolumesRestored, milestone: true },
  { name: "Revert", condition: ConditionType.Reverted, milestone: true },
  { name: "Resume", condition: ConditionType.Resumed },
  { name: "AwaitFlux", condition: ConditionType.FluxApplied, chained: true },
  { name: "ScaleUp", condition: ConditionType.WorkloadsStarted, chained: true },
  { name: "HealthCheck", condition: ConditionType.Healthy, chained: true },
  { name: "Finish", condition: ConditionType.Complete, chained: true },
];

export type NextStep<N extends StepName> =
  | StepDef<N>
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

/** The step may run in the pass of the step before it (StepDef.chained). */
export function isChained<N extends StepName>(step: NextStep<N>): boolean {
  return "condition" in step && step.name !== "Compensate" && (step as StepDef<N>).chained === true;
}

/** Its success is worth an Event on the request (StepDef.milestone). */
export function isMilestone<N extends StepName>(step: NextStep<N>): boolean {
  return (
    "condition" in step && step.name !== "Compensate" && (step as StepDef<N>).milestone === true
  );
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
