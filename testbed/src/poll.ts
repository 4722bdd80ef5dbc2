// Waiting from outside for a state of the cluster: the harness, the tests and the fixture
// capture poll (they observe a system they do not drive); Cairn's own code never does this.
import { setTimeout as delay } from "node:timers/promises";

export interface PollOptions {
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
}

/**
 * Calls fn until it returns a value other than undefined; errors count as "not yet". On timeout
 * the message says what never happened, with the last error seen.
 */
export async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  { timeoutMs = 60_000, intervalMs = 100 }: PollOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const why = last instanceof Error ? `: ${last.message}` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await delay(intervalMs);
  }
}
