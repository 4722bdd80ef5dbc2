import { describe, expect, it } from "vitest";
import type { RequestStatus } from "../../../../src/api/index.ts";
import {
  applyResult,
  DEFAULT_WAIT_MS,
  type ApplyInput,
  type StepResult,
} from "../../../../src/controllers/request/result.ts";
import {
  nextStep,
  UPGRADE_STEPS,
  type UpgradeStepName,
} from "../../../../src/controllers/request/step-table.ts";
import type { Conditions, ConditionStatus } from "../../../../src/runtime/conditions.ts";

// Times: the API writes whole seconds, so `now` carries milliseconds that must be cut.
const T0 = "2025-03-01T11:00:00Z";
const STARTED = "2025-03-01T12:00:00Z";
const NOW = new Date("2025-03-01T12:00:30.500Z");
const NOW_S = "2025-03-01T12:00:30Z";
// A request's own times keep milliseconds (requestTime); conditions keep whole seconds.
const NOW_MS = "2025-03-01T12:00:30.500Z";
const DEADLINE_LATER = "2025-03-01T12:05:00Z";
const DEADLINE_PAST = "2025-03-01T12:00:10Z";

const cond = (type: string, status: ConditionStatus, reason = "Succeeded", generation = 1) => ({
  type,
  status,
  reason,
  message: `${type} earlier`,
  lastTransitionTime: T0,
  observedGeneration: generation,
});

const SNAPSHOT = { name: "Snapshot", condition: "SnapshotsReady" } as const;
const FINISH = { name: "Finish", condition: "Complete" } as const;
const PLAN = { name: "Plan", condition: "Planned" } as const;
const ADMIT = { name: "Admit", condition: "Admitted" } as const;
const COMPENSATE = { name: "Compensate", condition: "Complete" } as const;

const PREVIOUS = {
  name: "ScaleDown",
  startedAt: "2025-03-01T11:59:00Z",
  completedAt: STARTED,
  reason: "Succeeded",
};

/** An upgrade that has stopped its workloads and is taking snapshots. */
function snapshotting(over: Partial<RequestStatus> = {}): RequestStatus {
  return {
    phase: "Snapshotting",
    startedAt: "2025-03-01T11:58:00Z",
    conditions: [
      cond("Planned", "True"),
      cond("Admitted", "True"),
      cond("Approved", "True"),
      cond("Suspended", "True"),
      cond("WorkloadsStopped", "True"),
    ],
    step: { name: "Snapshot", startedAt: STARTED, deadline: DEADLINE_LATER },
    history: [PREVIOUS],
    replicas: [{ kind: "StatefulSet", namespace: "shop", name: "pg", original: 2 }],
    ...over,
  };
}

function apply(
  result: StepResult,
  over: Partial<ApplyInput<UpgradeStepName>> = {},
): ReturnType<typeof applyResult> {
  return applyResult<UpgradeStepName>({
    steps: UPGRADE_STEPS,
    status: snapshotting(),
    step: SNAPSHOT,
    result,
    now: NOW,
    generation: 3,
    timeoutMs: 60_000,
    ...over,
  });
}

/** The step the machine would run next on this status (the runner reads conditions the same way). */
const nextOf = (status: RequestStatus) => nextStep(UPGRADE_STEPS, status.conditions as Conditions);

const condOf = (status: RequestStatus, type: string) =>
  status.conditions?.find((c) => c.type === type);

describe("applyResult: a step that passes later ones", () => {
  it("sets their conditions True in the same write, so the step after them runs next", () => {
    const planning: RequestStatus = {
      conditions: [cond("Admitted", "True")],
      step: { name: "Plan", startedAt: STARTED, deadline: DEADLINE_LATER },
    };
    const out = apply(
      {
        kind: "succeeded",
        message: "planned",
        passes: [{ condition: "Approved", reason: "NotNeeded", message: "no approval asked" }],
      },
      { status: planning, step: PLAN },
    );
    expect(condOf(out.status, "Planned")).toMatchObject({ status: "True", reason: "Succeeded" });
    expect(condOf(out.status, "Approved")).toEqual({
      type: "Approved",
      status: "True",
      reason: "NotNeeded",
      message: "no approval asked",
      lastTransitionTime: NOW_S,
      observedGeneration: 3,
    });
    expect(nextOf(out.status)).toMatchObject({ name: "Suspend", condition: "Suspended" });
    expect(out.status.phase).toBe("Suspending");
  });
});

describe("applyResult: succeeded", () => {
  const out = apply({ kind: "succeeded", message: "2 snapshots ready" });

  it("sets the step's condition True with reason Succeeded, stamped now and with the generation", () => {
    expect(condOf(out.status, "SnapshotsReady")).toEqual({
      type: "SnapshotsReady",
      status: "True",
      reason: "Succeeded",
      message: "2 snapshots ready",
      lastTransitionTime: NOW_S,
      observedGeneration: 3,
    });
  });

  it("appends a history entry that starts when status.step started", () => {
    expect(out.status.history).toEqual([
      PREVIOUS,
      { name: "Snapshot", startedAt: STARTED, completedAt: NOW_MS, reason: "Succeeded" },
    ]);
  });

  it("clears status.step and asks for an immediate next pass", () => {
    expect(out.status).not.toHaveProperty("step");
    expect(out.requeueMs).toBe(0);
  });

  it("recomputes the phase for the next step and sets observedGeneration", () => {
    expect(out.status.phase).toBe("Committing");
    expect(out.status.observedGeneration).toBe(3);
    expect(nextOf(out.status)).toMatchObject({
      name: "Commit",
      condition: "Committed",
    });
  });

  it("leaves the other conditions and fields alone", () => {
    expect(out.status.conditions?.slice(0, 5)).toEqual(snapshotting().conditions);
    expect(out.status.conditions?.map((c) => c.type)).toEqual([
      "Planned",
      "Admitted",
      "Approved",
      "Suspended",
      "WorkloadsStopped",
      "SnapshotsReady",
    ]);
    expect(out.status.replicas).toEqual(snapshotting().replicas);
    expect(out.status.startedAt).toBe("2025-03-01T11:58:00Z");
    expect(out.status).not.toHaveProperty("completedAt");
  });

  it("returns the result unchanged", () => {
    const result: StepResult = { kind: "succeeded", message: "x" };
    expect(apply(result).result).toBe(result);
  });

  it("does not modify the status it was given", () => {
    const status = snapshotting();
    const copy = structuredClone(status);
    apply({ kind: "succeeded", message: "x" }, { status });
    expect(status).toEqual(copy);
  });

  it("records NotNeeded as the condition's and history's reason", () => {
    const notNeeded = apply({ kind: "succeeded", reason: "NotNeeded", message: "no PVCs" });
    expect(condOf(notNeeded.status, "SnapshotsReady")?.reason).toBe("NotNeeded");
    expect(notNeeded.status.history?.at(-1)?.reason).toBe("NotNeeded");
  });

  it("starts the history entry now when status.step is another step's or absent", () => {
    const other = apply(
      { kind: "succeeded", message: "x" },
      { status: snapshotting({ step: { name: "ScaleDown", startedAt: T0 } }) },
    );
    expect(other.status.history?.at(-1)?.startedAt).toBe(NOW_MS);
    const none = snapshotting();
    delete none.step;
    const fresh = apply({ kind: "succeeded", message: "x" }, { status: none });
    expect(fresh.status.history?.at(-1)).toEqual({
      name: "Snapshot",
      startedAt: NOW_MS,
      completedAt: NOW_MS,
      reason: "Succeeded",
    });
  });

  it("starts a history when there was none", () => {
    const none = snapshotting();
    delete none.history;
    expect(apply({ kind: "succeeded", message: "x" }, { status: none }).status.history).toEqual([
      { name: "Snapshot", startedAt: STARTED, completedAt: NOW_MS, reason: "Succeeded" },
    ]);
  });

  it("keeps the newest 32 history entries", () => {
    const history = Array.from({ length: 32 }, (_, i) => ({ ...PREVIOUS, name: `Old${i}` }));
    const out32 = apply({ kind: "succeeded", message: "x" }, { status: snapshotting({ history }) });
    expect(out32.status.history).toHaveLength(32);
    expect(out32.status.history?.[0]?.name).toBe("Old1");
    expect(out32.status.history?.at(-1)?.name).toBe("Snapshot");
  });
});

describe("applyResult: waiting", () => {
  it("looks again by the step's deadline at the latest", () => {
    // 12:00:30.5 → 12:05:00 is 269.5 s; the wait asked for 10 minutes.
    expect(apply({ kind: "waiting", message: "awaiting", afterMs: 600_000 }).requeueMs).toBe(
      269_600,
    );
    expect(apply({ kind: "waiting", message: "soon", afterMs: 2_000 }).requeueMs).toBe(2_000);
  });

  it("sets the step's condition False/InProgress and keeps status.step and its deadline", () => {
    const out = apply({ kind: "waiting", message: "1 of 2 snapshots ready" });
    expect(condOf(out.status, "SnapshotsReady")).toMatchObject({
      status: "False",
      reason: "InProgress",
      message: "1 of 2 snapshots ready",
      observedGeneration: 3,
    });
    expect(out.status.step).toEqual({
      name: "Snapshot",
      startedAt: STARTED,
      deadline: DEADLINE_LATER,
    });
    expect(out.status.history).toEqual([PREVIOUS]);
    expect(out.status.phase).toBe("Snapshotting");
    expect(out.result.kind).toBe("waiting");
  });

  it("requeues after afterMs, or after DEFAULT_WAIT_MS", () => {
    expect(apply({ kind: "waiting", message: "m", afterMs: 1234 }).requeueMs).toBe(1234);
    expect(apply({ kind: "waiting", message: "m" }).requeueMs).toBe(DEFAULT_WAIT_MS);
    expect(DEFAULT_WAIT_MS).toBe(5_000);
  });

  it("uses the Waiting reason when the step gives it", () => {
    const out = apply({ kind: "waiting", reason: "Waiting", message: "lock held" });
    expect(condOf(out.status, "SnapshotsReady")?.reason).toBe("Waiting");
  });

  it("sets Complete Unknown (not False) while Compensate waits, so compensation goes on", () => {
    const status = snapshotting({
      conditions: [...(snapshotting().conditions ?? []), cond("Aborting", "True", "Unhealthy")],
      step: { name: "Compensate", startedAt: STARTED },
    });
    const out = apply(
      { kind: "waiting", message: "restoring replicas" },
      { status, step: COMPENSATE },
    );
    expect(condOf(out.status, "Complete")).toMatchObject({
      status: "Unknown",
      reason: "InProgress",
      message: "restoring replicas",
    });
    expect(condOf(out.status, "Aborting")?.status).toBe("True");
    expect(nextOf(out.status).name).toBe("Compensate");
    expect(out.status).not.toHaveProperty("completedAt");
    expect(out.requeueMs).toBe(DEFAULT_WAIT_MS);
  });

  it("keeps lastTransitionTime when the condition was already False", () => {
    const status = snapshotting({
      conditions: [
        ...(snapshotting().conditions ?? []),
        cond("SnapshotsReady", "False", "InProgress"),
      ],
    });
    const out = apply({ kind: "waiting", message: "still cutting" }, { status });
    expect(condOf(out.status, "SnapshotsReady")).toEqual({
      type: "SnapshotsReady",
      status: "False",
      reason: "InProgress",
      message: "still cutting",
      lastTransitionTime: T0,
      observedGeneration: 3,
    });
  });

  it("moves lastTransitionTime when the condition flips", () => {
    const status = snapshotting({
      conditions: [
        ...(snapshotting().conditions ?? []),
        cond("SnapshotsReady", "False", "InProgress"),
      ],
    });
    const out = apply({ kind: "succeeded", message: "ready" }, { status });
    expect(condOf(out.status, "SnapshotsReady")?.lastTransitionTime).toBe(NOW_S);
    // Untouched conditions keep their own generation and time.
    expect(condOf(out.status, "Planned")).toEqual(cond("Planned", "True"));
  });

  it("stays waiting while the deadline is ahead", () => {
    const out = apply({ kind: "waiting", message: "m" });
    expect(out.result).toEqual({ kind: "waiting", message: "m" });
  });

  it("stays waiting when status.step has no deadline", () => {
    const out = apply(
      { kind: "waiting", message: "m" },
      { status: snapshotting({ step: { name: "Snapshot", startedAt: T0 } }) },
    );
    expect(out.result.kind).toBe("waiting");
    expect(out.status.step).toEqual({ name: "Snapshot", startedAt: T0 });
  });
});

describe("applyResult: deadlines", () => {
  const late = (deadline: string) =>
    snapshotting({ step: { name: "Snapshot", startedAt: STARTED, deadline } });

  it("turns a waiting result past the deadline into failed/DeadlineExceeded", () => {
    const out = apply(
      { kind: "waiting", message: "1 of 2 ready", facts: { snapshots: [] } },
      { status: late(DEADLINE_PAST) },
    );
    expect(out.result).toEqual({
      kind: "failed",
      reason: "DeadlineExceeded",
      message: `Snapshot did not finish by its deadline ${DEADLINE_PAST}: 1 of 2 ready`,
      facts: { snapshots: [] },
    });
    expect(condOf(out.status, "SnapshotsReady")).toMatchObject({
      status: "False",
      reason: "DeadlineExceeded",
    });
    expect(condOf(out.status, "Aborting")).toMatchObject({
      status: "True",
      reason: "DeadlineExceeded",
    });
    expect(out.status.history?.at(-1)).toEqual({
      name: "Snapshot",
      startedAt: STARTED,
      completedAt: NOW_MS,
      reason: "DeadlineExceeded",
    });
    expect(out.status).not.toHaveProperty("step");
    expect(out.status.phase).toBe("Compensating");
    expect(out.requeueMs).toBe(0);
  });

  it("counts a deadline equal to now (to the second) as passed", () => {
    expect(apply({ kind: "waiting", message: "m" }, { status: late(NOW_S) }).result.kind).toBe(
      "failed",
    );
    expect(
      apply({ kind: "waiting", message: "m" }, { status: late("2025-03-01T12:00:31Z") }).result
        .kind,
    ).toBe("waiting");
  });

  it("does not fail a step that progressed, and restarts its deadline at now + timeoutMs", () => {
    const out = apply(
      { kind: "waiting", message: "1 of 2 ready", progressed: true },
      { status: late(DEADLINE_PAST), timeoutMs: 60_000 },
    );
    expect(out.result.kind).toBe("waiting");
    // 12:00:30.500 + 60 s, cut to the second.
    expect(out.status.step).toEqual({
      name: "Snapshot",
      startedAt: STARTED,
      deadline: "2025-03-01T12:01:30.500Z",
    });
    expect(condOf(out.status, "Aborting")).toBeUndefined();
  });

  it("restarts the deadline on progress even before it passed", () => {
    const out = apply(
      { kind: "waiting", message: "m", progressed: true },
      { timeoutMs: 30 * 60_000 },
    );
    expect(out.status.step?.deadline).toBe("2025-03-01T12:30:30.500Z");
  });

  it("keeps the deadline on progress when the step has no timeout", () => {
    const out = apply(
      { kind: "waiting", message: "m", progressed: true },
      { status: late(DEADLINE_PAST), timeoutMs: undefined },
    );
    expect(out.result.kind).toBe("waiting");
    expect(out.status.step?.deadline).toBe(DEADLINE_PAST);
  });

  it("does not invent a status.step on progress when there is none", () => {
    const none = snapshotting();
    delete none.step;
    const out = apply({ kind: "waiting", message: "m", progressed: true }, { status: none });
    expect(out.status).not.toHaveProperty("step");
  });

  it("leaves succeeded and failed results alone past the deadline", () => {
    const ok = apply({ kind: "succeeded", message: "done" }, { status: late(DEADLINE_PAST) });
    expect(ok.result.kind).toBe("succeeded");
    expect(condOf(ok.status, "SnapshotsReady")?.status).toBe("True");
    const failed = apply(
      { kind: "failed", reason: "SnapshotFailed", message: "csi error" },
      { status: late(DEADLINE_PAST) },
    );
    expect(failed.result).toMatchObject({ reason: "SnapshotFailed" });
  });
});

describe("applyResult: failed", () => {
  const out = apply({ kind: "failed", reason: "SnapshotFailed", message: "csi: quota exceeded" });

  it("sets the step's condition False and Aborting True, both with the failure's reason", () => {
    expect(condOf(out.status, "SnapshotsReady")).toEqual({
      type: "SnapshotsReady",
      status: "False",
      reason: "SnapshotFailed",
      message: "csi: quota exceeded",
      lastTransitionTime: NOW_S,
      observedGeneration: 3,
    });
    expect(condOf(out.status, "Aborting")).toEqual({
      type: "Aborting",
      status: "True",
      reason: "SnapshotFailed",
      message: "csi: quota exceeded",
      lastTransitionTime: NOW_S,
      observedGeneration: 3,
    });
  });

  it("records the step in the history, clears status.step and requeues at once", () => {
    expect(out.status.history?.at(-1)).toEqual({
      name: "Snapshot",
      startedAt: STARTED,
      completedAt: NOW_MS,
      reason: "SnapshotFailed",
    });
    expect(out.status).not.toHaveProperty("step");
    expect(out.requeueMs).toBe(0);
  });

  it("leads to Compensate", () => {
    expect(out.status.phase).toBe("Compensating");
    expect(nextOf(out.status)).toMatchObject({
      name: "Compensate",
      condition: "Complete",
    });
    expect(out.status).not.toHaveProperty("completedAt");
  });

  it("a failed Compensate does not set Complete; Aborting stays True", () => {
    const status = snapshotting({
      conditions: [...(snapshotting().conditions ?? []), cond("Aborting", "True", "Unhealthy")],
      step: { name: "Compensate", startedAt: STARTED },
    });
    const c = apply(
      { kind: "failed", reason: "ScaleFailed", message: "cannot scale" },
      { status, step: COMPENSATE },
    );
    expect(condOf(c.status, "Complete")).toBeUndefined();
    expect(condOf(c.status, "Aborting")).toMatchObject({
      status: "True",
      reason: "ScaleFailed",
      // Still True: the transition time is Aborting's first one.
      lastTransitionTime: T0,
    });
    expect(c.status.history?.at(-1)).toMatchObject({ name: "Compensate", startedAt: STARTED });
  });
});

describe("applyResult: finished", () => {
  const healthy = () =>
    snapshotting({
      conditions: [
        "Planned",
        "Admitted",
        "Approved",
        "Suspended",
        "WorkloadsStopped",
        "SnapshotsReady",
        "Committed",
        "Resumed",
        "FluxApplied",
        "WorkloadsStarted",
        "Healthy",
      ].map((t) => cond(t, "True")),
      step: { name: "Finish", startedAt: STARTED },
    });

  it("Finish: sets Complete True, completedAt, history, and stops requeueing", () => {
    const out = apply(
      { kind: "finished", complete: "True", reason: "Succeeded", message: "upgraded 1 → 2" },
      { status: healthy(), step: FINISH },
    );
    expect(condOf(out.status, "Complete")).toEqual({
      type: "Complete",
      status: "True",
      reason: "Succeeded",
      message: "upgraded 1 → 2",
      lastTransitionTime: NOW_S,
      observedGeneration: 3,
    });
    expect(out.status.completedAt).toBe(NOW.toISOString());
    expect(out.requeueMs).toBeUndefined();
    expect(out.status).not.toHaveProperty("step");
    expect(out.status.history?.at(-1)).toEqual({
      name: "Finish",
      startedAt: STARTED,
      completedAt: NOW_MS,
      reason: "Succeeded",
    });
    expect(out.status.phase).toBe("Succeeded");
    expect(nextOf(out.status)).toMatchObject({ name: "Done" });
  });

  it("Compensate: sets Complete False with the given reason and the phase Failed", () => {
    const status = snapshotting({
      conditions: [...(snapshotting().conditions ?? []), cond("Aborting", "True", "Unhealthy")],
      step: { name: "Compensate", startedAt: STARTED },
    });
    const out = apply(
      { kind: "finished", complete: "False", reason: "RollbackRequired", message: "run rollback" },
      { status, step: COMPENSATE },
    );
    expect(condOf(out.status, "Complete")).toMatchObject({
      status: "False",
      reason: "RollbackRequired",
    });
    expect(out.status.phase).toBe("Failed");
    expect(out.status.completedAt).toBe(NOW.toISOString());
    expect(out.requeueMs).toBeUndefined();
    expect(out.status.history?.at(-1)).toMatchObject({
      name: "Compensate",
      reason: "RollbackRequired",
    });
  });

  it("Plan of a dry run: Complete True/DryRunSucceeded, phase DryRunSucceeded", () => {
    const out = apply(
      { kind: "finished", complete: "True", reason: "DryRunSucceeded", message: "would upgrade" },
      { status: { step: { name: "Plan", startedAt: STARTED } }, step: PLAN },
    );
    expect(out.status.phase).toBe("DryRunSucceeded");
    expect(condOf(out.status, "Complete")?.reason).toBe("DryRunSucceeded");
    expect(condOf(out.status, "Planned")).toBeUndefined();
    expect(out.status.history).toEqual([
      { name: "Plan", startedAt: STARTED, completedAt: NOW_MS, reason: "DryRunSucceeded" },
    ]);
  });

  it("only Plan, Finish and Compensate write a history entry when finishing", () => {
    const out = apply(
      { kind: "finished", complete: "False", reason: "AppNotFound", message: "gone" },
      { status: snapshotting({ step: { name: "Admit", startedAt: STARTED } }), step: ADMIT },
    );
    expect(out.status.history).toEqual([PREVIOUS]);
    expect(condOf(out.status, "Complete")?.status).toBe("False");
    expect(out.status).not.toHaveProperty("step");
  });
});

describe("applyResult: facts and bookkeeping", () => {
  const facts = {
    snapshots: [{ namespace: "shop", name: "data-pg-0-1234abcd", pvcName: "data-pg-0" }],
    commit: { sha: "a".repeat(40), adopted: false },
  };

  it.each([
    { kind: "succeeded", result: { kind: "succeeded", message: "m", facts } },
    { kind: "waiting", result: { kind: "waiting", message: "m", facts } },
    { kind: "failed", result: { kind: "failed", reason: "X", message: "m", facts } },
    {
      kind: "finished",
      result: { kind: "finished", complete: "False", reason: "X", message: "m", facts },
    },
  ] as { kind: string; result: StepResult }[])(
    "$kind merges its facts into status",
    ({ result }) => {
      const out = apply(result);
      expect(out.status.snapshots).toEqual(facts.snapshots);
      expect(out.status.commit).toEqual(facts.commit);
      // What the facts do not mention stays.
      expect(out.status.replicas).toEqual(snapshotting().replicas);
    },
  );

  it("facts replace a field they name", () => {
    const out = apply({
      kind: "succeeded",
      message: "m",
      facts: { replicas: [{ kind: "Deployment", namespace: "shop", name: "web", original: 3 }] },
    });
    expect(out.status.replicas).toEqual([
      { kind: "Deployment", namespace: "shop", name: "web", original: 3 },
    ]);
  });

  it("facts cannot override the computed conditions, phase or observedGeneration", () => {
    const out = apply({
      kind: "succeeded",
      message: "m",
      facts: { phase: "Bogus", observedGeneration: 99, conditions: [] },
    });
    expect(out.status.phase).toBe("Committing");
    expect(out.status.observedGeneration).toBe(3);
    expect(condOf(out.status, "SnapshotsReady")?.status).toBe("True");
  });

  it("replaces a stale phase and observedGeneration", () => {
    const out = apply(
      { kind: "waiting", message: "m" },
      { status: snapshotting({ phase: "Planning", observedGeneration: 1 }), generation: 7 },
    );
    expect(out.status.phase).toBe("Snapshotting");
    expect(out.status.observedGeneration).toBe(7);
    expect(condOf(out.status, "SnapshotsReady")?.observedGeneration).toBe(7);
  });

  it("starts from an empty status", () => {
    const out = apply({ kind: "succeeded", message: "planned" }, { status: {}, step: PLAN });
    expect(out.status.conditions).toEqual([
      {
        type: "Planned",
        status: "True",
        reason: "Succeeded",
        message: "planned",
        lastTransitionTime: NOW_S,
        observedGeneration: 3,
      },
    ]);
    expect(out.status.phase).toBe("Pending");
    expect(out.status.history).toEqual([
      { name: "Plan", startedAt: NOW_MS, completedAt: NOW_MS, reason: "Succeeded" },
    ]);
  });
});

describe("applyResult: the steps that own Complete (Finish, Compensate)", () => {
  const aborting = snapshotting({
    conditions: [cond("Aborting", "True", "DeadlineExceeded")] as RequestStatus["conditions"],
  });

  it("a waiting Compensate keeps the request in flight and shows Compensating", () => {
    const out = apply(
      { kind: "waiting", message: "resuming" },
      { status: aborting, step: COMPENSATE },
    );
    expect(condOf(out.status, "Complete")?.status).toBe("Unknown");
    expect(nextOf(out.status).name).toBe("Compensate");
    expect(out.status.phase).toBe("Compensating");
  });

  it("a waiting Finish does not end the request", () => {
    const out = apply({ kind: "waiting", message: "pruning" }, { step: FINISH });
    expect(condOf(out.status, "Complete")?.status).toBe("Unknown");
    expect(nextOf(out.status).name).not.toBe("Done");
  });

  it("a failed Finish compensates instead of ending", () => {
    const out = apply({ kind: "failed", reason: "Boom", message: "x" }, { step: FINISH });
    expect(condOf(out.status, "Complete")).toBeUndefined();
    expect(nextOf(out.status).name).toBe("Compensate");
  });
});
