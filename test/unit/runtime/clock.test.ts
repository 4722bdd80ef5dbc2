import { setTimeout as delay } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { backoffDelay } from "../../../src/runtime/backoff.ts";
import { systemClock, wait } from "../../../src/runtime/clock.ts";
import { FakeClock } from "../../fakes/clock.ts";

describe("systemClock", () => {
  it("fires timers and lets them be cancelled", async () => {
    const clock = systemClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push("kept"), 1);
    const cancel = clock.setTimeout(() => fired.push("cancelled"), 1);
    cancel();
    await delay(20);
    expect(fired).toEqual(["kept"]);
    expect(Math.abs(clock.now().getTime() - Date.now())).toBeLessThan(1_000);
  });
});

describe("wait", () => {
  it("resolves after the delay on the given clock", async () => {
    const clock = new FakeClock();
    let resolved = false;
    void wait(clock, 1_000, new AbortController().signal).then(() => (resolved = true));
    await clock.advance(999);
    expect(resolved).toBe(false);
    await clock.advance(1);
    expect(resolved).toBe(true);
  });

  it("resolves early, and drops its timer, when the signal aborts", async () => {
    const clock = new FakeClock();
    const abort = new AbortController();
    const waiting = wait(clock, 60_000, abort.signal);
    expect(clock.pending()).toEqual([60_000]);
    abort.abort();
    await waiting;
    expect(clock.pending()).toEqual([]);
  });
});

describe("FakeClock", () => {
  it("fires due timers in time order, including ones scheduled while advancing", async () => {
    const clock = new FakeClock(new Date("2025-01-01T00:00:00Z"));
    const fired: string[] = [];
    clock.setTimeout(() => fired.push("b@200"), 200);
    clock.setTimeout(() => {
      fired.push("a@100");
      clock.setTimeout(() => fired.push("c@150"), 50);
    }, 100);
    clock.setTimeout(() => fired.push("late@500"), 500);
    await clock.advance(300);
    expect(fired).toEqual(["a@100", "c@150", "b@200"]);
    expect(clock.now().toISOString()).toBe("2025-01-01T00:00:00.300Z");
    expect(clock.pending()).toEqual([200]);
  });
});

describe("backoffDelay", () => {
  it("doubles from the base, caps, and jitters downwards only", () => {
    const opts = { baseMs: 100, maxMs: 1_000, jitter: 0.5 };
    expect([1, 2, 3, 4, 5, 60].map((n) => backoffDelay(opts, n, () => 0))).toEqual([
      100, 200, 400, 800, 1_000, 1_000,
    ]);
    expect(backoffDelay(opts, 1, () => 0.999)).toBe(50);
    expect(backoffDelay(opts, 10_000, () => 0)).toBe(1_000);
  });
});
