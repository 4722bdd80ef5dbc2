import { describe, expect, it } from "vitest";
import {
  nextStep,
  passed,
  phaseOf,
  ROLLBACK_STEPS,
  UPGRADE_STEPS,
} from "../../../../src/controllers/request/step-table.ts";
import type { Condition, ConditionStatus } from "../../../../src/runtime/conditions.ts";

const T0 = "2025-01-01T00:00:00Z";

/** Conditions from a compact map, in the map's order: {Planned: "True", …}. */
function conds(spec: Record<string, ConditionStatus>, reasons: Record<string, string> = {}) {
  return Object.entries(spec).map(([type, status]): Condition => ({
    type,
    status,
    reason: reasons[type] ?? "Test",
    message: "",
    lastTransitionTime: T0,
    observedGeneration: 1,
  }));
}

const allTrue = (types: readonly string[]) =>
  Object.fromEntries(types.map((t) => [t, "True" as const]));

// The tables are written out literally, not derived from UPGRADE_STEPS / ROLLBACK_STEPS, so a
// reordered or renamed step in the source shows up here.
const UPGRADE_ORDER = [
  ["Admit", "Admitted"],
  ["Plan", "Planned"],
  ["Approve", "Approved"],
  ["Suspend", "Suspended"],
  ["ScaleDown", "WorkloadsStopped"],
  ["Snapshot", "SnapshotsReady"],
  ["Commit", "Committed"],
  ["Resume", "Resumed"],
  ["AwaitFlux", "FluxApplied"],
  ["ScaleUp", "WorkloadsStarted"],
  ["HealthCheck", "Healthy"],
  ["Finish", "Complete"],
] as const;

const ROLLBACK_ORDER = [
  ["Admit", "Admitted"],
  ["Plan", "Planned"],
  ["Suspend", "Suspended"],
  ["ScaleDown", "WorkloadsStopped"],
  ["RestoreVolumes", "VolumesRestored"],
  ["Revert", "Reverted"],
  ["Resume", "Resumed"],
  ["AwaitFlux", "FluxApplied"],
  ["ScaleUp", "WorkloadsStarted"],
  ["HealthCheck", "Healthy"],
  ["Finish", "Complete"],
] as const;

const MACHINES = [
  { machine: "upgrade", steps: UPGRADE_STEPS, order: UPGRADE_ORDER },
  { machine: "rollback", steps: ROLLBACK_STEPS, order: ROLLBACK_ORDER },
] as const;

describe("step tables", () => {
  it.each(MACHINES)("$machine: steps and their conditions in order", ({ steps, order }) => {
    expect(steps.map((s) => [s.name, s.condition])).toEqual(order.map(([n, c]) => [n, c]));
  });

  it("a step after a point of no return, or one that deletes volumes, starts only once the step before is written", () => {
    const unchained = (steps: readonly { name: string; chained?: true }[]) =>
      steps.filter((s) => s.chained !== true).map((s) => s.name);
    expect(unchained(UPGRADE_STEPS)).toEqual(["Resume"]);
    expect(unchained(ROLLBACK_STEPS)).toEqual(["RestoreVolumes", "Revert", "Resume"]);
  });

  it("records the plan, the restore point and the point of no return as Events", () => {
    const milestones = (steps: readonly { name: string; milestone?: true }[]) =>
      steps.filter((s) => s.milestone === true).map((s) => s.name);
    expect(milestones(UPGRADE_STEPS)).toEqual(["Plan", "Snapshot", "Commit"]);
    expect(milestones(ROLLBACK_STEPS)).toEqual(["Plan", "RestoreVolumes", "Revert"]);
  });
});

describe.each(MACHINES)("nextStep ($machine)", ({ steps, order }) => {
  const types = order.map(([, c]) => c);

  // A real request plans only under the app's lock: Admit comes first.
  it("starts with Admit when there are no conditions", () => {
    expect(nextStep(steps, [])).toMatchObject({ name: "Admit", condition: "Admitted" });
    expect(nextStep(steps, undefined)).toMatchObject({ name: "Admit", condition: "Admitted" });
  });

  it("plans once admitted", () => {
    expect(nextStep(steps, conds({ Admitted: "True" }))).toMatchObject({
      name: "Plan",
      condition: "Planned",
    });
  });

  // Each prefix of True conditions → the step right after it.
  const prefixRows = order.map(([name, condition], i) => ({
    done: types.slice(0, i),
    name,
    condition,
  }));
  it.each(prefixRows)("after [$done] comes $name", ({ done, name, condition }) => {
    expect(nextStep(steps, conds(allTrue(done)))).toMatchObject({ name, condition });
  });

  // One condition False in the middle of an otherwise all-True list → that step.
  const falseRows = order
    .filter(([name]) => name !== "Finish")
    .map(([name, condition]) => ({ name, condition }));
  it.each(falseRows)("with only $condition False the next step is $name", ({ name, condition }) => {
    const spec: Record<string, ConditionStatus> = allTrue(types.filter((t) => t !== "Complete"));
    spec[condition] = "False";
    expect(nextStep(steps, conds(spec))).toMatchObject({ name, condition });
  });

  it("treats an Unknown step condition as not done", () => {
    expect(
      nextStep(steps, conds({ Admitted: "True", Planned: "Unknown", Suspended: "True" })),
    ).toMatchObject({ name: "Plan", condition: "Planned" });
  });

  it("does not depend on the order of the conditions in the list", () => {
    const reversed = conds({
      Suspended: "True",
      Approved: "True",
      Admitted: "True",
      Planned: "True",
    });
    expect(nextStep(steps, reversed)).toMatchObject({
      name: "ScaleDown",
      condition: "WorkloadsStopped",
    });
  });

  it("goes to Compensate once Aborting is True, even with later conditions True", () => {
    expect(
      nextStep(steps, conds({ Planned: "True", Admitted: "False", Aborting: "True" })),
    ).toMatchObject({ name: "Compensate", condition: "Complete" });
    const everythingButComplete = allTrue(types.filter((t) => t !== "Complete"));
    expect(nextStep(steps, conds({ ...everythingButComplete, Aborting: "True" }))).toMatchObject({
      name: "Compensate",
      condition: "Complete",
    });
    expect(nextStep(steps, conds({ Aborting: "True" }))).toMatchObject({
      name: "Compensate",
      condition: "Complete",
    });
  });

  it("ignores Aborting when it is False or Unknown", () => {
    expect(nextStep(steps, conds({ Admitted: "True", Aborting: "False" }))).toMatchObject({
      name: "Plan",
      condition: "Planned",
    });
    expect(nextStep(steps, conds({ Admitted: "True", Aborting: "Unknown" }))).toMatchObject({
      name: "Plan",
      condition: "Planned",
    });
  });

  it.each([
    { complete: "True" as const, aborting: undefined },
    { complete: "False" as const, aborting: undefined },
    { complete: "True" as const, aborting: "True" as const },
    { complete: "False" as const, aborting: "True" as const },
  ])("is Done once Complete is $complete (Aborting $aborting)", ({ complete, aborting }) => {
    const spec: Record<string, ConditionStatus> = { Planned: "True", Complete: complete };
    if (aborting) spec["Aborting"] = aborting;
    expect(nextStep(steps, conds(spec))).toMatchObject({ name: "Done" });
  });

  it("is Done when Complete is False even though no step ran", () => {
    expect(nextStep(steps, conds({ Complete: "False" }))).toMatchObject({ name: "Done" });
  });

  it("compensates while Complete is Unknown and Aborting is True", () => {
    expect(
      nextStep(steps, conds({ Planned: "True", Aborting: "True", Complete: "Unknown" })),
    ).toMatchObject({ name: "Compensate", condition: "Complete" });
  });

  it("runs Finish while Complete is Unknown and nothing is aborting", () => {
    const spec = {
      ...allTrue(types.filter((t) => t !== "Complete")),
      Complete: "Unknown" as const,
    };
    expect(nextStep(steps, conds(spec))).toMatchObject({ name: "Finish", condition: "Complete" });
  });
});

describe("nextStep: the two machines differ only where they should", () => {
  const stopped = conds({
    Planned: "True",
    Approved: "True",
    Admitted: "True",
    Suspended: "True",
    WorkloadsStopped: "True",
  });

  it("after ScaleDown an upgrade snapshots and a rollback restores", () => {
    expect(nextStep(UPGRADE_STEPS, stopped).name).toBe("Snapshot");
    expect(nextStep(ROLLBACK_STEPS, stopped).name).toBe("RestoreVolumes");
  });

  it("an upgrade-only condition does not move a rollback on, and vice versa", () => {
    const withUpgradeConds = conds({
      Planned: "True",
      Approved: "True",
      Admitted: "True",
      Suspended: "True",
      WorkloadsStopped: "True",
      SnapshotsReady: "True",
      Committed: "True",
    });
    expect(nextStep(ROLLBACK_STEPS, withUpgradeConds).name).toBe("RestoreVolumes");
    const withRollbackConds = conds({
      Planned: "True",
      Approved: "True",
      Admitted: "True",
      Suspended: "True",
      WorkloadsStopped: "True",
      VolumesRestored: "True",
      Reverted: "True",
    });
    expect(nextStep(UPGRADE_STEPS, withRollbackConds).name).toBe("Snapshot");
  });
});

describe("passed", () => {
  it("is true only for a True condition", () => {
    const list = conds({ Planned: "True", Admitted: "False", Suspended: "Unknown" });
    expect(passed(list, "Planned")).toBe(true);
    expect(passed(list, "Admitted")).toBe(false);
    expect(passed(list, "Suspended")).toBe(false);
    expect(passed(list, "Committed")).toBe(false);
    expect(passed(undefined, "Planned")).toBe(false);
  });
});

describe("phaseOf", () => {
  const UPGRADE_PHASES = {
    Plan: "Planning",
    Admit: "Pending",
    Approve: "AwaitingApproval",
    Suspend: "Suspending",
    ScaleDown: "ScalingDown",
    Snapshot: "Snapshotting",
    Commit: "Committing",
    Resume: "Resuming",
    AwaitFlux: "Reconciling",
    ScaleUp: "ScalingUp",
    HealthCheck: "HealthChecking",
    Finish: "Finishing",
  } as const;
  const ROLLBACK_PHASES = {
    ...UPGRADE_PHASES,
    RestoreVolumes: "Restoring",
    Revert: "Reverting",
  } as const;

  const rows = (
    order: typeof UPGRADE_ORDER | typeof ROLLBACK_ORDER,
    phases: Record<string, string>,
  ) =>
    order
      .filter(([name]) => name !== "Finish")
      .map(([name], i) => ({
        step: name,
        phase: phases[name],
        done: order.slice(0, i).map(([, c]) => c),
      }));

  it.each(rows(UPGRADE_ORDER, UPGRADE_PHASES))("upgrade at $step is $phase", ({ done, phase }) => {
    expect(phaseOf(UPGRADE_STEPS, conds(allTrue(done)))).toBe(phase);
  });

  it.each(rows(ROLLBACK_ORDER, ROLLBACK_PHASES))(
    "rollback at $step is $phase",
    ({ done, phase }) => {
      expect(phaseOf(ROLLBACK_STEPS, conds(allTrue(done)))).toBe(phase);
    },
  );

  it.each(MACHINES)("$machine at Finish is Finishing", ({ steps, order }) => {
    const done = order.map(([, c]) => c).filter((c) => c !== "Complete");
    expect(phaseOf(steps, conds(allTrue(done)))).toBe("Finishing");
  });

  it("is Pending (waiting for the app's lock) with no conditions at all", () => {
    expect(phaseOf(UPGRADE_STEPS, undefined)).toBe("Pending");
    expect(phaseOf(ROLLBACK_STEPS, [])).toBe("Pending");
  });

  it("is Compensating while Aborting is True and Complete is not set", () => {
    const list = conds({ Planned: "True", Admitted: "True", Suspended: "False", Aborting: "True" });
    expect(phaseOf(UPGRADE_STEPS, list)).toBe("Compensating");
    expect(phaseOf(ROLLBACK_STEPS, list)).toBe("Compensating");
  });

  it.each([
    { status: "True" as const, reason: "Succeeded", phase: "Succeeded" },
    { status: "False" as const, reason: "RollbackRequired", phase: "Failed" },
    { status: "False" as const, reason: "PlanFailed", phase: "Failed" },
    { status: "True" as const, reason: "DryRunSucceeded", phase: "DryRunSucceeded" },
    { status: "False" as const, reason: "DryRunFailed", phase: "DryRunFailed" },
  ])("Complete=$status/$reason is $phase", ({ status, reason, phase }) => {
    const list = conds({ Planned: "True", Complete: status }, { Complete: reason });
    expect(phaseOf(UPGRADE_STEPS, list)).toBe(phase);
    expect(phaseOf(ROLLBACK_STEPS, list)).toBe(phase);
  });

  it("a failed request stays Failed though Aborting is still True", () => {
    const list = conds(
      { Planned: "True", Aborting: "True", Complete: "False" },
      { Complete: "RollbackRequired" },
    );
    expect(phaseOf(UPGRADE_STEPS, list)).toBe("Failed");
  });
});
