// `kubectl cairn status`: one row per app, from the app's status and its unfinished requests.
import { ConditionType } from "../../api/conditions.ts";
import type { ManagedApp } from "../../api/managedapp.ts";
import { outcomeOf, requestLabel, type AnyRequest } from "../requests.ts";
import { between, formatDuration } from "./duration.ts";
import { waitingMessage } from "./progress.ts";
import { renderTable, type TableStyle } from "./table.ts";

export interface Operation {
  readonly kind: string;
  readonly name: string;
  /** The controller's display phase; "Pending" before it has touched the request. */
  readonly phase: string;
  readonly step?: string;
  /** How long the current step has been running, in ms. */
  readonly stepElapsedMs?: number;
  /** What it waits for, as the controller says it ("waiting for UpgradeRequest x, which holds the app"). */
  readonly waiting?: string;
}

export interface AppSummary {
  readonly namespace: string;
  readonly name: string;
  readonly version: string | null;
  /** Why the version could not be read (the VersionResolved condition is False), or null. */
  readonly versionProblem: { readonly reason: string; readonly message: string } | null;
  /** "Ready", or the Ready condition's reason when it is not True; "Unknown" without one. */
  readonly health: string;
  readonly healthMessage: string | null;
  readonly availableUpdate: string | null;
  readonly operations: readonly Operation[];
  readonly lastUpgrade: {
    readonly name: string;
    readonly version: string | null;
    readonly outcome: string;
  } | null;
}

function versionProblem(app: ManagedApp): AppSummary["versionProblem"] {
  const c = app.status?.conditions?.find((x) => x.type === "VersionResolved");
  return c?.status === "False" ? { reason: c.reason, message: c.message } : null;
}

function health(app: ManagedApp): { health: string; message: string | null } {
  const ready = app.status?.conditions?.find((c) => c.type === ConditionType.Ready);
  if (!ready) return { health: "Unknown", message: null };
  if (ready.status === "True") return { health: "Ready", message: ready.message || null };
  return { health: ready.reason, message: ready.message || null };
}

/** `requests` are the app's, newest first; the unfinished ones are its running operations. */
export function summarizeApp(
  app: ManagedApp,
  requests: readonly AnyRequest[],
  now: Date,
): AppSummary {
  const operations = requests.flatMap((request): Operation[] => {
    const outcome = outcomeOf(request.status);
    if (outcome.state === "succeeded" || outcome.state === "failed") return [];
    const step = request.status?.step;
    const elapsed = between(step?.startedAt, now.toISOString());
    const waiting = waitingMessage(request.status);
    return [
      {
        kind: requestLabel(request),
        name: request.metadata.name,
        phase: (outcome.state === "running" ? outcome.phase : undefined) ?? "Pending",
        ...(step ? { step: step.name } : {}),
        ...(elapsed !== undefined ? { stepElapsedMs: elapsed } : {}),
        ...(waiting !== undefined ? { waiting } : {}),
      },
    ];
  });
  const { health: healthText, message } = health(app);
  const last = app.status?.lastUpgrade;
  return {
    namespace: app.metadata.namespace ?? "",
    name: app.metadata.name,
    version: app.status?.currentVersion ?? null,
    versionProblem: versionProblem(app),
    health: healthText,
    healthMessage: message,
    availableUpdate: app.status?.availableUpdate ?? null,
    operations: operations.reverse(),
    lastUpgrade: last
      ? { name: last.name, version: last.version ?? null, outcome: last.outcome }
      : null,
  };
}

export function describeOperation(op: Operation): string {
  const step = op.step
    ? ` (${op.step}${op.stepElapsedMs !== undefined ? ` ${formatDuration(op.stepElapsedMs)}` : ""})`
    : "";
  return `${op.kind} ${op.name}: ${op.phase}${step}`;
}

/** "Snapshot(2m)": the running step and for how long; the phase before the first step. */
export function stepCell(op: Operation): string {
  // "waiting for UpgradeRequest web-upgrade-a, which holds the app" → "waits-for:web-upgrade-a"
  const holder = op.waiting && /waiting for \S+ ([a-z0-9-]+)/.exec(op.waiting)?.[1];
  if (holder) return `waits-for:${holder}`;
  if (!op.step) return op.phase;
  return `${op.step}${op.stepElapsedMs !== undefined ? `(${formatDuration(op.stepElapsedMs)})` : ""}`;
}

export function renderStatusTable(
  apps: readonly AppSummary[],
  withNamespace: boolean,
  style: TableStyle = {},
): string {
  const headers = [
    "name",
    "version",
    "health",
    "update",
    "operation",
    "step",
    "queued",
    "last upgrade",
  ];
  const rows = apps.map((app) => {
    const [first, ...others] = app.operations;
    const last = app.lastUpgrade
      ? `${app.lastUpgrade.outcome}${app.lastUpgrade.version ? `/${app.lastUpgrade.version}` : ""}`
      : "-";
    // The last known version stands while it cannot be read; the reason says so.
    const version = `${app.version ?? "-"}${app.versionProblem ? `(${app.versionProblem.reason})` : ""}`;
    return [
      app.name,
      version,
      app.health,
      app.availableUpdate ?? "-",
      first ? first.name : "-",
      first ? stepCell(first) : "-",
      String(others.length),
      last,
    ];
  });
  return withNamespace
    ? renderTable(
        ["namespace", ...headers],
        rows.map((row, i) => [apps[i]?.namespace ?? "", ...row]),
        style,
      )
    : renderTable(headers, rows, style);
}
