// How often a waiting step's progress alone is written. A step that waits on Flux sees its
// message change with every transient state (a HelmRelease "not observed yet", "retrying", "not
// observed yet" again within a second), and each change would be a status write; so would the
// first "waiting for …" of every short wait (pods going, snapshots cut, Flux applying). Progress
// alone (the step's condition turning InProgress, or its message changing) is written at most
// once per interval per request; anything else in the status (another reason, a deadline that
// moved, a fact, another step) is written at once. Memory only: a restarted process writes its
// first progress at once.
import { getCondition, type Condition } from "../../runtime/conditions.ts";
import type { RequestStatus } from "../../api/index.ts";
import { statusDelta } from "../../runtime/status-patcher.ts";

/** The shortest time between two writes that change only a waiting step's message. */
export const PROGRESS_WRITE_INTERVAL_MS = 10_000;

export class ProgressWrites {
  readonly #last = new Map<string, number>();

  /** A status write of the request landed at `now` (ms). */
  wrote(key: string, now: number): void {
    this.#last.set(key, now);
  }

  /** Whether the request's last write is recent enough that a message alone may wait. */
  recent(key: string, now: number): boolean {
    const last = this.#last.get(key);
    return last !== undefined && now - last < PROGRESS_WRITE_INTERVAL_MS;
  }

  forget(key: string): void {
    this.#last.delete(key);
  }
}

/**
 * Pure: whether `next` differs from `stored` (the status the API holds) in nothing but the
 * progress of a waiting step: the message of the condition `type`, or that condition's first
 * appearance as InProgress (the step's start and deadline are stored already, so the first
 * "waiting for …" of a short wait need not be a write of its own).
 */
export function onlyProgressChanged(
  stored: RequestStatus,
  next: RequestStatus,
  type: string,
): boolean {
  const before = getCondition(stored.conditions as Condition[] | undefined, type);
  const after = getCondition(next.conditions as Condition[] | undefined, type);
  if (!after || after.reason !== "InProgress") return false;
  if (before && (before.message === after.message || before.reason !== after.reason)) return false;
  const without = (s: RequestStatus): Record<string, unknown> =>
    JSON.parse(
      JSON.stringify({ ...s, conditions: (s.conditions ?? []).filter((c) => c.type !== type) }),
    ) as Record<string, unknown>;
  // Key order ignored: the stored status is the API's JSON, the next one the schema's.
  return Object.keys(statusDelta(without(stored), without(next))).length === 0;
}
