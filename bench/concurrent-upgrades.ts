// Many upgrades at once (issue 18.6): a fleet of ManagedApps with PVCs on the real Flux
// controllers, and --upgrades of them upgraded at the same moment. Nothing may be serialized that
// does not share an app or a suspend target, so every request should run its steps alongside the
// others; the one thing they share is the fleet's Git repository, where concurrent pushes race.
//
//   node bench/concurrent-upgrades.ts [--apps=200] [--upgrades=20] [--interval=10m]
//                                                                  (Node 24: `npx node …`)
//
// Starts its own full test bed unless CAIRN_TESTBED_KUBECONFIG names a running one. One
// namespace holds the fleet: app i is a Deployment (one kwok pod, image
// registry.invalid/app:1.0.0) mounting a ReadWriteOnce PVC of the CSI simulator, both in one Git
// repository at apps/app-i/, its own Kustomization (interval --interval), and a ManagedApp with
// snapshots on. Cairn runs as it ships (src/main.ts under deploy/'s RBAC, leader election on).
// Once every app is Ready, the bench creates --upgrades UpgradeRequests at once (the image to
// 1.1.0) and measures:
//   - wall time from the first create to the last Complete, and each request's duration;
//   - overlap: the most requests in their working steps (Suspend … HealthCheck, from
//     status.history) at one moment, and the time they spent waiting in Admit;
//   - API requests per minute of Cairn's ServiceAccount during the upgrades (the API server's
//     own count per FlowSchema);
//   - RSS of the controller process, once a second, during the upgrades.
// Progress goes to stderr, the table to stdout. Exits 1 if any request did not succeed.
import { cpus, totalmem } from "node:os";
import { setTimeout as delay } from "node:timers/promises";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import type { KubeObject } from "../src/kube/client.ts";
import { createNamespace, gitWriteSecret } from "../testbed/src/demo-app.ts";
import { commitFiles, createBareRepo } from "../testbed/src/git-fixtures.ts";
import {
  benchController,
  controllerFlowSchema,
  dispatchedUnder,
  fullBed,
  tearDown,
} from "./support/bed.ts";
import { fleetKustomization, fleetSource } from "./support/fleet.ts";
import { median, pool, readyStatus, rssMiB, wholeFlag, withRetry } from "./support/util.ts";

const { values } = parseArgs({
  options: {
    apps: { type: "string", default: "200" },
    upgrades: { type: "string", default: "20" },
    interval: { type: "string", default: "10m" },
  },
});
const APPS = wholeFlag("apps", values.apps, 1);
const UPGRADES = wholeFlag("upgrades", values.upgrades, 1);
if (UPGRADES > APPS) throw new Error("--upgrades must not exceed --apps");
const INTERVAL = values.interval;
const API = "cairn.dev/v1alpha1";
const IMAGE = "registry.invalid/app";
const READY_TIMEOUT_MS = 30 * 60_000;
const UPGRADE_TIMEOUT_MS = 20 * 60_000;
/** The steps in which a request works on its app, as opposed to waiting for it (Admit). */
const WORKING = new Set(["Suspend", "ScaleDown", "Snapshot", "Commit", "Resume", "AwaitFlux"]);
const FLOW = "cairn-bench-concurrent";

const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
const nameOf = (i: number) => `app-${String(i).padStart(4, "0")}`;

function repoFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < APPS; i++) {
    const name = nameOf(i);
    const labels = { app: name };
    files[`apps/${name}/deployment.yaml`] = stringify({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              {
                name: "app",
                image: `${IMAGE}:1.0.0`,
                volumeMounts: [{ name: "data", mountPath: "/data" }],
              },
            ],
            volumes: [{ name: "data", persistentVolumeClaim: { claimName: `${name}-data` } }],
          },
        },
      },
    });
    files[`apps/${name}/pvc.yaml`] = stringify({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: `${name}-data` },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
    });
  }
  return files;
}

function clusterObjects(
  namespace: string,
  repoUrl: string,
  labels: Readonly<Record<string, string>>,
): KubeObject[] {
  const objects: KubeObject[] = [fleetSource(namespace, repoUrl, INTERVAL)];
  for (let i = 0; i < APPS; i++) {
    const name = nameOf(i);
    objects.push(fleetKustomization(name, namespace, INTERVAL), {
      apiVersion: API,
      kind: "ManagedApp",
      metadata: { name, namespace, labels: { ...labels } },
      spec: {
        gitPath: `apps/${name}/deployment.yaml`,
        kustomizationRef: { name },
        volumeSnapshots: { enabled: true },
        git: { secretRef: { name: "git-write" } },
      },
    });
  }
  return objects;
}

interface Finished {
  readonly name: string;
  readonly reason: string;
  readonly message: string;
  readonly startedAt: number;
  readonly completedAt: number;
  readonly history: readonly { name: string; startedAt: string; completedAt: string }[];
}

function finishedOf(obj: KubeObject): Finished | undefined {
  const status = obj["status"] as
    | {
        conditions?: { type: string; status: string; reason: string; message: string }[];
        startedAt?: string;
        completedAt?: string;
        history?: { name: string; startedAt: string; completedAt: string }[];
      }
    | undefined;
  const complete = status?.conditions?.find((c) => c.type === "Complete");
  // Finished once Complete is set and the finalizer (the app's lock) is gone.
  if (!complete || complete.status === "Unknown") return undefined;
  if (((obj.metadata["finalizers"] as string[] | undefined) ?? []).length > 0) return undefined;
  return {
    name: obj.metadata.name ?? "",
    reason: complete.reason,
    message: complete.message,
    startedAt: Date.parse(obj.metadata["creationTimestamp"] as string),
    completedAt: Date.parse(status?.completedAt ?? ""),
    history: status?.history ?? [],
  };
}

/** The most requests inside their working steps at one moment. */
function peakOverlap(done: readonly Finished[]): number {
  const edges: [number, number][] = [];
  for (const r of done) {
    const working = r.history.filter((h) => WORKING.has(h.name));
    const from = working[0]?.startedAt;
    const to = working.at(-1)?.completedAt;
    if (from && to) edges.push([Date.parse(from), 1], [Date.parse(to), -1]);
  }
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let peak = 0;
  for (const [, d] of edges) peak = Math.max(peak, (now += d));
  return peak;
}

async function main(): Promise<void> {
  console.log(
    `concurrent-upgrades: ${APPS} apps with a PVC each, ${UPGRADES} upgrades at once, ` +
      `Kustomizations every ${INTERVAL} (Node ${process.version}, ${cpus().length} CPUs, ` +
      `${Math.round(totalmem() / 1024 ** 3)} GiB)`,
  );
  const bed = await fullBed(log);
  const { admin, git, apiMetrics } = bed;
  const cairn = await benchController(bed, {
    suffix: "-bench-concurrent",
    labels: { "cairn.dev/test": "bench-concurrent" },
    leaderElect: true,
  });
  const namespace = `bench-concurrent-${Date.now().toString(36)}`;
  const schema = controllerFlowSchema(FLOW, cairn.namespace, cairn.serviceAccount);
  const cleanup = () => tearDown(bed, cairn, namespace, [schema]);
  process.once("SIGINT", () => void cleanup().then(() => process.exit(130)));
  const verdict = { failed: false };
  try {
    await admin.apply(schema, { force: true });
    await createNamespace(admin, namespace);
    await admin.create(gitWriteSecret(namespace, "git-write", git.username, git.password));
    const repo = `${namespace}-fleet`;
    await createBareRepo(git.root, repo);
    await commitFiles(git.root, repo, repoFiles(), "The fleet");
    const objects = clusterObjects(namespace, `${git.url}/${repo}.git`, cairn.labels);
    await pool(objects, 16, async (obj) => {
      await withRetry(() => admin.create(obj));
    });
    await cairn.start();
    const pid = cairn.process?.pid ?? 0;

    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      const { items } = await admin.list(API, "ManagedApp", { namespace });
      const ready = items.filter((a) => readyStatus(a) === "True").length;
      log(`${ready}/${APPS} ManagedApps Ready`);
      if (ready >= APPS) break;
      if (Date.now() > deadline) throw new Error(`only ${ready} of ${APPS} apps became Ready`);
      if (!cairn.process?.running) throw new Error(`the controller exited:\n${cairn.logTail()}`);
      await delay(10_000);
    }

    const rss: number[] = [];
    const sampler = setInterval(() => {
      const v = rssMiB(pid);
      if (v !== undefined) rss.push(v);
    }, 1_000);
    const before = dispatchedUnder(await apiMetrics(), FLOW);
    const t0 = performance.now();
    const names = Array.from({ length: UPGRADES }, (_, i) => nameOf(i));
    await Promise.all(
      names.map((app) =>
        admin.create({
          apiVersion: API,
          kind: "UpgradeRequest",
          metadata: { name: `${app}-to-110`, namespace },
          spec: {
            managedAppRef: { name: app },
            targetVersion: { images: [{ name: IMAGE, tag: "1.1.0" }] },
          },
        }),
      ),
    );
    log(`created ${UPGRADES} UpgradeRequests`);
    const done = new Map<string, Finished>();
    const until = Date.now() + UPGRADE_TIMEOUT_MS;
    try {
      while (done.size < UPGRADES) {
        if (Date.now() > until) throw new Error(`${done.size} of ${UPGRADES} finished in time`);
        if (!cairn.process?.running) throw new Error(`the controller exited:\n${cairn.logTail()}`);
        const { items } = await admin.list(API, "UpgradeRequest", { namespace });
        for (const obj of items) {
          const f = finishedOf(obj);
          if (f && !done.has(f.name)) {
            done.set(f.name, f);
            log(
              `${f.name}: ${f.reason} after ${((f.completedAt - f.startedAt) / 1000).toFixed(1)} s`,
            );
          }
        }
        await delay(500);
      }
    } finally {
      clearInterval(sampler);
    }
    const wall = (performance.now() - t0) / 1000;
    const minutes = wall / 60;
    const requests = dispatchedUnder(await apiMetrics(), FLOW) - before;
    const results = [...done.values()];
    const durations = results.map((r) => (r.completedAt - r.startedAt) / 1000);
    const admitWaits = results.map((r) => {
      const admit = r.history.find((h) => h.name === "Admit");
      return admit ? (Date.parse(admit.completedAt) - Date.parse(admit.startedAt)) / 1000 : NaN;
    });
    const notOk = results.filter((r) => r.reason !== "Succeeded");
    const rows: [string, string][] = [
      ["requests succeeded", `${UPGRADES - notOk.length} of ${UPGRADES}`],
      ["wall time, first create → last finished (s)", wall.toFixed(1)],
      [
        "per request, median / min / max (s)",
        `${median(durations).toFixed(1)} / ${Math.min(...durations).toFixed(1)} / ${Math.max(...durations).toFixed(1)}`,
      ],
      ["most requests in working steps at once", String(peakOverlap(results))],
      ["longest wait in Admit (s)", Math.max(...admitWaits).toFixed(1)],
      ["API requests during the upgrades", String(requests)],
      ["API requests per minute", (requests / minutes).toFixed(0)],
      ["API requests per upgrade", (requests / UPGRADES).toFixed(0)],
      ["RSS median / highest (MiB)", `${median(rss).toFixed(0)} / ${Math.max(...rss).toFixed(0)}`],
    ];
    // Where the time went: each step's median and longest duration over the requests.
    const stepNames = [...new Set(results.flatMap((r) => r.history.map((h) => h.name)))];
    for (const step of stepNames) {
      const xs = results.flatMap((r) =>
        r.history
          .filter((h) => h.name === step)
          .map((h) => (Date.parse(h.completedAt) - Date.parse(h.startedAt)) / 1000),
      );
      rows.push([
        `  step ${step}, median / longest (s)`,
        `${median(xs).toFixed(1)} / ${Math.max(...xs).toFixed(1)}`,
      ]);
    }
    const width = Math.max(...rows.map(([l]) => l.length));
    for (const [label, value] of rows) console.log(`${label.padEnd(width)}  ${value}`);
    for (const r of notOk) log(`${r.name} ended ${r.reason}: ${r.message}`);
    verdict.failed = notOk.length > 0;
  } finally {
    await cleanup();
  }
  if (verdict.failed) process.exitCode = 1;
}

await main();
