// Which Event, if any, a change of the ManagedApp's Ready condition is worth. Pure.
//
// While one of the app's UpgradeRequests or RollbackRequests runs, the app is unready by Cairn's
// own doing: Flux suspended, workloads scaled to zero, pods starting again. Those flips are not
// recorded on the app at all: the request records an Event for each of its steps, and its
// outcome Event lands on the app too, so the app's Events read as one line per request and an
// upgrade costs no write for each flip. A Warning on the app always means something nobody
// asked for.
import type { Condition } from "../../runtime/conditions.ts";
import type { EventType } from "../../runtime/events.ts";
import type { ReadyCondition } from "./evaluate.ts";
import { OPERATION_IN_PROGRESS } from "./operation-ready.ts";

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
  if (!changed || ready.status === "Unknown" || input.operationRunning) return undefined;
  if (ready.status === "True")
    // Ready again after a request: its outcome Event on the app said so already.
    return before?.reason === OPERATION_IN_PROGRESS
      ? undefined
      : { type: "Normal", reason: "Ready" };
  return { type: "Warning", reason: ready.reason };
}
