// What a reconcile asks of the queue. Exactly one case per pass: a handler never returns an
// error and a delay at once, so the controller interprets every result in one switch.

export type Outcome =
  /** Forget the key's failures and wait for the next change. */
  | { readonly kind: "done" }
  /** Forget the failures and look again after a delay: polling. */
  | { readonly kind: "requeue"; readonly afterMs: number }
  /** A transient failure: back off per key and try again. */
  | { readonly kind: "retry"; readonly error: Error }
  /** Nothing will get better by retrying: record why and stop until the next change. */
  | { readonly kind: "terminal"; readonly reason: string; readonly message: string };

export function done(): Outcome {
  return { kind: "done" };
}

export function requeueAfter(ms: number): Outcome {
  return { kind: "requeue", afterMs: Math.max(0, ms) };
}

/** Accepts anything thrown, so callers can pass a caught value straight through. */
export function retry(error: unknown): Outcome {
  return { kind: "retry", error: toError(error) };
}

export function terminal(reason: string, message: string): Outcome {
  return { kind: "terminal", reason, message };
}

export function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
