// Cairn's entry point: config → logger → kube client → metrics and probes → leader election →
// controllers. SIGTERM drains in-flight reconciles and releases the lease; losing the lease
// exits non-zero so that the Deployment restarts the pod as a follower.
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
import { LeaderElector } from "./runtime/leader.ts";

const loaded = loadConfig(process.argv.slice(2), process.env);
if (!loaded.ok) {
  process.stderr.write(`cairn: ${loaded.message}\n`);
  process.exit(2);
}
const config = loaded.config;
const logger = createLogger(config);
const log = toLogFn(logger);
const client = config.kubeconfig
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

// --failpoint: die the hardest way right after one step's side effects, before its status write.
const afterEffect = (step: string) => {
  if (config.failpoint !== undefined && step === config.failpoint) {
    // The logger writes asynchronously and SIGKILL drops what it has not written yet: the one
    // line that says why the process died goes to stderr synchronously.
    writeSync(
      2,
      `${JSON.stringify({ level: "warn", time: new Date().toISOString(), msg: "failpoint reached; killing the process", failpoint: step })}\n`,
    );
    process.kill(process.pid, "SIGKILL");
  }
};
const events = new EventRecorder({ client, clock, reportingInstance: config.podName, log });
const work = (signal: AbortSignal) =>
  runControllers(
    buildModules({ client, clock, log, metrics, events, config, afterEffect }),
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

if (config.leaderElect) {
  const elector = new LeaderElector({
    client,
    clock,
    name: config.leaseName,
    namespace: config.namespace,
    identity: config.podName,
    leaseDurationMs: config.leaseDurationSeconds * 1000,
    renewDeadlineMs: config.renewDeadlineSeconds * 1000,
    retryPeriodMs: config.retryPeriodSeconds * 1000,
    log,
  });
  const exit = await elector.run(shutdown.signal, {
    onStartedLeading: (leaderSignal) => {
      leading.now = true;
      metrics.setLeader(true);
      return work(leaderSignal);
    },
    onStoppedLeading: (reason) => {
      leading.now = false;
      metrics.setLeader(false);
      log(reason === "lost" ? "error" : "info", "stopped leading", { reason });
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
