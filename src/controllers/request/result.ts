// What a step handler reports, and the pure function that turns a report into the next status
// (step 7 of a pass in docs/architecture.md): conditions, step history, deadline and phase are
// computed here and nowhere else, so handlers never copy-paste "mark failed, emit event, return".
import { ConditionReason, ConditionType, type RequestStatus } from "../../api/index.ts";
import { setCondition, type Condition } from "../../runtime/conditions.ts";
import { deadlineAfter, isPast } from "./deadlines.ts";
import { phaseOf, type NextStep, type StepDef, type StepName } from "./step-table.ts";
import { requestTime } from "./time.ts";

export { requestTime };

export interface StepEvent {
  readonly type: "Normal" | "Warning";
  readonly reason: string;
  readonly message: string;
}

/** Facts a step learned that later steps need (plan, replicas, snapshots, commit …). */
export type Facts = Partial<RequestStatus>;

export type StepResult =
  /** The step is done: its condition turns True and the next step starts in a fresh pass. */
  | {
      readonly kind: "succeeded";
      readonly reason?: "Succeeded" | "NotNeeded";
      readonly message: string;
      readonly facts?: Facts;
      readonly event?: StepEvent;
      /**
       * Later steps this one found nothing to do for (Plan: no approval asked for): their
       * conditions turn True in the same write, so they cost no pass of their own.
       */
      readonly passes?: readonly PassedStep[];
    }
  /** Not yet: look again after afterMs (a watch usually wakes the request sooner). */
  | {
      readonly kind: "waiting";
      readonly message: string;
      readonly reason?: "InProgress" | "Waiting" | "AwaitingApproval";
      readonly afterMs?: number;
      readonly facts?: Facts;
      /** The step moved forward since the last pass: the deadline restarts (progress-aware). */
      readonly progressed?: boolean;
    }
  /** The step failed for good: Aborting=True, and Compensate runs next. */
  | {
      readonly kind: "failed";
      readonly reason: string;
      readonly message: string;
      readonly facts?: Facts;
    }
  /** The request is over (Finish, Compensate, a dry run's Plan): Complete is set. */
  | {
      readonly kind: "finished";
      readonly complete: "True" | "False";
      readonly reason: string;
      readonly message: string;
      readonly facts?: Facts;
      readonly event?: StepEvent;
    };

/** A later step's condition, set True by the step that made it unnecessary. */
export interface PassedStep {
  readonly condition: ConditionType;
  readonly reason: string;
  readonly message: string;
}

export const DEFAULT_WAIT_MS = 5_000;
/** After a deadline, before the pass that fails the step: timers may fire a little early. */
const DEADLINE_SLACK_MS = 100;

export interface ApplyInput<N extends StepName> {
  readonly steps: readonly StepDef<N>[];
  readonly status: RequestStatus;
  readonly step: Exclude<NextStep<N>, { name: "Done" }>;
  readonly result: StepResult;
  readonly now: Date;
  readonly generation: number;
  /** The step's timeout, to restart the deadline on progress. */
  readonly timeoutMs: number | undefined;
}

export interface Applied {
  readonly status: RequestStatus;
  /** After how long to look again; undefined: the request is finished. */
  readonly requeueMs: number | undefined;
  /** The result after deadline handling (a waiting step past its deadline has failed). */
  readonly result: StepResult;
}

function historyWith(status: RequestStatus, name: string, now: Date, reason: string) {
  const started = status.step?.name === name ? status.step.startedAt : requestTime(now);
  const entry = { name, startedAt: started, completedAt: requestTime(now), reason };
  // A step that failed and is retried by Compensate appears once per end; keep the newest 32.
  return [...(status.history ?? []), entry].slice(-32);
}

/** Pure: the next status from the current one and the handler's report. */
export function applyResult<N extends StepName>(input: ApplyInput<N>): Applied {
  const { status, step, now, generation } = input;
  let result = input.result;
  if (result.kind === "waiting" && !result.progressed && isPast(status.step?.deadline, now)) {
    result = {
      kind: "failed",
      reason: ConditionReason.DeadlineExceeded,
      message: `${step.name} did not finish by its deadline ${status.step?.deadline ?? ""}: ${result.message}`,
      ...(result.facts ? { facts: result.facts } : {}),
    };
  }
  const set = (
    list: Condition[] | undefined,
    type: string,
    s: Condition["status"],
    reason: string,
    message: string,
  ) => setCondition(list, { type, status: s, reason, message }, now, generation);
  let conditions = (status.conditions ?? []) as Condition[];
  let next: RequestStatus = { ...status, ...(result.facts ?? {}) };
  let requeueMs: number | undefined;
  switch (result.kind) {
    case "succeeded": {
      const reason = result.reason ?? ConditionReason.Succeeded;
      conditions = set(conditions, step.condition, "True", reason, result.message);
      for (const passed of result.passes ?? [])
        conditions = set(conditions, passed.condition, "True", passed.reason, passed.message);
      next = { ...next, history: historyWith(status, step.name, now, reason) };
      delete next.step;
      requeueMs = 0;
      break;
    }
    case "waiting": {
      conditions = set(
        conditions,
        step.condition,
        // Finish and Compensate own Complete: False there would read as "over".
        step.condition === ConditionType.Complete ? "Unknown" : "False",
        result.reason ?? ConditionReason.InProgress,
        result.message,
      );
      if (result.progressed && input.timeoutMs !== undefined && next.step) {
        next = {
          ...next,
          step: { ...next.step, deadline: deadlineAfter(now, input.timeoutMs) },
        };
      }
      requeueMs = result.afterMs ?? DEFAULT_WAIT_MS;
      // A long wait (Approve's) is looked at again by its deadline at the latest, so that it
      // fails then and not at the next wake-up.
      const deadline = Date.parse(next.step?.deadline ?? "");
      if (!Number.isNaN(deadline))
        requeueMs = Math.min(requeueMs, Math.max(0, deadline - now.getTime()) + DEADLINE_SLACK_MS);
      break;
    }
    case "failed": {
      if (step.condition !== ConditionType.Complete)
        conditions = set(conditions, step.condition, "False", result.reason, result.message);
      conditions = set(conditions, ConditionType.Aborting, "True", result.reason, result.message);
      next = { ...next, history: historyWith(status, step.name, now, result.reason) };
      delete next.step;
      requeueMs = 0;
      break;
    }
    case "finished": {
      conditions = set(
        conditions,
        ConditionType.Complete,
        result.complete,
        result.reason,
        result.message,
      );
      if (step.name === "Compensate" || step.name === "Finish" || step.name === "Plan")
        next = { ...next, history: historyWith(status, step.name, now, result.reason) };
      delete next.step;
      next = { ...next, completedAt: requestTime(now) };
      requeueMs = undefined;
      break;
    }
  }
  next = {
    ...next,
    conditions,
    observedGeneration: generation,
    phase: phaseOf(input.steps, conditions),
  };
  return { status: next, requeueMs, result };
}
