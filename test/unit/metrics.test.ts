import { register as globalRegistry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createMetrics, type Metrics } from "../../src/metrics.ts";
import { Controller } from "../../src/runtime/controller.ts";
import type { InformerStats } from "../../src/runtime/informer.ts";
import { done, requeueAfter, retry, terminal, type Outcome } from "../../src/runtime/outcome.ts";
import { WorkQueue, type QueueStats } from "../../src/runtime/workqueue.ts";
import { flush, until } from "../fakes/async.ts";
import { FakeClock } from "../fakes/clock.ts";

/** The value of one sample line, e.g. sample(text, 'cairn_leader'), or undefined if absent. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const cut = line.lastIndexOf(" ");
    if (line.slice(0, cut) === series) return Number(line.slice(cut + 1));
  }
  return undefined;
}

async function scrape(metrics: Metrics): Promise<string> {
  return metrics.registry.metrics();
}

function queueStats(overrides: Partial<QueueStats> = {}): QueueStats {
  return { depth: 0, waiting: 0, inFlight: 0, adds: 0, rateLimitedAdds: 0, ...overrides };
}

function informerStats(overrides: Partial<InformerStats> = {}): InformerStats {
  return {
    synced: true,
    items: 0,
    resourceVersion: "1",
    restarts: 0,
    relists: 0,
    lastEventAgeMs: undefined,
    ...overrides,
  };
}

describe("createMetrics", () => {
  it("uses a registry of its own, never prom-client's global one", async () => {
    const before = await globalRegistry.metrics();
    const a = createMetrics();
    const b = createMetrics();
    a.onOutcome("upgrade")("ns/x", done(), 5);
    expect(a.registry).not.toBe(b.registry);
    expect(a.registry).not.toBe(globalRegistry);
    expect(await globalRegistry.metrics()).toBe(before);
    expect(
      sample(await scrape(a), 'cairn_reconcile_total{controller="upgrade",result="done"}'),
    ).toBe(1);
    expect(await scrape(b)).not.toContain('cairn_reconcile_total{controller="upgrade"');
  });

  it("registers Node process metrics on that registry, unless told not to", async () => {
    const text = await scrape(createMetrics());
    expect(text).toContain("# TYPE process_cpu_seconds_total counter");
    expect(text).toContain("# TYPE nodejs_eventloop_lag_seconds gauge");
    expect(text).toContain("# TYPE nodejs_heap_size_used_bytes gauge");
    expect(await scrape(createMetrics({ processMetrics: false }))).not.toContain("process_cpu");
  });

  it("declares every Cairn metric with its type", async () => {
    const text = await scrape(createMetrics({ processMetrics: false }));
    for (const [name, type] of [
      ["cairn_reconcile_total", "counter"],
      ["cairn_reconcile_duration_seconds", "histogram"],
      ["cairn_workqueue_depth", "gauge"],
      ["cairn_workqueue_latency_seconds", "histogram"],
      ["cairn_workqueue_adds_total", "counter"],
      ["cairn_watch_restarts_total", "counter"],
      ["cairn_informer_relists_total", "counter"],
      ["cairn_informer_last_event_age_seconds", "gauge"],
      ["cairn_leader", "gauge"],
    ]) {
      expect(text).toContain(`# TYPE ${String(name)} ${String(type)}\n`);
    }
  });

  it("counts reconciles and their durations by controller and result", async () => {
    const metrics = createMetrics({ processMetrics: false });
    const upgrade = metrics.onOutcome("upgrade");
    const outcomes: [Outcome, number][] = [
      [done(), 20],
      [done(), 300],
      [requeueAfter(5_000), 2],
      [retry(new Error("x")), 1_500],
      [terminal("PlanFailed", "no PVCs"), 40],
    ];
    for (const [outcome, ms] of outcomes) upgrade("shop/db", outcome, ms);
    metrics.onOutcome("rollback")("shop/db-rollback", done(), 10);
    const text = await scrape(metrics);
    const total = (c: string, r: string) =>
      sample(text, `cairn_reconcile_total{controller="${c}",result="${r}"}`);
    expect(total("upgrade", "done")).toBe(2);
    expect(total("upgrade", "requeue")).toBe(1);
    expect(total("upgrade", "retry")).toBe(1);
    expect(total("upgrade", "terminal")).toBe(1);
    expect(total("rollback", "done")).toBe(1);
    expect(
      sample(text, 'cairn_reconcile_duration_seconds_sum{controller="upgrade",result="done"}'),
    ).toBeCloseTo(0.32);
    expect(
      sample(
        text,
        'cairn_reconcile_duration_seconds_bucket{le="0.25",controller="upgrade",result="done"}',
      ),
    ).toBe(1);
    expect(
      sample(text, 'cairn_reconcile_duration_seconds_count{controller="upgrade",result="retry"}'),
    ).toBe(1);
  });

  it("records queue latency from the queue hooks, with a zero series before any key", async () => {
    const metrics = createMetrics({ processMetrics: false });
    const hooks = metrics.queueHooks("managedapp");
    expect(
      sample(
        await scrape(metrics),
        'cairn_workqueue_latency_seconds_count{controller="managedapp"}',
      ),
    ).toBe(0);
    hooks.onDequeue?.("a/b", 40);
    hooks.onDequeue?.("a/c", 2_000);
    const text = await scrape(metrics);
    expect(sample(text, 'cairn_workqueue_latency_seconds_count{controller="managedapp"}')).toBe(2);
    expect(
      sample(text, 'cairn_workqueue_latency_seconds_sum{controller="managedapp"}'),
    ).toBeCloseTo(2.04);
    expect(
      sample(text, 'cairn_workqueue_latency_seconds_bucket{le="0.05",controller="managedapp"}'),
    ).toBe(1);
  });

  it("samples queue depth and adds at scrape time, as a gauge and a true counter", async () => {
    const metrics = createMetrics({ processMetrics: false });
    let stats = queueStats({ depth: 3, adds: 5 });
    metrics.watchQueue("upgrade", { stats: () => stats });
    let text = await scrape(metrics);
    expect(sample(text, 'cairn_workqueue_depth{controller="upgrade"}')).toBe(3);
    expect(sample(text, 'cairn_workqueue_adds_total{controller="upgrade"}')).toBe(5);

    stats = queueStats({ depth: 0, adds: 12 });
    text = await scrape(metrics);
    expect(sample(text, 'cairn_workqueue_depth{controller="upgrade"}')).toBe(0);
    expect(sample(text, 'cairn_workqueue_adds_total{controller="upgrade"}')).toBe(12);
    // Scraping again without new adds must not count anything twice.
    text = await scrape(metrics);
    expect(sample(text, 'cairn_workqueue_adds_total{controller="upgrade"}')).toBe(12);
  });

  it("keeps counting up when a watched queue is replaced by a new one", async () => {
    const metrics = createMetrics({ processMetrics: false });
    let first = queueStats({ depth: 1, adds: 4 });
    const stop = metrics.watchQueue("upgrade", { stats: () => first });
    await scrape(metrics);
    first = queueStats({ depth: 2, adds: 6 });
    stop();
    let text = await scrape(metrics);
    // The adds since the last scrape were taken when it stopped; the stale depth is gone.
    expect(sample(text, 'cairn_workqueue_adds_total{controller="upgrade"}')).toBe(6);
    expect(sample(text, 'cairn_workqueue_depth{controller="upgrade"}')).toBeUndefined();

    metrics.watchQueue("upgrade", { stats: () => queueStats({ depth: 1, adds: 2 }) });
    text = await scrape(metrics);
    expect(sample(text, 'cairn_workqueue_adds_total{controller="upgrade"}')).toBe(8);
    expect(sample(text, 'cairn_workqueue_depth{controller="upgrade"}')).toBe(1);
  });

  it("refuses to watch two queues under one controller name", () => {
    const metrics = createMetrics({ processMetrics: false });
    metrics.watchQueue("upgrade", { stats: () => queueStats() });
    expect(() => metrics.watchQueue("upgrade", { stats: () => queueStats() })).toThrow(
      /already watched/,
    );
  });

  it("samples informer restarts, relists and last-event age per kind", async () => {
    const metrics = createMetrics({ processMetrics: false });
    let pods = informerStats();
    metrics.watchInformer("Pod", { stats: () => pods });
    metrics.watchInformer("ManagedApp", {
      stats: () => informerStats({ restarts: 1, lastEventAgeMs: 250 }),
    });
    let text = await scrape(metrics);
    expect(sample(text, 'cairn_watch_restarts_total{kind="Pod"}')).toBe(0);
    expect(sample(text, 'cairn_informer_relists_total{kind="Pod"}')).toBe(0);
    // No event yet: no age to report rather than a made-up one.
    expect(sample(text, 'cairn_informer_last_event_age_seconds{kind="Pod"}')).toBeUndefined();
    expect(sample(text, 'cairn_watch_restarts_total{kind="ManagedApp"}')).toBe(1);
    expect(sample(text, 'cairn_informer_last_event_age_seconds{kind="ManagedApp"}')).toBe(0.25);

    pods = informerStats({ restarts: 3, relists: 2, lastEventAgeMs: 12_000 });
    text = await scrape(metrics);
    expect(sample(text, 'cairn_watch_restarts_total{kind="Pod"}')).toBe(3);
    expect(sample(text, 'cairn_informer_relists_total{kind="Pod"}')).toBe(2);
    expect(sample(text, 'cairn_informer_last_event_age_seconds{kind="Pod"}')).toBe(12);
  });

  it("drops an informer's age gauge but keeps its counters when it stops being watched", async () => {
    const metrics = createMetrics({ processMetrics: false });
    const stop = metrics.watchInformer("Pod", {
      stats: () => informerStats({ restarts: 2, lastEventAgeMs: 1_000 }),
    });
    stop();
    stop();
    const text = await scrape(metrics);
    expect(sample(text, 'cairn_watch_restarts_total{kind="Pod"}')).toBe(2);
    expect(sample(text, 'cairn_informer_last_event_age_seconds{kind="Pod"}')).toBeUndefined();
  });

  it("reports leadership as 0 until told otherwise", async () => {
    const metrics = createMetrics({ processMetrics: false });
    expect(sample(await scrape(metrics), "cairn_leader")).toBe(0);
    metrics.setLeader(true);
    expect(sample(await scrape(metrics), "cairn_leader")).toBe(1);
    metrics.setLeader(false);
    expect(sample(await scrape(metrics), "cairn_leader")).toBe(0);
  });

  it("wires into a real WorkQueue and Controller", async () => {
    const metrics = createMetrics({ processMetrics: false });
    const clock = new FakeClock();
    const queue = new WorkQueue({ clock, hooks: metrics.queueHooks("upgrade") });
    metrics.watchQueue("upgrade", queue);
    const script: Outcome[] = [done(), terminal("Bad", "bad spec")];
    const controller = new Controller({
      name: "upgrade",
      queue,
      reconcile: () => Promise.resolve(script.shift() ?? done()),
      onOutcome: metrics.onOutcome("upgrade"),
    });
    controller.enqueue("shop/a");
    controller.enqueue("shop/a");
    controller.enqueue("shop/b");
    let text = await scrape(metrics);
    expect(sample(text, 'cairn_workqueue_depth{controller="upgrade"}')).toBe(2);
    expect(sample(text, 'cairn_workqueue_adds_total{controller="upgrade"}')).toBe(3);

    controller.start();
    await until("both keys reconciled", () => script.length === 0 && queue.stats().inFlight === 0);
    await flush();
    text = await scrape(metrics);
    expect(sample(text, 'cairn_workqueue_depth{controller="upgrade"}')).toBe(0);
    expect(sample(text, 'cairn_workqueue_latency_seconds_count{controller="upgrade"}')).toBe(2);
    expect(sample(text, 'cairn_reconcile_total{controller="upgrade",result="done"}')).toBe(1);
    expect(sample(text, 'cairn_reconcile_total{controller="upgrade",result="terminal"}')).toBe(1);
    await controller.shutdown(1_000);
  });
});
