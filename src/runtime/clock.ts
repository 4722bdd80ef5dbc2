// Time as a dependency: the queue and the informer take every timestamp and timer from a Clock,
// so tests drive time by hand instead of sleeping.

/** Cancels a timer; calling it after the timer fired, or twice, does nothing. */
export type Cancel = () => void;

export interface Clock {
  now(): Date;
  setTimeout(fn: () => void, ms: number): Cancel;
}

// Node clamps longer delays to 1 ms (with a warning), which would turn a long wait into a spin.
const MAX_TIMER_MS = 2 ** 31 - 1;

export function systemClock(): Clock {
  return {
    now: () => new Date(),
    setTimeout(fn, ms) {
      const timer = setTimeout(fn, Math.min(Math.max(0, ms), MAX_TIMER_MS));
      return () => clearTimeout(timer);
    },
  };
}

/** Resolves after ms on the given clock, or early (without rejecting) when the signal aborts. */
export function wait(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const finish = () => {
      cancel();
      signal.removeEventListener("abort", finish);
      resolve();
    };
    const cancel = clock.setTimeout(finish, ms);
    signal.addEventListener("abort", finish, { once: true });
  });
}
