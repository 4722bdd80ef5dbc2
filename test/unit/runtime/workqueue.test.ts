import { describe, expect, it } from "vitest";
import {
  WorkQueue,
  WorkQueueShutdownError,
  type WorkQueueOptions,
} from "../../../src/runtime/workqueue.ts";
import { deferred, flush, until, type Deferred } from "../../fakes/async.ts";
import { FakeClock } from "../../fakes/clock.ts";

/** A queue whose runs are recorded and, while `block` is set, wait for the test to release them. */
function harness(opts: Partial<WorkQueueOptions> = {}) {
  const clock = new FakeClock();
  const queue = new WorkQueue({ clock, random: () => 0, ...opts });
  const runs: string[] = [];
  const gates = new Map<string, Deferred<void>[]>();
  const signals: AbortSignal[] = [];
  let running = 0;
  let maxRunning = 0;
  const perKey = new Map<string, number>();
  let maxPerKey = 0;
  const state = { block: false };
  queue.start(async (key, signal) => {
    runs.push(key);
    signals.push(signal);
    running++;
    maxRunning = Math.max(maxRunning, running);
    perKey.set(key, (perKey.get(key) ?? 0) + 1);
    maxPerKey = Math.max(maxPerKey, perKey.get(key) ?? 0);
    try {
      if (state.block) {
        const gate = deferred();
        gates.set(key, [...(gates.get(key) ?? []), gate]);
        await gate.promise;
      }
    } finally {
      running--;
      perKey.set(key, (perKey.get(key) ?? 1) - 1);
    }
  });
  const release = async (key: string) => {
    const gate = gates.get(key)?.shift();
    if (!gate) throw new Error(`no run of ${key} is waiting`);
    gate.resolve();
    await flush();
  };
  return {
    clock,
    queue,
    runs,
    signals,
    state,
    release,
    maxRunning: () => maxRunning,
    maxPerKey: () => maxPerKey,
  };
}

describe("WorkQueue", () => {
  it("gives one run for several adds of a key before it runs", async () => {
    const { queue, runs } = harness();
    queue.add("ns/a");
    queue.add("ns/a");
    queue.add("ns/a");
    queue.add("ns/b");
    await flush();
    expect(runs).toEqual(["ns/a", "ns/b"]);
    expect(queue.stats()).toMatchObject({ adds: 4, depth: 0, inFlight: 0 });
  });

  it("keeps keys added before start until start, then runs them once", async () => {
    const clock = new FakeClock();
    const queue = new WorkQueue({ clock });
    queue.add("ns/a");
    queue.add("ns/a");
    await flush();
    expect(queue.stats().depth).toBe(1);
    const runs: string[] = [];
    queue.start((key) => {
      runs.push(key);
      return Promise.resolve();
    });
    await flush();
    expect(runs).toEqual(["ns/a"]);
    expect(() => queue.start(() => Promise.resolve())).toThrow(/already been started/);
  });

  it("runs at most one run per key at a time, even with spare workers", async () => {
    const h = harness({ workers: 4 });
    h.state.block = true;
    h.queue.add("ns/a");
    await flush();
    expect(h.runs).toEqual(["ns/a"]);
    // Adds while the run is blocked must not start a second, parallel run of the same key.
    h.queue.add("ns/a");
    await flush();
    h.queue.add("ns/a");
    await flush();
    expect(h.runs).toEqual(["ns/a"]);
    expect(h.queue.stats()).toMatchObject({ inFlight: 1, depth: 0 });
    // Another key uses a spare worker meanwhile.
    h.queue.add("ns/b");
    await flush();
    expect(h.runs).toEqual(["ns/a", "ns/b"]);
    expect(h.queue.stats().inFlight).toBe(2);
    await h.release("ns/a");
    await until("the dirty key runs again", () => h.runs.length === 3);
    expect(h.runs).toEqual(["ns/a", "ns/b", "ns/a"]);
    await h.release("ns/a");
    await h.release("ns/b");
    expect(h.maxPerKey()).toBe(1);
    expect(h.queue.stats()).toMatchObject({ inFlight: 0, depth: 0 });
  });

  it("re-runs a key added during its run exactly once, and not at all otherwise", async () => {
    const h = harness();
    h.state.block = true;
    h.queue.add("ns/a");
    await flush();
    h.queue.add("ns/a");
    h.queue.add("ns/a");
    await h.release("ns/a");
    await until("the dirty re-run", () => h.runs.length === 2);
    await h.release("ns/a");
    await flush();
    await flush();
    expect(h.runs).toEqual(["ns/a", "ns/a"]);
    expect(h.queue.stats()).toMatchObject({ inFlight: 0, depth: 0 });
  });

  it("never runs more distinct keys at once than it has workers", async () => {
    const h = harness({ workers: 2 });
    h.state.block = true;
    for (const k of ["a", "b", "c", "d"]) h.queue.add(k);
    await flush();
    expect(h.runs).toEqual(["a", "b"]);
    expect(h.queue.stats()).toMatchObject({ inFlight: 2, depth: 2 });
    await h.release("a");
    await until("c starts", () => h.runs.length === 3);
    expect(h.runs).toEqual(["a", "b", "c"]);
    await h.release("b");
    await h.release("c");
    await until("d starts", () => h.runs.length === 4);
    await h.release("d");
    expect(h.maxRunning()).toBe(2);
  });

  it("addAfter runs the key when the delay has passed", async () => {
    const { clock, queue, runs } = harness();
    queue.addAfter("ns/a", 1_000);
    await clock.advance(999);
    expect(runs).toEqual([]);
    expect(queue.stats().waiting).toBe(1);
    await clock.advance(1);
    expect(runs).toEqual(["ns/a"]);
    expect(queue.stats().waiting).toBe(0);
  });

  it("addAfter keeps the earliest pending time: a later delay does not postpone it", async () => {
    const { clock, queue, runs } = harness();
    queue.addAfter("ns/a", 1_000);
    queue.addAfter("ns/a", 5_000);
    await clock.advance(1_000);
    expect(runs).toEqual(["ns/a"]);
    await clock.advance(10_000);
    expect(runs).toEqual(["ns/a"]);
  });

  it("addAfter keeps the earliest pending time: an earlier delay replaces a later one", async () => {
    const { clock, queue, runs } = harness();
    queue.addAfter("ns/a", 5_000);
    queue.addAfter("ns/a", 1_000);
    expect(clock.pending()).toEqual([1_000]);
    await clock.advance(1_000);
    expect(runs).toEqual(["ns/a"]);
    await clock.advance(10_000);
    expect(runs).toEqual(["ns/a"]);
  });

  it("addAfter with no delay adds at once", async () => {
    const { queue, runs } = harness();
    queue.addAfter("ns/a", 0);
    await flush();
    expect(runs).toEqual(["ns/a"]);
  });

  it("backs off per key, doubling from the base up to the cap", async () => {
    const { clock, queue, runs } = harness({ backoff: { baseMs: 1_000, maxMs: 8_000, jitter: 0 } });
    const delays = [1, 2, 3, 4, 5, 6].map(() => queue.addRateLimited("ns/a"));
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
    expect(queue.failures("ns/a")).toBe(6);
    expect(queue.stats().rateLimitedAdds).toBe(6);
    // The first delay is the earliest pending time, so the key runs after 1 s.
    await clock.advance(1_000);
    expect(runs).toEqual(["ns/a"]);
    // Another key starts from the base delay: backoff is per key.
    expect(queue.addRateLimited("ns/b")).toBe(1_000);
  });

  it("defaults to 1 s doubling to 5 min", () => {
    const { queue } = harness({ random: () => 0 });
    const delays = Array.from({ length: 10 }, () => queue.addRateLimited("ns/a"));
    expect(delays.slice(0, 3)).toEqual([1_000, 2_000, 4_000]);
    expect(delays.at(-2)).toBe(256_000);
    expect(delays.at(-1)).toBe(300_000);
  });

  it("jitters a backoff downwards by at most the jitter fraction", () => {
    const { queue } = harness({
      random: () => 0.5,
      backoff: { baseMs: 1_000, maxMs: 60_000, jitter: 0.2 },
    });
    expect(queue.addRateLimited("ns/a")).toBe(900);
    expect(queue.addRateLimited("ns/a")).toBe(1_800);
  });

  it("runs a rate-limited key when its backoff expires", async () => {
    const { clock, queue, runs } = harness({ backoff: { baseMs: 1_000, maxMs: 8_000, jitter: 0 } });
    queue.addRateLimited("ns/a");
    await clock.advance(999);
    expect(runs).toEqual([]);
    await clock.advance(1);
    expect(runs).toEqual(["ns/a"]);
    queue.addRateLimited("ns/a");
    await clock.advance(1_999);
    expect(runs).toEqual(["ns/a"]);
    await clock.advance(1);
    expect(runs).toEqual(["ns/a", "ns/a"]);
  });

  it("forget resets the backoff to the base delay", () => {
    const { queue } = harness({ backoff: { baseMs: 1_000, maxMs: 60_000, jitter: 0 } });
    queue.addRateLimited("ns/a");
    queue.addRateLimited("ns/a");
    expect(queue.addRateLimited("ns/a")).toBe(4_000);
    queue.forget("ns/a");
    expect(queue.failures("ns/a")).toBe(0);
    expect(queue.addRateLimited("ns/a")).toBe(1_000);
  });

  it("shutdown aborts the in-flight runs and resolves once they return", async () => {
    const clock = new FakeClock();
    const queue = new WorkQueue({ clock, workers: 2 });
    const seen: AbortSignal[] = [];
    queue.start(
      (_key, signal) =>
        new Promise<void>((resolve) => {
          seen.push(signal);
          signal.addEventListener("abort", () => resolve(), { once: true });
        }),
    );
    queue.add("ns/a");
    queue.add("ns/b");
    queue.addAfter("ns/c", 1_000);
    await flush();
    expect(queue.stats().inFlight).toBe(2);
    const result = await queue.shutdown(5_000);
    expect(result).toEqual({ drained: true, abandoned: [] });
    expect(seen.map((s) => s.aborted)).toEqual([true, true]);
    expect(seen[0]?.reason).toBeInstanceOf(WorkQueueShutdownError);
    expect(queue.shuttingDown).toBe(true);
    // Nothing more runs: not the delayed key, not new adds.
    queue.add("ns/d");
    await clock.advance(10_000);
    expect(seen).toHaveLength(2);
    expect(queue.stats()).toMatchObject({ inFlight: 0, depth: 0, waiting: 0 });
  });

  it("shutdown stops taking queued work", async () => {
    const h = harness({ workers: 1 });
    h.state.block = true;
    h.queue.add("a");
    h.queue.add("b");
    await flush();
    const shutdown = h.queue.shutdown(5_000);
    await h.release("a");
    expect(await shutdown).toEqual({ drained: true, abandoned: [] });
    await flush();
    expect(h.runs).toEqual(["a"]);
  });

  it("shutdown gives up on runs that ignore the abort after the bound", async () => {
    const clock = new FakeClock();
    const queue = new WorkQueue({ clock });
    queue.start(() => new Promise<void>(() => undefined));
    queue.add("ns/stuck");
    await flush();
    let result: unknown;
    void queue.shutdown(2_000).then((r) => (result = r));
    await clock.advance(1_999);
    expect(result).toBeUndefined();
    await clock.advance(1);
    expect(result).toEqual({ drained: false, abandoned: ["ns/stuck"] });
  });

  it("shutdown with nothing in flight resolves at once", async () => {
    const { queue } = harness();
    expect(await queue.shutdown(1_000)).toEqual({ drained: true, abandoned: [] });
    expect(() => queue.start(() => Promise.resolve())).toThrow(WorkQueueShutdownError);
  });

  it("reports queue latency and run duration through its hooks", async () => {
    const clock = new FakeClock();
    const waited: [string, number][] = [];
    const ran: [string, number][] = [];
    const queue = new WorkQueue({
      clock,
      hooks: {
        onDequeue: (key, ms) => waited.push([key, ms]),
        onRunDone: (key, ms) => ran.push([key, ms]),
      },
    });
    queue.add("ns/a");
    await clock.advance(250);
    const gate = deferred();
    queue.start(() => gate.promise);
    await flush();
    expect(waited).toEqual([["ns/a", 250]]);
    await clock.advance(40);
    gate.resolve();
    await flush();
    expect(ran).toEqual([["ns/a", 40]]);
  });

  it("keeps going when the process function rejects, and reports it", async () => {
    const clock = new FakeClock();
    const errors: [string, unknown][] = [];
    const queue = new WorkQueue({
      clock,
      hooks: { onProcessError: (key, err) => errors.push([key, err]) },
    });
    const runs: string[] = [];
    const boom = new Error("boom");
    queue.start((key) => {
      runs.push(key);
      return key === "bad" ? Promise.reject(boom) : Promise.resolve();
    });
    queue.add("bad");
    queue.add("good");
    await flush();
    await flush();
    expect(runs).toEqual(["bad", "good"]);
    expect(errors).toEqual([["bad", boom]]);
    expect(queue.stats().inFlight).toBe(0);
  });
});
