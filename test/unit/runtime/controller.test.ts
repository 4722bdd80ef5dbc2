import { describe, expect, it } from "vitest";
import { KubeError } from "../../../src/kube/errors.ts";
import { Controller, type ControllerOptions } from "../../../src/runtime/controller.ts";
import type { LogLevel } from "../../../src/runtime/log.ts";
import { done, requeueAfter, retry, terminal, type Outcome } from "../../../src/runtime/outcome.ts";
import { WorkQueue } from "../../../src/runtime/workqueue.ts";
import { deferred, flush } from "../../fakes/async.ts";
import { FakeClock } from "../../fakes/clock.ts";

interface LogLine {
  readonly level: LogLevel;
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

/** A controller whose reconcile answers from a script of outcomes (or throws), one per call. */
function harness(
  script: (Outcome | Error)[],
  extra: Partial<Pick<ControllerOptions, "onTerminal" | "onOutcome">> = {},
) {
  const clock = new FakeClock();
  const queue = new WorkQueue({
    clock,
    random: () => 0,
    backoff: { baseMs: 1_000, maxMs: 60_000 },
  });
  const calls: string[] = [];
  const logs: LogLine[] = [];
  const controller = new Controller({
    name: "test",
    queue,
    reconcile: (key) => {
      calls.push(key);
      const next = script.shift() ?? done();
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
    },
    log: (level, message, fields = {}) => logs.push({ level, message, fields }),
    ...extra,
  });
  controller.start();
  return { clock, queue, controller, calls, logs };
}

describe("outcome constructors", () => {
  it("build each case of the union", () => {
    expect(done()).toEqual({ kind: "done" });
    expect(requeueAfter(5_000)).toEqual({ kind: "requeue", afterMs: 5_000 });
    expect(requeueAfter(-1)).toEqual({ kind: "requeue", afterMs: 0 });
    const err = new Error("x");
    expect(retry(err)).toEqual({ kind: "retry", error: err });
    const wrapped = retry("plain string");
    expect(wrapped.kind === "retry" && wrapped.error).toBeInstanceOf(Error);
    expect(terminal("Invalid", "bad spec")).toEqual({
      kind: "terminal",
      reason: "Invalid",
      message: "bad spec",
    });
  });
});

describe("Controller", () => {
  it("done forgets the key's failures and does not run it again", async () => {
    const h = harness([new Error("flaky"), done()]);
    h.controller.enqueue("ns/a");
    await flush();
    expect(h.queue.failures("ns/a")).toBe(1);
    await h.clock.advance(1_000);
    expect(h.calls).toEqual(["ns/a", "ns/a"]);
    expect(h.queue.failures("ns/a")).toBe(0);
    await h.clock.advance(600_000);
    expect(h.calls).toHaveLength(2);
  });

  it("requeue forgets the failures and runs the key again after the delay", async () => {
    const h = harness([new Error("flaky"), requeueAfter(30_000), done()]);
    h.controller.enqueue("ns/a");
    await flush();
    await h.clock.advance(1_000);
    expect(h.calls).toHaveLength(2);
    expect(h.queue.failures("ns/a")).toBe(0);
    await h.clock.advance(29_999);
    expect(h.calls).toHaveLength(2);
    await h.clock.advance(1);
    expect(h.calls).toHaveLength(3);
  });

  it("requeue with no delay runs the key once more straight after", async () => {
    const h = harness([requeueAfter(0), done()]);
    h.controller.enqueue("ns/a");
    await flush();
    await flush();
    expect(h.calls).toEqual(["ns/a", "ns/a"]);
  });

  it("retry backs off per key, doubling, and logs the error", async () => {
    const boom = new Error("api unavailable");
    const h = harness([retry(boom), retry(boom), retry(boom), done()]);
    h.controller.enqueue("ns/a");
    await flush();
    expect(h.calls).toHaveLength(1);
    await h.clock.advance(1_000);
    expect(h.calls).toHaveLength(2);
    await h.clock.advance(1_999);
    expect(h.calls).toHaveLength(2);
    await h.clock.advance(1);
    expect(h.calls).toHaveLength(3);
    await h.clock.advance(4_000);
    expect(h.calls).toHaveLength(4);
    const warnings = h.logs.filter((l) => l.level === "warn");
    expect(warnings).toHaveLength(3);
    expect(warnings[0]?.fields).toMatchObject({
      controller: "test",
      key: "ns/a",
      outcome: "retry",
      retryInMs: 1_000,
      err: boom,
    });
    expect(warnings[2]?.fields).toMatchObject({ retryInMs: 4_000, failures: 3 });
  });

  it("treats a thrown exception as retry", async () => {
    const h = harness([new Error("thrown"), done()]);
    h.controller.enqueue("ns/a");
    await flush();
    expect(h.queue.failures("ns/a")).toBe(1);
    expect(h.logs.find((l) => l.level === "warn")?.fields["err"]).toEqual(new Error("thrown"));
    await h.clock.advance(1_000);
    expect(h.calls).toHaveLength(2);
  });

  it("terminal forgets the key, records it, and never retries", async () => {
    const recorded: [string, string, string][] = [];
    const h = harness([new Error("flaky"), terminal("InvalidSpec", "spec.version is empty")], {
      onTerminal: (key, reason, message) => recorded.push([key, reason, message]),
    });
    h.controller.enqueue("ns/a");
    await flush();
    await h.clock.advance(1_000);
    expect(recorded).toEqual([["ns/a", "InvalidSpec", "spec.version is empty"]]);
    expect(h.queue.failures("ns/a")).toBe(0);
    expect(h.logs.find((l) => l.level === "error")?.fields).toMatchObject({
      outcome: "terminal",
      reason: "InvalidSpec",
    });
    await h.clock.advance(3_600_000);
    expect(h.calls).toHaveLength(2);
  });

  it("reports every outcome with its duration", async () => {
    const seen: [string, string][] = [];
    const h = harness([done(), requeueAfter(10), retry(new Error("x")), terminal("R", "m")], {
      onOutcome: (key, outcome, ms) => {
        expect(ms).toBeGreaterThanOrEqual(0);
        seen.push([key, outcome.kind]);
      },
    });
    h.controller.enqueue("a");
    h.controller.enqueue("b");
    h.controller.enqueue("c");
    h.controller.enqueue("d");
    await flush();
    await flush();
    expect(seen).toEqual([
      ["a", "done"],
      ["b", "requeue"],
      ["c", "retry"],
      ["d", "terminal"],
    ]);
  });

  it("a throwing hook is logged and does not disturb the queue", async () => {
    const h = harness([terminal("R", "m"), done()], {
      onTerminal: () => {
        throw new Error("recorder down");
      },
    });
    h.controller.enqueue("a");
    await flush();
    h.controller.enqueue("a");
    await flush();
    expect(h.calls).toEqual(["a", "a"]);
    expect(h.logs.some((l) => l.message === "onTerminal hook failed")).toBe(true);
    expect(h.queue.stats().inFlight).toBe(0);
  });

  it("does not requeue a run that shutdown aborted", async () => {
    const clock = new FakeClock();
    const queue = new WorkQueue({ clock });
    const started = deferred();
    const controller = new Controller({
      name: "test",
      queue,
      reconcile: (_key, signal) =>
        new Promise<Outcome>((_resolve, reject) => {
          started.resolve();
          signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true });
        }),
    });
    controller.start();
    controller.enqueue("ns/a");
    await started.promise;
    expect(await controller.shutdown(1_000)).toEqual({ drained: true, abandoned: [] });
    expect(queue.failures("ns/a")).toBe(0);
    expect(queue.stats()).toMatchObject({ waiting: 0, depth: 0, inFlight: 0 });
  });

  it("caps the backoff of a key that failed only because the API was unreachable", async () => {
    const refused = new KubeError("Transient", "patch ManagedApp shop/a: connect ECONNREFUSED");
    const conflict = new KubeError("Conflict", "patch ManagedApp shop/a: conflict", 409);
    // Six outage failures would back off 1, 2, 4, 8, 16, 32 s; capped, never more than 2 s.
    const h = harness([...Array.from({ length: 6 }, () => retry(refused)), retry(conflict)]);
    h.controller.enqueue("ns/a");
    await flush();
    for (let i = 0; i < 6; i++) await h.clock.advance(2_000);
    expect(h.calls).toHaveLength(7);
    const waits = h.logs.filter((l) => l.level === "warn").map((l) => l.fields["retryInMs"]);
    // The seventh failure is about the key: its own backoff (64 s, capped at the 60 s maximum).
    expect(waits).toEqual([1_000, 2_000, 2_000, 2_000, 2_000, 2_000, 60_000]);
    expect(h.logs.at(-1)?.fields).toMatchObject({ apiUnreachable: false, failures: 7 });
  });
});
