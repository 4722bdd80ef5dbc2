// Exponential backoff shared by the queue (per key) and the informer (per watch failure).

export interface BackoffOptions {
  readonly baseMs: number;
  readonly maxMs: number;
  /**
   * Fraction of the delay that is taken off at random, so that many keys (or many informers)
   * failing together do not retry in lockstep. 0 disables jitter.
   */
  readonly jitter: number;
}

/**
 * Delay before attempt `failures` (1 for the first failure): baseMs doubling up to maxMs, then
 * shortened by up to `jitter` of itself. `random` returns a number in [0, 1).
 */
export function backoffDelay(opts: BackoffOptions, failures: number, random: () => number): number {
  // Capping the exponent keeps 2 ** n finite however many times a key has failed.
  const exponent = Math.min(Math.max(failures - 1, 0), 52);
  const capped = Math.min(opts.maxMs, opts.baseMs * 2 ** exponent);
  return Math.round(capped * (1 - opts.jitter * random()));
}
