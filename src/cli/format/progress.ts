// Live progress of a request, as pure functions of two successive statuses: which steps finished
// (with their durations from status.history), what the request waits for, when compensation
// began, and the one-line summary a terminal redraws every second. One permanent line per step
// (when it ends), so an 11-step upgrade fits a 30-row screen; the step that runs is on the live
// line only.
import { ConditionReason } from "../../api/conditions.ts";
import type { RequestStatus, StepHistoryEntry } from "../../api/request-status.ts";
import { Kind } from "../../api/group.ts";
import { abortingMessage, outcomeOf, type AnyRequest } from "../requests.ts";
import { between, formatDuration } from "./duration.ts";

export type ProgressEvent =
  | { readonly type: "stepDone"; readonly step: StepHistoryEntry }
  | { readonly type: "waiting"; readonly message: string }
  | { readonly type: "aborting"; readonly message: string };

/**
 * What the request waits for, as the controller says it (a step condition with reason Waiting:
 * "waiting for UpgradeRequest web-upgrade-a, which holds the app"); undefined when it is not.
 */
export function waitingMessage(status: RequestStatus | undefined): string | undefined {
  const waiting = status?.conditions?.find(
    (c) => c.reason === ConditionReason.Waiting && c.status !== "True",
  );
  return waiting?.message || undefined;
}

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
  const waiting = waitingMessage(after);
  if (waiting !== undefined && waiting !== waitingMessage(before)) {
    events.push({ type: "waiting", message: waiting });
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
    case "waiting":
      return `… ${event.message}`;
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
  const waiting = waitingMessage(status);
  if (waiting !== undefined) return `… ${waiting} (${formatDuration(total)})`;
  if (!step) return `… ${status?.phase ?? "waiting for the controller"} (${formatDuration(total)})`;
  const inStep = between(step.startedAt, now.toISOString()) ?? 0;
  return `… ${status.phase ?? step.name}: ${step.name} ${formatDuration(inStep)} (${formatDuration(total)} in all)`;
}

/** Reasons a rollback is refused with (the controller's), each changing nothing. */
const REFUSALS: readonly string[] = [
  "UpgradeNotFound",
  "RollbackOfRollback",
  "UpgradeIsDryRun",
  "UpgradeNotCommitted",
  "AlreadyRolledBack",
  "RollbackInProgress",
  "LaterUpgrade",
  ConditionReason.InvalidSpec,
  ConditionReason.AppNotFound,
  ConditionReason.ReferenceDenied,
];

function committed(request: AnyRequest): boolean {
  return (
    request.status?.conditions?.some((c) => c.type === "Committed" && c.status === "True") ?? false
  );
}

/** After a failure: what happened to the app, in plain words, and what to do next. */
export function failureAdvice(request: AnyRequest, reason: string): string[] {
  const ns = request.metadata.namespace ? ` -n ${request.metadata.namespace}` : "";
  const name = request.metadata.name;
  const details = `  details: kubectl cairn describe ${name}${ns}`;
  if (REFUSALS.includes(reason)) {
    return ["  Nothing was changed: the request was refused for the reason above.", details];
  }
  if (request.spec.dryRun) {
    return ["  Nothing was changed (a dry run). Fix what it names, then plan again.", details];
  }
  if (request.kind === Kind.RollbackRequest) {
    if (reason === ConditionReason.RestoreIncomplete) {
      return [
        "  The app stays frozen on purpose (Flux suspended): a volume could not be restored and",
        "  Flux would recreate it empty. describe names each PVC and the snapshot holding its data.",
        `  Fix the cause and roll back again (kubectl cairn rollback ${request.spec.upgradeRequestRef.name}${ns}),`,
        "  or restore by hand and then kubectl cairn unfreeze (docs/rollback.md).",
        details,
      ];
    }
    return [
      "  The rollback stopped; Cairn resumed Flux and put the replicas back. Fix the cause above",
      `  and roll back again: kubectl cairn rollback ${request.spec.upgradeRequestRef.name}${ns} --watch`,
      details,
    ];
  }
  const rollback = request.status?.rollbackRef?.name;
  if (reason === ConditionReason.RollbackTriggered && rollback) {
    return [
      `  The upgrade failed after its Git commit: Cairn started rollbackrequest ${rollback} to undo it, data included.`,
      `  follow it: kubectl cairn watch ${rollback}${ns}`,
    ];
  }
  if (reason === ConditionReason.RollbackRequired) {
    return [
      "  The upgrade failed after its Git commit; the app runs the new version, unhealthy.",
      `  roll back with: kubectl cairn rollback ${name}${ns} --watch`,
      details,
    ];
  }
  if (!committed(request)) {
    return [
      "  The upgrade stopped before its Git commit: Cairn resumed Flux and put the replicas",
      "  back, so the app runs as before. Fix the cause above, then upgrade again.",
      details,
    ];
  }
  return [details];
}

/** The one line for stderr when a watched request failed. */
export function errorLine(request: AnyRequest): string | undefined {
  const outcome = outcomeOf(request.status);
  if (outcome.state !== "failed") return undefined;
  const message = outcome.message ? `: ${outcome.message}` : "";
  return `error: ${request.kind.toLowerCase()} ${request.metadata.name} failed: ${outcome.reason}${message}`;
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
    return [
      `✗ ${what} failed${after}: ${outcome.reason}${outcome.message ? `: ${outcome.message}` : ""}`,
      ...failureAdvice(request, outcome.reason),
    ];
  }
  return [`${what} has not finished (${status?.phase ?? "Pending"})`];
}
