// `kubectl cairn describe`: one request as kubectl describe shows objects, section by section:
// what was asked, how it went (steps with their times, conditions) and its events.
import { Kind } from "../../api/group.ts";
import { outcomeOf, requestLabel, type AnyRequest } from "../requests.ts";
import { between, formatDuration } from "./duration.ts";
import { renderEventsTable, type EventRow } from "./events.ts";
import { renderPlanBody, renderPreflight } from "./plan.ts";
import { renderTable } from "./table.ts";

function field(label: string, value: string): string {
  return `${`${label}:`.padEnd(14)}${value}`;
}

function indent(text: string): string[] {
  return text
    .trimEnd()
    .split("\n")
    .map((l) => `  ${l}`);
}

function specLines(request: AnyRequest, app: string | undefined): string[] {
  const lines = [field("App", app ?? "-")];
  if (request.kind === Kind.UpgradeRequest) {
    const t = request.spec.targetVersion;
    const target = [
      ...(t?.chart ? [`chart ${t.chart}`] : []),
      ...(t?.images ?? []).map((i) => `image ${i.name}=${i.tag}`),
    ];
    lines.push(field("Target", target.length ? target.join(", ") : "the app's available update"));
    if (request.spec.skipSnapshot) lines.push(field("Snapshots", "skipped (--skip-snapshot)"));
  } else {
    lines.push(field("Rolls back", request.spec.upgradeRequestRef.name));
  }
  if (request.spec.dryRun) lines.push(field("Dry run", "yes"));
  return lines;
}

export function renderDescribe(
  request: AnyRequest,
  app: string | undefined,
  events: readonly EventRow[],
  now: Date,
): string {
  const status = request.status;
  const outcome = outcomeOf(status);
  const out = [
    field("Name", request.metadata.name),
    field("Namespace", request.metadata.namespace ?? ""),
    field("Kind", `${request.kind} (${requestLabel(request)})`),
    ...specLines(request, app),
    field("Created", request.metadata.creationTimestamp ?? "-"),
    field("Started", status?.startedAt ?? "-"),
    field("Completed", status?.completedAt ?? "-"),
  ];
  const took = between(status?.startedAt, status?.completedAt ?? now.toISOString());
  if (took !== undefined) out.push(field("Duration", formatDuration(took)));
  if (outcome.state === "succeeded" || outcome.state === "failed") {
    out.push(field("Outcome", `${outcome.state} (${outcome.reason})`));
    if (outcome.message) out.push(field("Message", outcome.message));
  } else {
    out.push(
      field("Phase", outcome.state === "running" ? (outcome.phase ?? "Running") : "Pending"),
    );
    if (status?.step) {
      out.push(
        field(
          "Step",
          `${status.step.name} (for ${formatDuration(between(status.step.startedAt, now.toISOString()) ?? 0)})`,
        ),
      );
    }
  }
  if (status?.rollbackRef) out.push(field("Rollback", status.rollbackRef.name));
  if (status?.commit) out.push(field("Commit", JSON.stringify(status.commit)));
  if (status?.plan) out.push("Plan:", ...renderPlanBody(status.plan));
  if (status?.preflight?.length) out.push("Preflight:", ...renderPreflight(status.preflight));
  const history = status?.history ?? [];
  out.push("Steps:");
  if (history.length === 0) out.push("  (none finished yet)");
  else {
    out.push(
      ...indent(
        renderTable(
          ["step", "started", "duration", "result"],
          history.map((s) => [
            s.name,
            s.startedAt,
            formatDuration(between(s.startedAt, s.completedAt) ?? 0),
            s.reason,
          ]),
        ),
      ),
    );
  }
  const conditions = status?.conditions ?? [];
  out.push("Conditions:");
  if (conditions.length === 0) out.push("  (none)");
  else {
    out.push(
      ...indent(
        renderTable(
          ["type", "status", "reason", "message"],
          conditions.map((c) => [c.type, c.status, c.reason, c.message]),
          { freeTextLast: true },
        ),
      ),
    );
  }
  out.push("Events:");
  if (events.length === 0) out.push("  (none)");
  else out.push(...indent(renderEventsTable(events, now)));
  return `${out.join("\n")}\n`;
}
