// Per-step deadlines (docs/architecture.md, "The phase machine"). A deadline is an absolute
// time written to status before the step first runs; changing the app's timeouts later does not
// move a running one.
import type { ManagedApp, Timeouts } from "../../api/index.ts";
import { DURATION_MAX_MS, DURATION_MIN_MS, durationMs } from "../../api/fields.ts";
import { requestTime } from "./time.ts";
import type { StepName } from "./step-table.ts";

const SECOND = 1000;
const MINUTE = 60 * SECOND;

/** The defaults; each is overridable per ManagedApp (spec.timeouts). */
export const DEFAULT_TIMEOUTS_MS = {
  suspend: 2 * MINUTE,
  scaleDown: 5 * MINUTE,
  snapshot: 30 * MINUTE,
  commit: 2 * MINUTE,
  fluxApply: 10 * MINUTE,
  scaleUp: 5 * MINUTE,
  health: 5 * MINUTE,
  volumeRestore: 30 * MINUTE,
  approval: 24 * 60 * MINUTE,
} as const;

/**
 * Admit and Finish have no deadline of their own: Admit waits for the request that holds the app
 * (which has deadlines of its own), Finish on nothing but the API. Plan waits for the app's Flux
 * objects to settle (a routine reconcile in flight) for as long as Flux may take to apply; its
 * waits on another request (a rollback's upgrade writing its end) restart it.
 */
const TIMEOUT_OF_STEP: Partial<Record<StepName, keyof typeof DEFAULT_TIMEOUTS_MS>> = {
  Plan: "fluxApply",
  Approve: "approval",
  Suspend: "suspend",
  ScaleDown: "scaleDown",
  Snapshot: "snapshot",
  Commit: "commit",
  RestoreVolumes: "volumeRestore",
  Revert: "commit",
  Resume: "fluxApply",
  AwaitFlux: "fluxApply",
  ScaleUp: "scaleUp",
  HealthCheck: "health",
};

/** "90s", "5m", "1h30m", "250ms" → milliseconds; undefined for anything else. */
export function parseDuration(text: string): number | undefined {
  return durationMs(text);
}

/**
 * A timeout within the API's bounds. The CRD rejects anything outside them, but an object stored
 * before the bounds existed is not validated again on read, and no input may make the runner
 * throw (a deadline of "9999999999h" from now is not a date).
 */
export function boundedTimeoutMs(ms: number): number {
  if (Number.isNaN(ms)) return DURATION_MAX_MS;
  return Math.min(DURATION_MAX_MS, Math.max(DURATION_MIN_MS, ms));
}

/** The deadline `timeoutMs` after now, as status carries it; total for any number. */
export function deadlineAfter(now: Date, timeoutMs: number): string {
  return requestTime(new Date(now.getTime() + boundedTimeoutMs(timeoutMs)));
}

export interface AppTimeouts {
  readonly timeouts?: Timeouts | undefined;
  /** spec.healthCheck.timeout; spec.timeouts.health wins when both are set. */
  readonly healthCheckTimeout?: string | undefined;
}

/** How long the step may take, from the app's settings or the defaults; undefined: no limit. */
export function stepTimeoutMs(step: StepName, app: AppTimeouts): number | undefined {
  const key = TIMEOUT_OF_STEP[step];
  if (!key) return undefined;
  const configured = app.timeouts?.[key] ?? (key === "health" ? app.healthCheckTimeout : undefined);
  const parsed = configured !== undefined ? parseDuration(configured) : undefined;
  return parsed !== undefined ? boundedTimeoutMs(parsed) : DEFAULT_TIMEOUTS_MS[key];
}

/** Whether the deadline has passed; one that is not a date has (it can never be met). */
export function isPast(deadline: string | undefined, now: Date): boolean {
  if (deadline === undefined) return false;
  const at = Date.parse(deadline);
  return Number.isNaN(at) || at <= now.getTime();
}

/**
 * A request machine's `timeoutMs`: the step's timeout from the request's ManagedApp (or the
 * defaults when the app is gone), for both request kinds.
 */
export function timeoutsFromApp<C>(
  appOf: (ctx: C) => ManagedApp | undefined,
): (step: StepName, ctx: C) => Promise<number | undefined> {
  return (step, ctx) => {
    const app = appOf(ctx);
    return Promise.resolve(
      stepTimeoutMs(step, {
        timeouts: app?.spec.timeouts,
        healthCheckTimeout: app?.spec.healthCheck.timeout,
      }),
    );
  };
}
