// One happy-path chart upgrade of the demo app, repeated: wall time, the controller's own share,
// and the API requests Cairn makes per upgrade.
//
//   node bench/upgrade.ts [--runs=5] [--upload-delay=60] [--run-while-uploading]
//                                                    (Node 24: `npx node …`)
//
// Starts its own full test bed (Flux, Git server, Helm repository, CSI snapshots) unless
// CAIRN_TESTBED_KUBECONFIG names a running one, runs Cairn as it ships (src/main.ts under
// deploy/'s RBAC, as a local process with its ServiceAccount's token), seeds the demo app with
// snapshots on, and upgrades it back and forth between chart 1.0.0 and 1.1.0.
//   - wall: from creating the UpgradeRequest to seeing Complete=True (a watch on the object);
//   - own share: the growth of cairn_reconcile_duration_seconds_sum{controller="upgraderequest"}
//     during the upgrade, i.e. the time the controller spent inside its reconcile passes
//     (handlers, Git, its own API calls) as opposed to waiting for Flux, pods and snapshots
//     between passes;
//   - API requests: counted by the API server itself. API Priority and Fairness counts the
//     requests it dispatches per FlowSchema, and the bench adds one that matches only Cairn's
//     ServiceAccount (apiserver_request_total has no user label). This counts every controller
//     in the process (the ManagedApp controller follows the app's pods through the upgrade).
//   - the steps' durations from status.history;
//   - outage: the time during the upgrade in which one of the app's workloads (demo-web,
//     demo-db) had no ready replica, sampled from the API every 200 ms, and how many separate
//     outages that made.
// --upload-delay=N makes the CSI simulator report each snapshot readyToUse N seconds after it
// cut it (an annotation on the demo's PVCs), as cloud disks do; --run-while-uploading sets the
// ManagedApp's spec.volumeSnapshots.runWhileUploading.
// Results go to stdout as medians with min–max; progress and logs to stderr.
import { parseArgs } from "node:util";
import { installManagedDemo, createNamespace } from "../testbed/src/demo-app.ts";
import { eventually } from "../testbed/src/poll.ts";
import { benchController, controllerFlowSchema, fullBed, tearDown } from "./support/bed.ts";
import { rssMiB } from "./support/util.ts";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    "upload-delay": { type: "string", default: "0" },
    "run-while-uploading": { type: "boolean", default: false },
  },
});
const RUNS = Number(values.runs);
const UPLOAD_DELAY = Number(values["upload-delay"]);
if (!Number.isInteger(UPLOAD_DELAY) || UPLOAD_DELAY < 0)
  throw new Error("--upload-delay must be a whole number of seconds");
const WORKLOADS = [
  { apiVersion: "apps/v1", kind: "Deployment", name: "demo-web" },
  { apiVersion: "apps/v1", kind: "StatefulSet", name: "demo-db" },
];
const API = "cairn.dev/v1alpha1";
const log = (line: string) => process.stderr.write(`${line}\n`);

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}
const fmt = (xs: readonly number[], digits = 2) =>
  `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;

function metricSum(text: string, name: string, labels: string): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name}{`) && line.includes(labels)) sum += Number(line.split(" ").at(-1));
  }
  return sum;
}

async function main(): Promise<void> {
  const bed = await fullBed(log);
  const { admin, git, helmRepoUrl, apiMetrics } = bed;
  const cairn = await benchController(bed, {
    suffix: "-bench",
    labels: { "cairn.dev/test": "bench-upgrade" },
  });
  const namespace = `bench-upgrade-${Date.now().toString(36)}`;
  const flowSchema = controllerFlowSchema(
    "cairn-bench-upgrade",
    cairn.namespace,
    cairn.serviceAccount,
  );
  const dispatched = async () =>
    metricSum(
      await apiMetrics(),
      "apiserver_flowcontrol_dispatched_requests_total",
      'flow_schema="cairn-bench-upgrade"',
    );
  const ownSeconds = async () =>
    metricSum(
      await cairn.metrics(),
      "cairn_reconcile_duration_seconds_sum",
      'controller="upgraderequest"',
    );

  const cleanup = () => tearDown(bed, cairn, namespace, [flowSchema]);
  process.once("SIGINT", () => void cleanup().then(() => process.exit(130)));
  try {
    await admin.apply(flowSchema, { force: true });
    await createNamespace(admin, namespace);
    await installManagedDemo(admin, git, helmRepoUrl, {
      namespace,
      repo: `${namespace}-config`,
      labels: cairn.labels,
    });
    const appRef = { apiVersion: API, kind: "ManagedApp", namespace, name: "demo" };
    if (values["run-while-uploading"])
      await admin.mergePatch(appRef, { spec: { volumeSnapshots: { runWhileUploading: true } } });
    if (UPLOAD_DELAY > 0)
      for (const pvc of ["data-demo-db-0", "demo-uploads"])
        await eventually(`PVC ${pvc}`, async () => {
          await admin.mergePatch(
            { apiVersion: "v1", kind: "PersistentVolumeClaim", namespace, name: pvc },
            {
              metadata: {
                annotations: { "csi-sim.cairn.dev/upload-delay-seconds": String(UPLOAD_DELAY) },
              },
            },
          );
          return true;
        });
    await cairn.start();
    await eventually(
      "the demo app Ready",
      async () => {
        const app = await admin.get(appRef);
        const ready = (
          app["status"] as { conditions?: { type: string; status: string }[] } | undefined
        )?.conditions?.find((c) => c.type === "Ready");
        return ready?.status === "True" ? true : undefined;
      },
      { timeoutMs: 300_000 },
    );
    const walls: number[] = [];
    const own: number[] = [];
    const requests: number[] = [];
    const steps = new Map<string, number[]>();
    const outages: number[] = [];
    const outageCounts: number[] = [];
    // The controller's RSS: once before the first upgrade (the app Ready, at rest), then with
    // every outage sample during the upgrades.
    const pid = cairn.process?.pid ?? 0;
    const atRest = rssMiB(pid);
    const rss: number[] = [];
    /** Samples the workloads until stopped: total seconds with a workload at 0 ready, and how
     *  many separate stretches that was. */
    const sampleOutage = () => {
      const state = { stop: false };
      const done = (async () => {
        let down = 0;
        let stretches = 0;
        let downSince: number | undefined;
        while (!state.stop) {
          const now = performance.now();
          const ready = await Promise.all(
            WORKLOADS.map(async (w) => {
              const obj = await admin.get({ ...w, namespace });
              return (obj["status"] as { readyReplicas?: number } | undefined)?.readyReplicas ?? 0;
            }),
          );
          const mib = rssMiB(pid);
          if (mib !== undefined) rss.push(mib);
          const isDown = ready.some((n) => n === 0);
          if (isDown && downSince === undefined) {
            downSince = now;
            stretches++;
          } else if (!isDown && downSince !== undefined) {
            down += now - downSince;
            downSince = undefined;
          }
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        if (downSince !== undefined) down += performance.now() - downSince;
        return { seconds: down / 1000, stretches };
      })();
      return async () => {
        state.stop = true;
        return done;
      };
    };
    for (let i = 0; i < RUNS; i++) {
      const to = i % 2 === 0 ? "1.1.0" : "1.0.0";
      const name = `bench-${i}`;
      const [r0, s0] = [await dispatched(), await ownSeconds()];
      const t0 = performance.now();
      const stopSampling = sampleOutage();
      await admin.create({
        apiVersion: API,
        kind: "UpgradeRequest",
        metadata: { name, namespace },
        // Every other run goes back to 1.0.0: a downgrade, which Plan refuses unless allowed.
        spec: {
          managedAppRef: { name: "demo" },
          targetVersion: { chart: to },
          allowDowngrade: true,
        },
      });
      const done = await eventually(
        `${name} to finish`,
        async () => {
          const obj = await admin.get({ apiVersion: API, kind: "UpgradeRequest", namespace, name });
          const complete = (
            obj["status"] as
              { conditions?: { type: string; status: string; reason: string }[] } | undefined
          )?.conditions?.find((c) => c.type === "Complete");
          return complete && complete.status !== "Unknown" ? { obj, complete } : undefined;
        },
        { timeoutMs: 300_000, intervalMs: 100 },
      );
      const wall = (performance.now() - t0) / 1000;
      if (done.complete.status !== "True") throw new Error(`${name} ended ${done.complete.reason}`);
      // The app is healthy at Complete=True; the sampler sees the last pod Ready by then.
      const outage = await stopSampling();
      outages.push(outage.seconds);
      outageCounts.push(outage.stretches);
      // Let the ManagedApp controller settle on the new state before reading the counters.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const [r1, s1] = [await dispatched(), await ownSeconds()];
      walls.push(wall);
      own.push(s1 - s0);
      requests.push(r1 - r0);
      for (const h of (
        done.obj["status"] as {
          history?: { name: string; startedAt: string; completedAt: string }[];
        }
      ).history ?? []) {
        steps.set(h.name, [
          ...(steps.get(h.name) ?? []),
          (Date.parse(h.completedAt) - Date.parse(h.startedAt)) / 1000,
        ]);
      }
      log(
        `${name} → ${to}: ${wall.toFixed(1)} s wall, ${(s1 - s0).toFixed(2)} s in reconcile, ${r1 - r0} API requests, ${outage.seconds.toFixed(1)} s outage in ${outage.stretches}`,
      );
    }
    const mode = values["run-while-uploading"] ? ", runWhileUploading" : "";
    process.stdout.write(
      `\nUpgrade benchmark: ${RUNS} runs, upload delay ${UPLOAD_DELAY} s${mode} (median, min–max)\n`,
    );
    process.stdout.write(`  wall time (create → Complete)   ${fmt(walls, 1)} s\n`);
    process.stdout.write(`  outage (a workload with 0 ready) ${fmt(outages, 1)} s\n`);
    process.stdout.write(`  separate outages                 ${fmt(outageCounts, 0)}\n`);
    process.stdout.write(`  controller's own share           ${fmt(own)} s\n`);
    process.stdout.write(`  API requests per upgrade         ${fmt(requests, 0)}\n`);
    process.stdout.write(
      `  controller RSS (MiB)             ${atRest?.toFixed(0) ?? "?"} at rest; ${rss.length > 0 ? `${median(rss).toFixed(0)} median, ${Math.max(...rss).toFixed(0)} highest during the upgrades` : "no sample"}\n`,
    );
    process.stdout.write(`  steps (status.history, 1 s resolution):\n`);
    for (const [step, xs] of steps)
      process.stdout.write(`    ${step.padEnd(12)} ${fmt(xs, 0)} s\n`);
  } finally {
    await cleanup();
  }
}

await main();
