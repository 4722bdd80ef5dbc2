// Cairn's entry point: config → logger → kube client → metrics and probes → leader election →
// controllers. SIGTERM drains in-flight reconciles and releases the lease. Losing the lease
// exits non-zero at once, without draining, so that the Deployment restarts the pod as a
// follower; until then every write of the controllers is fenced (docs/architecture.md,
// "Fencing"): it is sent only while the lease is still ours by this process's clock.
import { writeSync } from "node:fs";
import { readBuildInfo } from "./build-info.ts";
import { loadConfig } from "./config.ts";
import { buildModules } from "./controllers/modules.ts";
import { serve } from "./http.ts";
import { KubeClient } from "./kube/client.ts";
import { createLogger, toLogFn } from "./logger.ts";
import { runControllers, type ManagerState } from "./manager.ts";
import { createMetrics } from "./metrics.ts";
import { systemClock } from "./runtime/clock.ts";
import { EventRecorder } from "./runtime/events.ts";
import { FluxNotifier } from "./runtime/flux-notifier.ts";
import { forwardAppEvents } from "./controllers/notifications.ts";
import { LeaderElector } from "./runtime/leader.ts";

const loaded = loadConfig(process.argv.slice(2), process.env);
if (!loaded.ok) {
  process.stderr.write(`cairn: ${loaded.message}\n`);
  process.exit(2);
}
const config = loaded.config;
const logger = createLogger(config);
const log = toLogFn(logger);
const baseClient = config.kubeconfig
  ? KubeClient.fromKubeconfigFile(config.kubeconfig)
  : KubeClient.fromDefault();
const clock = systemClock();
const metrics = createMetrics({ build: readBuildInfo() });
const shutdown = new AbortController();
const state: ManagerState = { ready: false };
const leading = { now: false };

const healthServer = await serve({
  address: config.healthAddr,
  log,
  health: {
    // A follower is ready too: it stands by for the lease, and rollouts must not wait for it.
    readiness: () =>
      !config.leaderElect || leading.now
        ? { ready: state.ready, reason: state.ready ? "controllers running" : "informers syncing" }
        : { ready: true, reason: "standing by for the lease" },
    shuttingDown: shutdown.signal,
  },
});
const metricsServer = await serve({ address: config.metricsAddr, registry: metrics.registry, log });
log("info", "cairn starting", { identity: config.podName, namespace: config.namespace });

// The logger writes asynchronously, and neither SIGKILL nor process.exit waits for it: a line
// that says why the process dies (or freezes) goes to stderr synchronously.
const logNow = (level: string, msg: string, fields: Record<string, unknown>) =>
  writeSync(
    2,
    `${JSON.stringify({ level, time: new Date().toISOString(), msg, identity: config.podName, ...fields })}\n`,
  );

// The elector decides whether the leader's work may still write: the fence (see below).
const elector = config.leaderElect
  ? new LeaderElector({
      client: baseClient,
      clock,
      name: config.leaseName,
      namespace: config.namespace,
      identity: config.podName,
      leaseDurationMs: config.leaseDurationSeconds * 1000,
      renewDeadlineMs: config.renewDeadlineSeconds * 1000,
      retryPeriodMs: config.retryPeriodSeconds * 1000,
      log,
    })
  : undefined;
// The controllers' client: with leader election, a write is sent only while the lease is still
// ours by our own clock. Asking finds a lapsed lease even before the deadline timer fires (a
// process resumed after SIGSTOP runs its I/O callbacks first) and ends the term as lost, which
// exits the process below. Lease renewals use the unfenced client.
const client = elector ? baseClient.fenced(() => elector.holds()) : baseClient;

// --failpoint: right after one step's side effects, before its status write, die the hardest way
// (kill) or freeze (stop) as a replica paused past its lease would, until SIGCONT.
const afterEffect = (step: string) => {
  if (config.failpoint !== undefined && step === config.failpoint) {
    if (config.failpointAction === "stop") {
      logNow("warn", "failpoint reached; stopping the process", { failpoint: step });
      process.kill(process.pid, "SIGSTOP");
      logNow("warn", "resumed after the failpoint", { failpoint: step });
      return;
    }
    logNow("warn", "failpoint reached; killing the process", { failpoint: step });
    process.kill(process.pid, "SIGKILL");
  }
};
// --events-addr: Events on ManagedApps reach Flux's notification-controller too.
const notifier = config.eventsAddr ? new FluxNotifier({ url: config.eventsAddr, log }) : undefined;
const events = new EventRecorder({
  client,
  clock,
  reportingInstance: config.podName,
  log,
  ...(notifier
    ? { forward: forwardAppEvents({ client, notifier, instance: config.podName, log }) }
    : {}),
});
const work = (signal: AbortSignal) =>
  runControllers(
    buildModules({ client, clock, log, metrics, events, config, afterEffect, signal }),
    signal,
    {
      metrics,
      log,
      drainMs: config.shutdownTimeoutSeconds * 1000,
      state,
    },
  );

let exitCode = 0;
const stopOn = (sig: NodeJS.Signals) =>
  process.once(sig, () => {
    log("info", "shutting down", { signal: sig });
    shutdown.abort();
  });
stopOn("SIGTERM");
stopOn("SIGINT");

if (elector) {
  const exit = await elector.run(shutdown.signal, {
    onStartedLeading: (leaderSignal) => {
      leading.now = true;
      metrics.setLeader(true);
      return work(leaderSignal);
    },
    onStoppedLeading: (reason) => {
      leading.now = false;
      metrics.setLeader(false);
      if (reason === "lost") {
        // At once: another replica may lead already. The leader signal has aborted (git
        // processes are killed with it) and the fence refuses every write meanwhile; nothing
        // is drained, the next leader resumes every request from its status.
        logNow("error", "lost the lease; exiting", { exitCode: 1 });
        process.exit(1);
      }
      log("info", "stopped leading", { reason });
    },
    onNewLeader: (identity) => log("info", "leader observed", { leader: identity }),
  });
  if (exit === "lost") exitCode = 1;
} else {
  await work(shutdown.signal);
}

await Promise.all([healthServer.close(), metricsServer.close()]);
log(exitCode === 0 ? "info" : "error", "cairn stopped", { exitCode });
process.exit(exitCode);
