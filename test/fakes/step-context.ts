// A StepContext for calling one step handler directly: `save` merges facts into the status the
// way the runner does (and keeps each save for assertions), `now` is a fixed clock.
import type { RequestStatus } from "../../src/api/index.ts";
import type { Facts } from "../../src/controllers/request/result.ts";
import type { StepContext } from "../../src/controllers/request/runner.ts";

export interface TestStepContext<R> extends StepContext<R> {
  /** Every save, in order. */
  readonly saved: Facts[];
}

export function stepContext<R>(
  request: R,
  status: RequestStatus = {},
  now: Date = new Date("2026-01-01T00:00:00Z"),
  earlier: readonly string[] = [],
): TestStepContext<R> {
  let current: RequestStatus = structuredClone(status);
  const saved: Facts[] = [];
  return {
    request,
    status: () => current,
    save: (facts) => {
      saved.push(structuredClone(facts));
      current = { ...current, ...facts };
      return Promise.resolve();
    },
    now: () => now,
    log: () => undefined,
    signal: new AbortController().signal,
    earlier,
    saved,
  };
}
