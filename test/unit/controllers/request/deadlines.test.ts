import { describe, expect, it } from "vitest";
import {
  boundedTimeoutMs,
  deadlineAfter,
  DEFAULT_TIMEOUTS_MS,
  isPast,
  parseDuration,
  stepTimeoutMs,
  timeoutsFromApp,
} from "../../../../src/controllers/request/deadlines.ts";
import type { ManagedApp } from "../../../../src/api/index.ts";
import { DURATION_MAX_MS, DURATION_MIN_MS } from "../../../../src/api/fields.ts";
import type { StepName } from "../../../../src/controllers/request/step-table.ts";

const S = 1000;
const M = 60 * S;
const H = 60 * M;

describe("parseDuration", () => {
  it.each([
    ["90s", 90 * S],
    ["5m", 5 * M],
    ["1h30m", H + 30 * M],
    ["250ms", 250],
    ["1h", H],
    ["2h0m5s", 2 * H + 5 * S],
    ["1m30s", 90 * S],
    ["1.5h", 1.5 * H],
    ["0.5s", 500],
    ["0s", 0],
    ["1s250ms", 1250],
    ["1m500us", M + 0.5],
    ["1500µs", 1.5],
    ["2000000ns", 2],
  ])("%s is %d ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    "",
    "5x",
    "m5",
    "5",
    "5 m",
    " 5m",
    "5m ",
    "5m5",
    "1d",
    "-5m",
    "5M",
    "ms",
    "1h30",
    "5m!",
  ])("%j is not a duration", (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it("gives the same answer twice (no state left in the sticky regex)", () => {
    expect(parseDuration("1h30m")).toBe(parseDuration("1h30m"));
    expect(parseDuration("5x")).toBeUndefined();
    expect(parseDuration("90s")).toBe(90 * S);
  });
});

describe("stepTimeoutMs", () => {
  it("has the documented defaults", () => {
    expect(DEFAULT_TIMEOUTS_MS).toEqual({
      suspend: 2 * M,
      scaleDown: 5 * M,
      snapshot: 30 * M,
      commit: 2 * M,
      fluxApply: 10 * M,
      scaleUp: 5 * M,
      health: 5 * M,
      volumeRestore: 30 * M,
      approval: 24 * 60 * M,
    });
  });

  it.each([
    ["Suspend", 2 * M],
    ["ScaleDown", 5 * M],
    ["Snapshot", 30 * M],
    ["Commit", 2 * M],
    ["RestoreVolumes", 30 * M],
    ["Revert", 2 * M],
    ["Resume", 10 * M],
    ["AwaitFlux", 10 * M],
    ["ScaleUp", 5 * M],
    ["HealthCheck", 5 * M],
    ["Approve", 24 * 60 * M],
  ] as [StepName, number][])("%s defaults to %d ms", (step, ms) => {
    expect(stepTimeoutMs(step, {})).toBe(ms);
    expect(stepTimeoutMs(step, { timeouts: undefined, healthCheckTimeout: undefined })).toBe(ms);
  });

  it("gives Approve the app's timeouts.approval", () => {
    expect(stepTimeoutMs("Approve", { timeouts: { approval: "2h" } })).toBe(120 * M);
  });

  it("gives Plan the time Flux may take to apply, to wait out a reconcile in flight", () => {
    expect(stepTimeoutMs("Plan", {})).toBe(DEFAULT_TIMEOUTS_MS.fluxApply);
    expect(stepTimeoutMs("Plan", { timeouts: { fluxApply: "3m" } })).toBe(3 * M);
  });

  it.each(["Admit", "Finish"] as StepName[])("%s has no deadline", (step) => {
    expect(stepTimeoutMs(step, {})).toBeUndefined();
    const everything = {
      suspend: "1s",
      scaleDown: "1s",
      snapshot: "1s",
      commit: "1s",
      fluxApply: "1s",
      scaleUp: "1s",
      health: "1s",
      volumeRestore: "1s",
    };
    expect(stepTimeoutMs(step, { timeouts: everything, healthCheckTimeout: "1s" })).toBeUndefined();
  });

  it.each([
    ["Suspend", { suspend: "30s" }, 30 * S],
    ["ScaleDown", { scaleDown: "10m" }, 10 * M],
    ["Snapshot", { snapshot: "1h" }, H],
    ["Commit", { commit: "45s" }, 45 * S],
    ["Revert", { commit: "45s" }, 45 * S],
    ["RestoreVolumes", { volumeRestore: "2h" }, 2 * H],
    ["Resume", { fluxApply: "3m" }, 3 * M],
    ["AwaitFlux", { fluxApply: "3m" }, 3 * M],
    ["ScaleUp", { scaleUp: "1m30s" }, 90 * S],
    ["HealthCheck", { health: "15m" }, 15 * M],
  ] as [StepName, Record<string, string>, number][])(
    "%s takes the app's override %j",
    (step, timeouts, ms) => {
      expect(stepTimeoutMs(step, { timeouts })).toBe(ms);
    },
  );

  it("an override applies only to its own steps", () => {
    const app = { timeouts: { scaleDown: "1m", snapshot: "1h" } };
    expect(stepTimeoutMs("ScaleDown", app)).toBe(M);
    expect(stepTimeoutMs("ScaleUp", app)).toBe(5 * M);
    expect(stepTimeoutMs("Snapshot", app)).toBe(H);
    expect(stepTimeoutMs("RestoreVolumes", app)).toBe(30 * M);
  });

  it("uses healthCheck.timeout for HealthCheck when timeouts.health is not set", () => {
    expect(stepTimeoutMs("HealthCheck", { healthCheckTimeout: "10m" })).toBe(10 * M);
    expect(stepTimeoutMs("HealthCheck", { timeouts: {}, healthCheckTimeout: "10m" })).toBe(10 * M);
    expect(
      stepTimeoutMs("HealthCheck", { timeouts: { scaleUp: "1m" }, healthCheckTimeout: "10m" }),
    ).toBe(10 * M);
  });

  it("prefers timeouts.health over healthCheck.timeout", () => {
    expect(
      stepTimeoutMs("HealthCheck", { timeouts: { health: "2m" }, healthCheckTimeout: "10m" }),
    ).toBe(2 * M);
  });

  it("healthCheck.timeout does not affect other steps", () => {
    expect(stepTimeoutMs("ScaleUp", { healthCheckTimeout: "1h" })).toBe(5 * M);
    expect(stepTimeoutMs("AwaitFlux", { healthCheckTimeout: "1h" })).toBe(10 * M);
  });

  it("keeps a stored override within the API's bounds (objects stored before the bounds)", () => {
    expect(stepTimeoutMs("Commit", { timeouts: { commit: "9999999999h" } })).toBe(168 * H);
    expect(stepTimeoutMs("Suspend", { timeouts: { suspend: "0s" } })).toBe(S);
    expect(stepTimeoutMs("HealthCheck", { healthCheckTimeout: "9".repeat(400) + "h" })).toBe(
      168 * H,
    );
  });

  it("falls back to the default when an override does not parse", () => {
    expect(stepTimeoutMs("Snapshot", { timeouts: { snapshot: "soon" } })).toBe(30 * M);
    expect(stepTimeoutMs("HealthCheck", { healthCheckTimeout: "later" })).toBe(5 * M);
  });
});

describe("timeoutsFromApp", () => {
  const app = (spec: { timeouts?: Record<string, string>; health?: string }) =>
    ({
      spec: { timeouts: spec.timeouts, healthCheck: { timeout: spec.health } },
    }) as unknown as ManagedApp;

  it("reads the request's app, and its health check timeout", async () => {
    const timeouts = timeoutsFromApp(() => app({ timeouts: { scaleDown: "1m" }, health: "2m" }));
    expect(await timeouts("ScaleDown", null)).toBe(M);
    expect(await timeouts("HealthCheck", null)).toBe(2 * M);
    expect(await timeouts("Admit", null)).toBeUndefined();
  });

  it("falls back to the defaults when the app is gone", async () => {
    const timeouts = timeoutsFromApp(() => undefined);
    expect(await timeouts("Snapshot", null)).toBe(DEFAULT_TIMEOUTS_MS.snapshot);
  });
});

describe("isPast", () => {
  const now = new Date("2025-03-01T12:00:30.500Z");

  it("is false without a deadline", () => {
    expect(isPast(undefined, now)).toBe(false);
  });

  it.each([
    ["2025-03-01T12:00:00Z", true],
    ["2025-03-01T12:00:30.500Z", true],
    ["2025-03-01T12:00:30Z", true],
    ["2025-03-01T12:00:31Z", false],
    ["2025-03-02T00:00:00Z", false],
  ])("deadline %s is past: %s", (deadline, past) => {
    expect(isPast(deadline, now)).toBe(past);
  });

  it("treats a deadline that is not a date as past (it can never be met)", () => {
    expect(isPast("soon", now)).toBe(true);
  });
});

describe("deadline arithmetic is total", () => {
  const now = new Date("2025-03-01T12:00:00.000Z");

  it("bounds a timeout to 1s..168h, NaN and infinities included", () => {
    expect(boundedTimeoutMs(5 * M)).toBe(5 * M);
    expect(boundedTimeoutMs(0)).toBe(DURATION_MIN_MS);
    expect(boundedTimeoutMs(-1)).toBe(DURATION_MIN_MS);
    expect(boundedTimeoutMs(Number.POSITIVE_INFINITY)).toBe(DURATION_MAX_MS);
    expect(boundedTimeoutMs(Number.NEGATIVE_INFINITY)).toBe(DURATION_MIN_MS);
    expect(boundedTimeoutMs(Number.NaN)).toBe(DURATION_MAX_MS);
    expect(DURATION_MAX_MS).toBe(168 * H);
  });

  it("gives a deadline for any number, never throwing", () => {
    expect(deadlineAfter(now, 90 * S)).toBe("2025-03-01T12:01:30.000Z");
    expect(deadlineAfter(now, 9999999999 * H)).toBe("2025-03-08T12:00:00.000Z");
    expect(deadlineAfter(now, Number.NaN)).toBe("2025-03-08T12:00:00.000Z");
    expect(deadlineAfter(now, -5)).toBe("2025-03-01T12:00:01.000Z");
    // Without the bound, the same arithmetic throws: this is what the runner used to do.
    expect(() => new Date(now.getTime() + 9999999999 * H).toISOString()).toThrow(RangeError);
  });
});
