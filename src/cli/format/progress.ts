// Live progress of a request, as pure functions of two successive statuses: which steps finished
// (with their durations from status.history), which step started, when compensation began, and
// the one-line summary a terminal redraws every second.
import { ConditionReason } from "../../api/conditions.ts";
import type { RequestStatus, StepHistoryEntry } from "../../api/request-status.ts";
import { abortingMessage, outcomeOf, type AnyRequest } from "../requests.ts";
import { between, formatDuration } from "./duration.ts";

export type ProgressEvent =
  | { readonly type: "stepDone"; readonly step: StepHistoryEntry }
  | { readonly type: "stepStarted"; readonly name: string }
  | { readonly type: "phase"; readonly phase: string }
  | { readonly type: "aborting"; readonly message: string };

const key = (step: { name: string; startedAt: string }) => `${step.name}@${step.startedAt}`;

/** What changed between two statuses, in the order it happened. */
export function progressEvents(
  before: RequestStatus | undefined,
  after: RequestStatus | undefined,
): ProgressEvent[] {
  const events: ProgressEvent[] = [];
  const seen = new Set((before?.history ?? []).map(key));
  const done = after?.history ?? [];
  for (const step of done) if (!seen.has(key(step))) events.push({ type: "stepDone", step });
  const aborting = abortingMessage(after);
  if (aborting !== undefined && abortingMessage(before) === undefined) {
    events.push({ type: "aborting", message: aborting });
  }
  const finished = outcomeOf(after).state;
  if (finished === "succeeded" || finished === "failed") return events;
  if (after?.phase && after.phase !== before?.phase)
    events.push({ type: "phase", phase: after.phase });
  const step = after?.step;
  const wasStep = before?.step;
  const isNew = step && (wasStep === undefined || key(wasStep) !== key(step));
  if (step && isNew && !done.some((d) => key(d) === key(step))) {
    events.push({ type: "stepStarted", name: step.name });
  }
  return events;
}

const GOOD_REASONS: readonly string[] = [ConditionReason.Succeeded, ConditionReason.NotNeeded];

export function renderEvent(event: ProgressEvent): string {
  switch (event.type) {
    case "stepDone": {
      const { step } = event;
      const took = formatDuration(between(step.startedAt, step.completedAt) ?? 0);
      if (step.reason === ConditionReason.Succeeded) return `✓ ${step.name} ${took}`;
      if (GOOD_REASONS.includes(step.reason)) return `✓ ${step.name} ${took} (${step.reason})`;
      return `✗ ${step.name} ${took} (${step.reason})`;
    }
    case "stepStarted":
      return `→ ${event.name}`;
    case "phase":
      return `phase ${event.phase}`;
    case "aborting":
      return `! aborting: ${event.message}`;
  }
}

/** The redrawn terminal line: phase, current step and how long each has been running. */
export function renderLive(
  status: RequestStatus | undefined,
  startedWatching: Date,
  now: Date,
): string {
  const total = between(status?.startedAt ?? startedWatching.toISOString(), now.toISOString()) ?? 0;
  const step = status?.step;
  if (!step) return `… ${status?.phase ?? "waiting for the controller"} (${formatDuration(total)})`;
  const inStep = between(step.startedAt, now.toISOString()) ?? 0;
  return `… ${status.phase ?? step.name}: ${step.name} ${formatDuration(inStep)} (${formatDuration(total)} in all)`;
}

/** The last line: how the request ended, and where a failure leads (the rollback Cairn started). */
export function renderOutcome(request: AnyRequest): string[] {
  const status = request.status;
  const outcome = outcomeOf(status);
  const what = `${request.kind.toLowerCase()} ${request.metadata.name}`;
  const took = between(status?.startedAt, status?.completedAt);
  const after = took === undefined ? "" : ` in ${formatDuration(took)}`;
  if (outcome.state === "succeeded") {
    const reason = outcome.reason === ConditionReason.Succeeded ? "" : ` (${outcome.reason})`;
    return [`✓ ${what} succeeded${after}${reason}`];
  }
  if (outcome.state === "failed") {
    const lines = [
      `✗ ${what} failed${after}: ${outcome.reason}${outcome.message ? `: ${outcome.message}` : ""}`,
    ];
    const rollback = status?.rollbackRef?.name;
    if (rollback) lines.push(`  Cairn started rollbackrequest ${rollback}`);
    if (outcome.reason === ConditionReason.RollbackRequired) {
      const ns = request.metadata.namespace ? ` -n ${request.metadata.namespace}` : "";
      lines.push(`  roll back with: kubectl cairn rollback ${request.metadata.name}${ns} --watch`);
    }
    return lines;
  }
  return [`${what} has not finished (${status?.phase ?? "Pending"})`];
}
