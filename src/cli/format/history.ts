// `kubectl cairn history`: one row per request of an app, newest first, with how it ended, how
// long it took and how long the app was down. A failed upgrade's downtime lasts until the app was
// healthy again: through the rollback that repaired it, the same figure the controller observes
// in cairn_app_downtime_seconds (src/metrics.ts, recoveryDowntimeSeconds).
import { Kind } from "../../api/group.ts";
import type { RequestStatus } from "../../api/request-status.ts";
import { outcomeOf, requestLabel, type AnyRequest } from "../requests.ts";
import { between, formatDuration } from "./duration.ts";
import { renderTable, type TableStyle } from "./table.ts";

/** The controller's step names that bound the outage: workloads go down, then come back healthy. */
export const DOWNTIME_FROM_STEP = "ScaleDown";
export const DOWNTIME_TO_STEP = "HealthCheck";

export interface HistoryEntry {
  readonly name: string;
  readonly kind: string;
  readonly from: string | null;
  readonly to: string | null;
  /** pending, running, succeeded or failed. */
  readonly outcome: string;
  /** The Complete condition's reason, or the phase of a running request. */
  readonly reason: string | null;
  readonly message: string | null;
  readonly startedAt: string | null;
  readonly completedAt: string | null;
  readonly durationSeconds: number | null;
  readonly downtimeSeconds: number | null;
  /** The rollback whose successful health check ended this failed upgrade's downtime. */
  readonly recoveredBy: string | null;
}

/** The end of the last HealthCheck that succeeded: the app was healthy again. */
function healthyAt(status: RequestStatus | undefined): string | undefined {
  return status?.history?.findLast((s) => s.name === DOWNTIME_TO_STEP && s.reason === "Succeeded")
    ?.completedAt;
}

function scaledDownAt(status: RequestStatus | undefined): string | undefined {
  return status?.history?.find((s) => s.name === DOWNTIME_FROM_STEP)?.startedAt;
}

/**
 * From the start of the first ScaleDown to the end of the last HealthCheck that succeeded; unknown
 * while the app has not been healthy since (a health check that failed left it down).
 */
export function downtimeMs(status: RequestStatus | undefined): number | undefined {
  return between(scaledDownAt(status), healthyAt(status));
}

/**
 * A failed upgrade's downtime: from its ScaleDown's start to the end of the successful health
 * check of the rollback that undid it; unknown when either is missing.
 */
export function recoveryDowntimeMs(
  upgrade: RequestStatus | undefined,
  rollback: RequestStatus | undefined,
): number | undefined {
  return between(scaledDownAt(upgrade), healthyAt(rollback));
}

/** The real rollback of this upgrade that succeeded, among the app's requests. */
export function recoveringRollback(
  upgrade: AnyRequest,
  requests: readonly AnyRequest[],
): AnyRequest | undefined {
  if (upgrade.kind !== Kind.UpgradeRequest) return undefined;
  return requests.find(
    (r) =>
      r.kind === Kind.RollbackRequest &&
      !r.spec.dryRun &&
      r.spec.upgradeRequestRef.name === upgrade.metadata.name &&
      outcomeOf(r.status).state === "succeeded",
  );
}

function versions(request: AnyRequest): { from: string | null; to: string | null } {
  const git = request.status?.plan?.git;
  if (git) return { from: git.from, to: git.to };
  if (request.kind === Kind.UpgradeRequest) {
    const target = request.spec.targetVersion;
    const to = target?.chart ?? target?.images?.map((i) => `${i.name}:${i.tag}`).join(",") ?? null;
    return { from: null, to };
  }
  return { from: null, to: null };
}

const seconds = (ms: number | undefined) => (ms === undefined ? null : Math.round(ms / 1000));

/**
 * One row. `others` are the app's other requests, where the rollback of a failed upgrade is
 * found: the upgrade's downtime then ends with the rollback's health check.
 */
export function historyEntry(
  request: AnyRequest,
  now: Date,
  others: readonly AnyRequest[] = [],
): HistoryEntry {
  const status = request.status;
  const own = downtimeMs(status);
  const rollback = own === undefined ? recoveringRollback(request, others) : undefined;
  const recovered = rollback ? recoveryDowntimeMs(status, rollback.status) : undefined;
  const outcome = outcomeOf(status);
  const finished = outcome.state === "succeeded" || outcome.state === "failed";
  // A running request's duration so far; a finished one without completedAt has none to show.
  const end = finished ? status?.completedAt : now.toISOString();
  return {
    name: request.metadata.name,
    kind: requestLabel(request),
    ...versions(request),
    outcome: outcome.state,
    reason: finished
      ? outcome.reason
      : outcome.state === "running"
        ? (outcome.phase ?? null)
        : null,
    message: finished ? outcome.message || null : null,
    startedAt: status?.startedAt ?? null,
    completedAt: status?.completedAt ?? null,
    durationSeconds: seconds(between(status?.startedAt, end)),
    downtimeSeconds: seconds(own ?? recovered),
    recoveredBy: recovered === undefined ? null : (rollback?.metadata.name ?? null),
  };
}

function outcomeCell(entry: HistoryEntry): string {
  if (entry.outcome === "pending") return "Pending";
  if (entry.outcome === "running") return `Running${entry.reason ? `(${entry.reason})` : ""}`;
  return entry.reason ?? entry.outcome;
}

const durationCell = (s: number | null) => (s === null ? "-" : formatDuration(s * 1000));

export function renderHistoryTable(
  entries: readonly HistoryEntry[],
  style: TableStyle = {},
): string {
  return renderTable(
    ["name", "kind", "version", "outcome", "duration", "downtime"],
    entries.map((e) => [
      e.name,
      e.kind,
      e.from === null && e.to === null ? "-" : `${e.from ?? "?"}→${e.to ?? "?"}`,
      outcomeCell(e),
      durationCell(e.durationSeconds),
      durationCell(e.downtimeSeconds),
    ]),
    style,
  );
}
