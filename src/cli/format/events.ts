// Kubernetes Events about an app or a request, as kubectl events shows them: oldest first, how
// long ago each was last seen. Events written through events.k8s.io/v1 (as Cairn writes them)
// read back through core/v1 with their time in eventTime or series.lastObservedTime.
import type { KubeObject } from "../../kube/client.ts";
import { between, formatDuration } from "./duration.ts";
import { renderTable, type TableStyle } from "./table.ts";

export interface EventRow {
  readonly lastSeen: string | null;
  readonly type: string;
  readonly reason: string;
  readonly object: string;
  readonly count: number;
  readonly message: string;
}

interface RawEvent {
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  lastTimestamp?: string | null;
  eventTime?: string | null;
  firstTimestamp?: string | null;
  series?: { count?: number; lastObservedTime?: string };
  involvedObject?: { kind?: string; name?: string };
}

export function eventRow(obj: KubeObject): EventRow {
  const e = obj as unknown as RawEvent;
  const created = obj.metadata["creationTimestamp"];
  const lastSeen =
    e.series?.lastObservedTime ??
    e.lastTimestamp ??
    e.eventTime ??
    e.firstTimestamp ??
    (typeof created === "string" ? created : null);
  return {
    lastSeen,
    type: e.type ?? "Normal",
    reason: e.reason ?? "",
    object: `${(e.involvedObject?.kind ?? "").toLowerCase()}/${e.involvedObject?.name ?? ""}`,
    count: e.series?.count ?? e.count ?? 1,
    message: (e.message ?? "").replace(/\s+/g, " ").trim(),
  };
}

/** Oldest first, as kubectl events lists them. */
export function sortEvents(rows: readonly EventRow[]): EventRow[] {
  return [...rows].sort((a, b) => (a.lastSeen ?? "").localeCompare(b.lastSeen ?? ""));
}

function ago(at: string | null, now: Date): string {
  const ms = between(at ?? undefined, now.toISOString());
  return ms === undefined ? "-" : formatDuration(Math.max(0, ms));
}

/** The message is the last column and the only one that keeps its spaces. */
export function renderEventsTable(
  rows: readonly EventRow[],
  now: Date,
  style: TableStyle = {},
): string {
  return renderTable(
    ["last seen", "type", "reason", "object", "count", "message"],
    rows.map((r) => [ago(r.lastSeen, now), r.type, r.reason, r.object, String(r.count), r.message]),
    { ...style, freeTextLast: true },
  );
}
