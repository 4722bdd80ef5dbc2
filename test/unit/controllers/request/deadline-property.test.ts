// A property test over the pure request machinery: for ManagedApp timeouts drawn at random (what
// the schema accepts, and what an object stored before the bounds may still hold) and handlers
// that wait, throw, progress, succeed or fail at random, a request driven as the runner drives it
// (step start and deadline written before the step runs, applyResult after it) never throws,
// always writes dates, never keeps a timed step past its deadline by more than one wait, and
// always ends Complete. Seeded, so a failure reproduces.
import { describe, expect, it } from "vitest";
import type { RequestStatus } from "../../../../src/api/index.ts";
import { ManagedAppSpec } from "../../../../src/api/managedapp.ts";
import { DURATION_MAX_MS, DURATION_MIN_MS } from "../../../../src/api/fields.ts";
import {
  deadlineAfter,
  isPast,
  stepTimeoutMs,
  type AppTimeouts,
} from "../../../../src/controllers/request/deadlines.ts";
import { applyResult, type StepResult } from "../../../../src/controllers/request/result.ts";
import {
  nextStep,
  ROLLBACK_STEPS,
  UPGRADE_STEPS,
  type StepDef,
  type StepName,
} from "../../../../src/controllers/request/step-table.ts";
import { requestTime } from "../../../../src/controllers/request/time.ts";
import type { Conditions } from "../../../../src/runtime/conditions.ts";

/** mulberry32: a small seeded PRNG, so every run draws the same cases. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const UNITS = ["ns", "us", "µs", "ms", "s", "m", "h"] as const;

/** A Go duration string of 1-3 parts, some of them far beyond any bound. */
function duration(rand: () => number): string {
  const parts = 1 + Math.floor(rand() * 3);
  let text = "";
  for (let i = 0; i < parts; i++) {
    const digits = rand() < 0.1 ? 10 + Math.floor(rand() * 300) : 1 + Math.floor(rand() * 4);
    let n = String(1 + Math.floor(rand() * 9));
    for (let d = 1; d < digits; d++) n += String(Math.floor(rand() * 10));
    if (rand() < 0.2) n += `.${String(Math.floor(rand() * 1000))}`;
    text += `${n}${UNITS[Math.floor(rand() * UNITS.length)] ?? "s"}`;
  }
  return text;
}

const TIMEOUT_KEYS = [
  "suspend",
  "scaleDown",
  "snapshot",
  "commit",
  "fluxApply",
  "scaleUp",
  "health",
  "volumeRestore",
] as const;

/** Timeouts as a ManagedApp may hold them: each key set or not, any duration string. */
function appTimeouts(rand: () => number): AppTimeouts {
  const timeouts: Record<string, string> = {};
  for (const key of TIMEOUT_KEYS) if (rand() < 0.6) timeouts[key] = duration(rand);
  return { timeouts, healthCheckTimeout: rand() < 0.5 ? duration(rand) : undefined };
}

/** What a handler reports; "throw" is an error the runner retries until the deadline. */
type Outcome = StepResult | "throw";

function handler(rand: () => number, step: StepName | "Compensate", progressLeft: number): Outcome {
  const r = rand();
  if (step === "Finish" || step === "Compensate") {
    return r < 0.2
      ? "throw"
      : { kind: "finished", complete: "True", reason: "Succeeded", message: "over" };
  }
  // Steps without a deadline wait on nothing but the API: they end or throw a bounded number of
  // times (the API answers).
  const timed = stepTimeoutMs(step, {}) !== undefined;
  if (!timed) return r < 0.3 ? "throw" : { kind: "succeeded", message: "done" };
  if (r < 0.55) {
    const progressed = progressLeft > 0 && rand() < 0.2;
    return {
      kind: "waiting",
      message: "not yet",
      afterMs: Math.floor(rand() * 30_000),
      ...(progressed ? { progressed: true } : {}),
    };
  }
  if (r < 0.75) return "throw";
  if (r < 0.95) return { kind: "succeeded", message: "done" };
  return { kind: "failed", reason: "Broken", message: "broke" };
}

const RETRY_MS = 5_000;
const MAX_PROGRESS = 3;
const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

interface Run {
  readonly complete: boolean;
  readonly passes: number;
  /** Per timed step: how long it ran past its last deadline. */
  readonly overrun: number;
}

/** Drives one request to its end the way runner.ts does, with a clock that jumps between passes. */
function drive(seed: number, steps: readonly StepDef[], app: AppTimeouts): Run {
  const rand = prng(seed);
  let now = new Date("2026-01-01T00:00:00.000Z");
  let status: RequestStatus = {};
  const conditions = () => (status.conditions ?? []) as Conditions;
  const stepStart = (name: StepName | "Compensate", at: Date) => {
    const timeout = name === "Compensate" ? undefined : stepTimeoutMs(name, app);
    if (timeout !== undefined) {
      expect(timeout).toBeGreaterThanOrEqual(DURATION_MIN_MS);
      expect(timeout).toBeLessThanOrEqual(DURATION_MAX_MS);
    }
    return {
      name,
      startedAt: requestTime(at),
      ...(timeout !== undefined ? { deadline: deadlineAfter(at, timeout) } : {}),
    };
  };
  let overrun = 0;
  let progressLeft = MAX_PROGRESS;
  let untimedThrows = 0;
  for (let pass = 1; pass <= 200_000; pass++) {
    const step = nextStep(steps, conditions());
    if (step.name === "Done") return { complete: true, passes: pass, overrun };
    if (status.step?.name !== step.name) {
      status = { ...status, step: stepStart(step.name, now) };
      progressLeft = MAX_PROGRESS;
    }
    const deadline = status.step?.deadline;
    if (deadline !== undefined) {
      expect(deadline).toMatch(ISO_MS);
      overrun = Math.max(overrun, now.getTime() - Date.parse(deadline));
    }
    let outcome = handler(rand, step.name, progressLeft);
    if (outcome === "throw" && deadline === undefined && ++untimedThrows > 20) {
      outcome = { kind: "succeeded", message: "the API answered" };
    }
    if (outcome === "throw") {
      if (!isPast(deadline, now)) {
        now = new Date(now.getTime() + 1 + Math.floor(rand() * RETRY_MS));
        continue;
      }
      outcome = { kind: "failed", reason: "DeadlineExceeded", message: "kept failing" };
    }
    if (outcome.kind === "waiting" && outcome.progressed) progressLeft--;
    const timeoutMs = step.name === "Compensate" ? undefined : stepTimeoutMs(step.name, app);
    const applied = applyResult({
      steps,
      status,
      step,
      result: outcome,
      now,
      generation: 1,
      timeoutMs,
    });
    status = applied.status;
    if (applied.requeueMs === undefined) return { complete: true, passes: pass, overrun };
    if (applied.requeueMs === 0) {
      const next = nextStep(steps, conditions());
      if (next.name !== "Done") {
        status = { ...status, step: stepStart(next.name, now) };
        progressLeft = MAX_PROGRESS;
      }
    } else {
      // A watch may wake the request sooner than the requeue; time moves on either way.
      now = new Date(now.getTime() + 1 + Math.floor(rand() * applied.requeueMs));
    }
  }
  return { complete: false, passes: 200_000, overrun };
}

describe("no request stays non-terminal past its deadlines", () => {
  const CASES = 400;

  it.each([
    ["UpgradeRequest", UPGRADE_STEPS],
    ["RollbackRequest", ROLLBACK_STEPS],
  ] as const)("%s: %d random apps and handlers each end Complete", (_, steps) => {
    let schemaRejected = 0;
    for (let seed = 1; seed <= CASES; seed++) {
      const app = appTimeouts(prng(seed * 7919));
      // The same timeouts through the schema: what the API would have admitted.
      const parsed = ManagedAppSpec.safeParse({
        gitPath: "apps/a.yaml",
        kustomizationRef: { name: "apps" },
        timeouts: app.timeouts,
        ...(app.healthCheckTimeout ? { healthCheck: { timeout: app.healthCheckTimeout } } : {}),
      });
      if (!parsed.success) schemaRejected++;
      const run = drive(seed, steps, app);
      expect(
        run.complete,
        `seed ${String(seed)}: not Complete after ${String(run.passes)} passes`,
      ).toBe(true);
      // A timed step ends at the first pass after its deadline: at most one wait late.
      expect(run.overrun, `seed ${String(seed)}`).toBeLessThanOrEqual(30_000);
    }
    // Both kinds of input were drawn: values the API admits and values it refuses.
    expect(schemaRejected).toBeGreaterThan(CASES / 10);
    expect(schemaRejected).toBeLessThan(CASES);
  });
});
