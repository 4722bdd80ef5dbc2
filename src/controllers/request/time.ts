// How a request writes its own times.

/**
 * A request's own times (start, end, each step's start, end and deadline), with milliseconds:
 * requests are listed in the order they started, a quick dry run and the request after it can
 * start within one second, and "B started after A finished" must hold at every precision.
 * Conditions keep metav1.Time's whole seconds.
 */
export function requestTime(date: Date): string {
  return date.toISOString();
}
