// Per-step deadlines (architecture note, §8). A deadline is an absolute time written to status
// before the step first runs; changing the app's timeouts later does not move a running one.
import type { ManagedApp, Timeouts } from "../../api/index.ts";
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
} as const;

/** Plan, Admit and Finish have no deadline of their own: they wait on nothing but the API. */
const TIMEOUT_OF_STEP: Partial<Record<StepName, keyof typeof DEFAULT_TIMEOUTS_MS>> = {
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

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: SECOND,
  m: MINUTE,
  h: 60 * MINUTE,
};

/** "90s", "5m", "1h30m", "250ms" → milliseconds; undefined for anything else. */
export function parseDuration(text: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const unit = UNIT_MS[m[2] ?? ""] ?? 0;
    total += Number(m[1]) * unit;
    matched = re.lastIndex;
  }
  return matched === text.length && text.length > 0 ? total : undefined;
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
  return parsed ?? DEFAULT_TIMEOUTS_MS[key];
}

export function isPast(deadline: string | undefined, now: Date): boolean {
  return deadline !== undefined && Date.parse(deadline) <= now.getTime();
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
