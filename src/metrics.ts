// Prometheus metrics on a registry that belongs to one Metrics value, never prom-client's global
// one: two controllers in one test process (or one test per registry) then cannot collide, and
// nothing registers itself at import time. The runtime knows nothing of this module; main.ts
// plugs the hooks below into its queues, controllers and informers.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { InformerStats } from "./runtime/informer.ts";
import type { Outcome } from "./runtime/outcome.ts";
import type { QueueHooks, QueueStats } from "./runtime/workqueue.ts";

export interface MetricsOptions {
  /** Node process metrics (CPU, memory, event loop lag, GC); default true. */
  readonly processMetrics?: boolean;
  /** What cairn_build_info reports; its version label is "unknown" without it. */
  readonly build?: BuildInfo;
}

export interface BuildInfo {
  /** The controller's version (package.json). */
  readonly version: string;
}

/** One ManagedApp's facts, for cairn_app_info. */
export interface AppInfo {
  /** status.currentVersion; "" when unknown. */
  readonly version: string;
  /** status.availableUpdate is set and differs from the current version. */
  readonly updateAvailable: boolean;
  /** A rollback left the app frozen (RestoreIncomplete) and Flux is still suspended. */
  readonly frozen: boolean;
}

/** What the metrics read from a work queue; WorkQueue satisfies it. */
export interface QueueStatsSource {
  stats(): QueueStats;
}

/** What the metrics read from an informer; Informer satisfies it. */
export interface InformerStatsSource {
  stats(): InformerStats;
}

export interface Metrics {
  /** Where every Cairn metric lives; domain modules register theirs here too. */
  readonly registry: Registry;
  /** Hooks for `new WorkQueue({hooks})`: queue latency per controller. */
  queueHooks(controller: string): QueueHooks;
  /** For `new Controller({onOutcome})`: reconciles and their durations, by result. */
  onOutcome(controller: string): (key: string, outcome: Outcome, durationMs: number) => void;
  /** Samples the queue's depth and adds at scrape time; returns the function that stops it. */
  watchQueue(controller: string, queue: QueueStatsSource): () => void;
  /** Samples the informer's restarts, relists and event age at scrape time; returns the stop. */
  watchInformer(kind: string, informer: InformerStatsSource): () => void;
  setLeader(leading: boolean): void;
  /** For the request runner: a step ended (succeeded or failed) after this many seconds. */
  readonly requestStepEnded: (kind: string, step: string, reason: string, seconds: number) => void;
  /**
   * For the request runner: a request finished; its history gives the app's downtime (only when
   * its health check succeeded: an app that is still down is observed once it is healthy again,
   * through upgradeRecovered).
   */
  readonly requestFinished: (kind: string, reason: string, status: RequestHistory) => void;
  /**
   * For the rollback controller, once a RollbackRequest of a failed upgrade has succeeded: the
   * upgrade's downtime, from its scale-down until the rollback's health check passed, observed
   * under kind UpgradeRequest.
   */
  readonly upgradeRecovered: (upgrade: RequestHistory, rollback: RequestHistory) => void;
  /** For the ManagedApp controller: the app's facts; undefined when the app is gone. */
  setAppInfo(app: { namespace: string; name: string }, info: AppInfo | undefined): void;
  /** Apps left frozen (Flux suspended) by a request that finished, e.g. a rollback RestoreIncomplete. */
  setFrozenApps(count: number): void;
}

// Reconciles span a cached read (milliseconds) to a Git push or an API timeout (tens of seconds).
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
// A key can wait behind a slow reconcile on every worker, so queue waits run longer.
const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300];

/**
 * Turns a cumulative count that some object keeps into counter increments, so a scrape shows
 * a true counter that survives the object being replaced (a new queue starts at 0 again).
 */
class Sampled<T> {
  readonly #sources = new Map<string, { readonly source: T; readonly seen: Map<string, number> }>();
  readonly #what: string;

  constructor(what: string) {
    this.#what = what;
  }

  add(label: string, source: T, retire: (label: string, source: T) => void): () => void {
    if (this.#sources.has(label)) {
      throw new Error(`a ${this.#what} labelled ${JSON.stringify(label)} is already watched`);
    }
    this.#sources.set(label, { source, seen: new Map() });
    return () => {
      if (this.#sources.get(label)?.source !== source) return;
      // Counts since the last scrape would be lost with the source: take them now.
      retire(label, source);
      this.#sources.delete(label);
    };
  }

  entries(): [string, T][] {
    return [...this.#sources].map(([label, { source }]) => [label, source]);
  }

  /** How much `total` grew since the last call for this label and counter. */
  delta(label: string, counter: string, total: number): number {
    const seen = this.#sources.get(label)?.seen;
    if (!seen) return 0;
    const before = seen.get(counter) ?? 0;
    seen.set(counter, total);
    // A total that went down belongs to a source that was reset: all of it is new.
    return total >= before ? total - before : total;
  }
}

/** The part of a request's status the downtime figure is computed from. */
export interface RequestHistory {
  readonly history?:
    | readonly { name: string; startedAt: string; completedAt: string; reason?: string }[]
    | undefined;
}

const SCALE_DOWN = "ScaleDown";
const HEALTH_CHECK = "HealthCheck";

/** When the app was healthy again: the end of the last HealthCheck that succeeded. */
function healthyAgainAt(status: RequestHistory): string | undefined {
  // A HealthCheck that ended otherwise (Unhealthy, DeadlineExceeded) left the app down.
  return status.history?.findLast(
    (h) => h.name === HEALTH_CHECK && (h.reason === undefined || h.reason === "Succeeded"),
  )?.completedAt;
}

/** Seconds from the ScaleDown step's start to the end of a HealthCheck step that succeeded. */
export function downtimeSeconds(status: RequestHistory): number | undefined {
  const down = status.history?.find((h) => h.name === SCALE_DOWN);
  const healthy = healthyAgainAt(status);
  if (!down || healthy === undefined) return undefined;
  return (Date.parse(healthy) - Date.parse(down.startedAt)) / 1000;
}

/**
 * A failed upgrade's downtime: from its ScaleDown step's start until the health check of the
 * rollback that repaired it succeeded; undefined when the upgrade never scaled down or the
 * rollback's health check has not succeeded.
 */
export function recoveryDowntimeSeconds(
  upgrade: RequestHistory,
  rollback: RequestHistory,
): number | undefined {
  const down = upgrade.history?.find((h) => h.name === SCALE_DOWN);
  const healthy = healthyAgainAt(rollback);
  if (!down || healthy === undefined) return undefined;
  return (Date.parse(healthy) - Date.parse(down.startedAt)) / 1000;
}

export const OutcomeClass = {
  Succeeded: "succeeded",
  Failed: "failed",
  /** Turned down before anything changed (a typo, a missing app, a plan that cannot work). */
  Refused: "refused",
  /** Stopped because someone asked (`kubectl cairn abort`): nobody needs paging for it. */
  Aborted: "aborted",
  DryRun: "dry_run",
} as const;
export type OutcomeClass = (typeof OutcomeClass)[keyof typeof OutcomeClass];

// Complete reasons that end a request before it changed anything in the cluster or in Git: the
// common ones (src/api/conditions.ts) and a rollback's refusals (RefusalReason in
// src/controllers/rollback/plan.ts; a unit test keeps this list complete).
const REFUSALS: ReadonlySet<string> = new Set([
  "InvalidSpec",
  "AppNotFound",
  "UpgradeNotFound",
  "PlanFailed",
  "ReferenceDenied",
  "ReferenceNotFound",
  "RollbackOfRollback",
  "UpgradeIsDryRun",
  "UpgradeNotCommitted",
  "AlreadyRolledBack",
  "RollbackInProgress",
  "LaterUpgrade",
]);

/**
 * The class of a request's Complete reason, for alerts that must page on real failures only.
 * An unknown reason counts as failed: a new way of failing must not go unnoticed.
 */
export function outcomeClass(reason: string): OutcomeClass {
  if (reason === "Succeeded") return OutcomeClass.Succeeded;
  if (reason === "DryRunSucceeded") return OutcomeClass.DryRun;
  if (REFUSALS.has(reason)) return OutcomeClass.Refused;
  if (reason === "Aborted") return OutcomeClass.Aborted;
  return OutcomeClass.Failed;
}

export function createMetrics(opts: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const registers = [registry];
  const queues = new Sampled<QueueStatsSource>("work queue");
  const informers = new Sampled<InformerStatsSource>("informer");

  const reconcileTotal = new Counter({
    name: "cairn_reconcile_total",
    help: "Reconcile passes by controller and result (done, requeue, retry, terminal).",
    labelNames: ["controller", "result"] as const,
    registers,
  });
  const reconcileDuration = new Histogram({
    name: "cairn_reconcile_duration_seconds",
    help: "Duration of reconcile passes by controller and result.",
    labelNames: ["controller", "result"] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  const queueLatency = new Histogram({
    name: "cairn_workqueue_latency_seconds",
    help: "Time a key waited in the work queue before a worker took it.",
    labelNames: ["controller"] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });

  const queueDepth = new Gauge({
    name: "cairn_workqueue_depth",
    help: "Keys ready to run and not yet taken by a worker.",
    labelNames: ["controller"] as const,
    registers,
    collect() {
      for (const [controller, queue] of queues.entries()) sampleQueue(controller, queue);
    },
  });
  const queueAdds = new Counter({
    name: "cairn_workqueue_adds_total",
    help: "Keys added to the work queue (an add of a key already queued counts too).",
    labelNames: ["controller"] as const,
    registers,
    collect() {
      for (const [controller, queue] of queues.entries()) sampleQueue(controller, queue);
    },
  });
  const watchRestarts = new Counter({
    name: "cairn_watch_restarts_total",
    help: "Watches restarted after an error or a silent stretch.",
    labelNames: ["kind"] as const,
    registers,
    collect() {
      for (const [kind, informer] of informers.entries()) sampleInformer(kind, informer);
    },
  });
  const relists = new Counter({
    name: "cairn_informer_relists_total",
    help: "Lists after the first one, each after the watch expired (410 Gone).",
    labelNames: ["kind"] as const,
    registers,
    collect() {
      for (const [kind, informer] of informers.entries()) sampleInformer(kind, informer);
    },
  });
  const eventAge = new Gauge({
    name: "cairn_informer_last_event_age_seconds",
    help: "Time since the informer last heard from the API (list, event or bookmark).",
    labelNames: ["kind"] as const,
    registers,
    collect() {
      for (const [kind, informer] of informers.entries()) sampleInformer(kind, informer);
    },
  });
  const leader = new Gauge({
    name: "cairn_leader",
    help: "1 while this process holds the leader lease, else 0.",
    registers,
  });
  leader.set(0);
  const operations = new Counter({
    name: "cairn_operations_total",
    help: "Finished upgrade and rollback requests by kind, outcome (the Complete reason) and its class (succeeded, failed, refused, dry_run).",
    labelNames: ["kind", "outcome", "class"] as const,
    registers,
  });
  const buildInfo = new Gauge({
    name: "cairn_build_info",
    help: "Always 1; the labels say which Cairn and which Node.js run.",
    labelNames: ["version", "node_version"] as const,
    registers,
  });
  buildInfo.set({ version: opts.build?.version ?? "unknown", node_version: process.version }, 1);
  const appInfo = new Gauge({
    name: "cairn_app_info",
    help: "Always 1 per ManagedApp; the labels carry its current version and whether an update is available or it is frozen.",
    labelNames: ["namespace", "name", "version", "update_available", "frozen"] as const,
    registers,
  });
  // The labels each app's series has now, so that a change replaces the series.
  const appSeries = new Map<
    string,
    Record<"namespace" | "name" | "version" | "update_available" | "frozen", string>
  >();
  const stepDuration = new Histogram({
    name: "cairn_step_duration_seconds",
    help: "Duration of request steps by kind, step and how they ended.",
    labelNames: ["kind", "step", "reason"] as const,
    buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800],
    registers,
  });
  const downtime = new Histogram({
    name: "cairn_app_downtime_seconds",
    help: "Time an app's workloads were stopped by a request: scale-down start until healthy.",
    labelNames: ["kind"] as const,
    buckets: [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
    registers,
  });
  const frozen = new Gauge({
    name: "cairn_frozen_apps",
    help: "Apps whose Flux objects a finished request left suspended (a failed restore); a human must decide.",
    registers,
  });
  frozen.set(0);

  const sampleQueue = (controller: string, queue: QueueStatsSource) => {
    const stats = queue.stats();
    queueDepth.set({ controller }, stats.depth);
    queueAdds.inc({ controller }, queues.delta(controller, "adds", stats.adds));
  };
  const sampleInformer = (kind: string, informer: InformerStatsSource) => {
    const stats = informer.stats();
    watchRestarts.inc({ kind }, informers.delta(kind, "restarts", stats.restarts));
    relists.inc({ kind }, informers.delta(kind, "relists", stats.relists));
    if (stats.lastEventAgeMs !== undefined) eventAge.set({ kind }, stats.lastEventAgeMs / 1000);
  };
  // A gone source keeps its counters (they only ever grow) but not its gauges, which would
  // otherwise report the last depth or age forever.
  const retireQueue = (controller: string, queue: QueueStatsSource) => {
    sampleQueue(controller, queue);
    queueDepth.remove({ controller });
  };
  const retireInformer = (kind: string, informer: InformerStatsSource) => {
    sampleInformer(kind, informer);
    eventAge.remove({ kind });
  };

  if (opts.processMetrics ?? true) collectDefaultMetrics({ register: registry });

  return {
    registry,
    queueHooks(controller) {
      // Touch the series so a quiet controller still shows up with zero counts.
      queueLatency.zero({ controller });
      return {
        onDequeue: (_key, waitedMs) => queueLatency.observe({ controller }, waitedMs / 1000),
      };
    },
    onOutcome(controller) {
      return (_key, outcome, durationMs) => {
        const labels = { controller, result: outcome.kind };
        reconcileTotal.inc(labels);
        reconcileDuration.observe(labels, durationMs / 1000);
      };
    },
    watchQueue(controller, queue) {
      return queues.add(controller, queue, retireQueue);
    },
    watchInformer(kind, informer) {
      return informers.add(kind, informer, retireInformer);
    },
    setLeader(leading) {
      leader.set(leading ? 1 : 0);
    },
    requestStepEnded(kind, step, reason, seconds) {
      stepDuration.observe({ kind, step, reason }, Math.max(0, seconds));
    },
    requestFinished(kind, reason, status) {
      operations.inc({ kind, outcome: reason, class: outcomeClass(reason) });
      const seconds = downtimeSeconds(status);
      if (seconds !== undefined) downtime.observe({ kind }, Math.max(0, seconds));
    },
    upgradeRecovered(upgrade, rollback) {
      const seconds = recoveryDowntimeSeconds(upgrade, rollback);
      if (seconds !== undefined) {
        downtime.observe({ kind: "UpgradeRequest" }, Math.max(0, seconds));
      }
    },
    setAppInfo(app, info) {
      const key = `${app.namespace}/${app.name}`;
      const before = appSeries.get(key);
      const labels = info && {
        namespace: app.namespace,
        name: app.name,
        version: info.version,
        update_available: String(info.updateAvailable),
        frozen: String(info.frozen),
      };
      if (before && JSON.stringify(before) !== JSON.stringify(labels)) appInfo.remove(before);
      if (labels) {
        appInfo.set(labels, 1);
        appSeries.set(key, labels);
      } else {
        appSeries.delete(key);
      }
    },
    setFrozenApps(count) {
      frozen.set(count);
    },
  };
}
