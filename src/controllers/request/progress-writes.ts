// How often a waiting step's progress message alone is written. A step that waits on Flux sees
// its message change with every transient state (a HelmRelease "not observed yet", "retrying",
// "not observed yet" again within a second), and each change would be a status write. A change
// of the message alone is written at most once per interval per request; anything else in the
// status (the condition's status or reason, a deadline that moved, a fact, another step) is
// written at once. Memory only: a restarted process writes its first message at once.
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
 * message of the condition `type`.
 */
export function onlyMessageChanged(
  stored: RequestStatus,
  next: RequestStatus,
  type: string,
): boolean {
  const before = getCondition(stored.conditions as Condition[] | undefined, type);
  const after = getCondition(next.conditions as Condition[] | undefined, type);
  if (!before || !after || before.message === after.message) return false;
  const blank = (s: RequestStatus): Record<string, unknown> =>
    JSON.parse(
      JSON.stringify({
        ...s,
        conditions: (s.conditions ?? []).map((c) => (c.type === type ? { ...c, message: "" } : c)),
      }),
    ) as Record<string, unknown>;
  // Key order ignored: the stored status is the API's JSON, the next one the schema's.
  return Object.keys(statusDelta(blank(stored), blank(next))).length === 0;
}
