// Which Event, if any, a change of the ManagedApp's Ready condition is worth. Pure.
//
// While one of the app's UpgradeRequests or RollbackRequests runs, the app is unready by Cairn's
// own doing: Flux suspended, workloads scaled to zero, pods starting again. Those flips are
// recorded as Normal Events, so that a Warning always means something nobody asked for (the
// request records its own Warning if it fails).
import type { Condition } from "../../runtime/conditions.ts";
import type { EventType } from "../../runtime/events.ts";
import type { ReadyCondition } from "./evaluate.ts";

export interface ReadyEvent {
  readonly type: EventType;
  readonly reason: string;
}

export function readyEvent(input: {
  readonly before: Pick<Condition, "status" | "reason"> | undefined;
  readonly ready: ReadyCondition;
  /** An UpgradeRequest or RollbackRequest of the app is running. */
  readonly operationRunning: boolean;
}): ReadyEvent | undefined {
  const { before, ready } = input;
  // A flip, or a new reason for being unready (a corrupt release Secret where the HelmRelease
  // was failing before, say), is worth an Event; the same finding again is not.
  const changed =
    before?.status !== ready.status || (ready.status === "False" && before.reason !== ready.reason);
  if (!changed || ready.status === "Unknown") return undefined;
  if (ready.status === "True") return { type: "Normal", reason: "Ready" };
  return { type: input.operationRunning ? "Normal" : "Warning", reason: ready.reason };
}
