// The demo's closing summary, as pure functions of the requests it made: one row per request
// (kind, versions, outcome, duration, downtime) and the duration of every step of each, all read
// from status.history as `kubectl cairn history` reads it. Status timestamps have one-second
// resolution, so durations are whole seconds.
import { ConditionReason } from "../src/api/conditions.ts";
import { between } from "../src/cli/format/duration.ts";
import { downtimeMs, recoveryDowntimeMs } from "../src/cli/format/history.ts";
import { renderTable } from "../src/cli/format/table.ts";
import { outcomeOf, requestLabel, type AnyRequest } from "../src/cli/requests.ts";

export interface StepTime {
  readonly name: string;
  readonly ms: number;
  /** The step's reason when it ended: Succeeded, NotNeeded, DeadlineExceeded … */
  readonly reason: string;
}

export interface SummaryRow {
  readonly name: string;
  /** upgrade, upgrade/dry-run, rollback/auto … */
  readonly kind: string;
  /** "1.0.0→1.1.0", or "-" when the request recorded no plan. */
  readonly version: string;
  /** The Complete condition's reason, e.g. Succeeded, DryRunSucceeded, RollbackTriggered. */
  readonly outcome: string;
  readonly succeeded: boolean;
  readonly durationMs: number | undefined;
  /**
   * Workloads stopped until healthy again: ScaleDown's start to HealthCheck's end. An upgrade
   * that failed and was rolled back counts until the end of its rollback's HealthCheck.
   */
  readonly downtimeMs: number | undefined;
  /** The row number (1-based) of the rollback that ended this row's downtime, if not itself. */
  readonly downtimeUntil?: number;
  /** The RollbackRequest Cairn started for this request (status.rollbackRef). */
  readonly rollbackRef?: string;
  readonly steps: readonly StepTime[];
}

export function summaryRow(request: AnyRequest): SummaryRow {
  const status = request.status;
  const outcome = outcomeOf(status);
  const git = status?.plan?.git;
  return {
    name: request.metadata.name,
    kind: requestLabel(request),
    version: git ? `${git.from}→${git.to}` : "-",
    outcome:
      outcome.state === "succeeded" || outcome.state === "failed"
        ? outcome.reason
        : outcome.state === "running"
          ? `Running (${outcome.phase ?? "?"})`
          : "Pending",
    succeeded: outcome.state === "succeeded",
    durationMs: between(status?.startedAt, status?.completedAt),
    downtimeMs: downtimeMs(status),
    ...(status?.rollbackRef ? { rollbackRef: status.rollbackRef.name } : {}),
    steps: (status?.history ?? []).map((h) => ({
      name: h.name,
      ms: between(h.startedAt, h.completedAt) ?? 0,
      reason: h.reason,
    })),
  };
}

/**
 * Oldest first, by when each request started (creation time for one that never started). A
 * request that stopped its workloads and was rolled back by Cairn gets the outage up to the end
 * of that rollback's HealthCheck: the app was not healthy in between.
 */
export function summaryRows(requests: readonly AnyRequest[]): SummaryRow[] {
  const key = (r: AnyRequest) =>
    Date.parse(r.status?.startedAt ?? r.metadata.creationTimestamp ?? "") || 0;
  const sorted = [...requests].sort((a, b) => key(a) - key(b));
  const rows = sorted.map(summaryRow);
  return rows.map((row, i) => {
    if (row.downtimeMs !== undefined || !row.rollbackRef) return row;
    const at = rows.findIndex((r) => r.name === row.rollbackRef);
    const ms = recoveryDowntimeMs(sorted[i]?.status, sorted[at]?.status);
    return ms === undefined ? row : { ...row, downtimeMs: ms, downtimeUntil: at + 1 };
  });
}

/** Whole seconds below ten minutes ("0s", "42s", "1m05s"), then minutes. */
export function formatSeconds(ms: number | undefined): string {
  if (ms === undefined) return "-";
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.round(s / 60)}m`;
}

/** Reasons a step ends with when it did its job. */
const GOOD: readonly string[] = [
  ConditionReason.Succeeded,
  ConditionReason.NotNeeded,
  ConditionReason.DryRunSucceeded,
];

/** A step's cell: its duration, marked when it ended in anything but success. */
function stepCell(steps: readonly StepTime[], name: string): string {
  const runs = steps.filter((s) => s.name === name);
  if (runs.length === 0) return "-";
  const ms = runs.reduce((sum, s) => sum + s.ms, 0);
  const bad = runs.find((s) => !GOOD.includes(s.reason));
  return `${formatSeconds(ms)}${bad ? ` ✗ ${bad.reason}` : ""}`;
}

/** Step names in the order they first ran across the requests. */
export function stepNames(rows: readonly SummaryRow[]): string[] {
  const names: string[] = [];
  for (const row of rows)
    for (const s of row.steps) if (!names.includes(s.name)) names.push(s.name);
  return names;
}

/**
 * Two tables: the requests, then each step's duration per request (columns #1, #2 … in the
 * order of the first table, so the step table stays narrow).
 */
export function renderSummary(rows: readonly SummaryRow[]): string {
  const requests = renderTable(
    ["#", "request", "kind", "version", "outcome", "duration", "downtime"],
    rows.map((r, i) => [
      `${i + 1}`,
      r.name,
      r.kind,
      r.version,
      r.outcome,
      formatSeconds(r.durationMs),
      `${formatSeconds(r.downtimeMs)}${r.downtimeUntil ? ` (until #${r.downtimeUntil} healthy)` : ""}`,
    ]),
    { prose: true },
  );
  const names = stepNames(rows);
  if (names.length === 0) return requests;
  const steps = renderTable(
    ["step", ...rows.map((_, i) => `#${i + 1}`)],
    names.map((name) => [name, ...rows.map((r) => stepCell(r.steps, name))]),
    { prose: true },
  );
  return `${requests}\nStep durations (from status.history):\n${steps}`;
}
