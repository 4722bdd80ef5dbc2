// 1,000 ManagedApps against a real API server, with the controller as it ships (src/main.ts under
// deploy/'s RBAC, leader election on, default flags): how long until every app is Ready, how much
// memory the controller holds, how many API requests it makes per minute once nothing changes,
// and how quickly a pod's readiness change reaches the app's Ready condition.
//
//   node bench/managedapps.ts [--apps=1000] [--per-namespace=10] [--steady-minutes=10]
//                             [--samples=100]          (Node 24: `npx node …`)
//
// Starts its own control-plane test bed (Kubernetes and kwok, no Flux controllers) and installs
// Flux's and the snapshot CRDs into it. Each app is a Deployment (one kwok pod)
// mounting a statically bound ReadWriteOnce PVC, a Kustomization whose status (Ready, generation
// observed, inventory of both objects) the bench writes itself, as kustomize-controller would
// after applying them, and a ManagedApp. With no Flux controller running, nothing else rewrites
// those statuses, and every request the controller makes is for 1,000 apps at rest.
//
// Requests are counted by the API server: API Priority and Fairness counts the requests it
// dispatches per FlowSchema (apiserver_flowcontrol_dispatched_requests_total), and the bench
// adds FlowSchemas that match only the controller's ServiceAccount, one per kind of traffic
// (leases, Cairn's kinds, events, the rest). apiserver_request_total has no user-agent or user
// label, so it cannot tell the controller's requests from the other components'.
//
// Freshness: for --samples/2 apps in turn, the bench writes the pod's status as the kubelet does
// when its container turns unready (Ready and ContainersReady False), waits until its own watch
// sees the ManagedApp Ready=False, then writes it back and waits for Ready=True. Each sample is
// the time from sending the pod status to seeing the condition change.
//
// Progress and test-bed logs go to stderr, the results to stdout. The cluster is stopped at the
// end, also on an error or Ctrl-C.
import { readFileSync } from "node:fs";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { stringify } from "yaml";
import { KubeClient, type KubeObject } from "../src/kube/client.ts";
import { systemClock } from "../src/runtime/clock.ts";
import { Informer } from "../src/runtime/informer.ts";
import { REPO_ROOT, ensureBinaries } from "../testbed/src/binaries.ts";
import { installCrds } from "../testbed/src/cluster-objects.ts";
import { Cluster } from "../testbed/src/cluster.ts";
import { freePort } from "../testbed/src/ports.ts";
import { ManagedProcess } from "../testbed/src/process.ts";
import { httpGet } from "../testbed/src/readiness.ts";
import { loadKustomizeBase } from "../test/support/manifests.ts";
import { serviceAccountToken } from "../test/support/service-account.ts";
import { pool, withRetry } from "./support/util.ts";

// ---------------------------------------------------------------------------------------------
// Settings

function intFlag(name: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  if (arg === undefined) return fallback;
  const value = Number(arg.slice(name.length + 3));
  if (!Number.isSafeInteger(value) || value < 1)
    throw new Error(`--${name} must be a whole number`);
  return value;
}

const APPS = intFlag("apps", 1_000);
const PER_NAMESPACE = intFlag("per-namespace", 10);
const STEADY_MINUTES = intFlag("steady-minutes", 10);
const SAMPLES = intFlag("samples", 100);
const CONCURRENCY = 32;
const SETTLE_MS = 30_000;
const READY_TIMEOUT_MS = 15 * 60_000;
const SAMPLE_TIMEOUT_MS = 30_000;

const CONTROLLER_NS = "cairn-system";
const SERVICE_ACCOUNT = "cairn-controller";
const LABEL = "cairn-bench/app";

const nsOf = (i: number) => `bench-${String(Math.floor(i / PER_NAMESPACE)).padStart(3, "0")}`;
const appOf = (i: number) => `app-${String(i).padStart(4, "0")}`;

// ---------------------------------------------------------------------------------------------
// Helpers

const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? NaN;
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");

function readyCondition(obj: KubeObject): { status?: string; observedGeneration?: number } {
  const conditions = (obj["status"] as { conditions?: { type: string }[] } | undefined)?.conditions;
  return (conditions?.find((c) => c.type === "Ready") ?? {}) as {
    status?: string;
    observedGeneration?: number;
  };
}

// ---------------------------------------------------------------------------------------------
// The app objects

function appObjects(i: number): { objects: KubeObject[]; kustomizationStatus: unknown } {
  const ns = nsOf(i);
  const name = appOf(i);
  const labels = { [LABEL]: name };
  const claim = `data-${name}`;
  const pv = `bench-${ns}-${claim}`;
  const objects: KubeObject[] = [
    {
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: pv, labels },
      spec: {
        capacity: { storage: "1Gi" },
        accessModes: ["ReadWriteOnce"],
        persistentVolumeReclaimPolicy: "Retain",
        storageClassName: "",
        hostPath: { path: `/tmp/cairn-bench/${pv}` },
        claimRef: { apiVersion: "v1", kind: "PersistentVolumeClaim", namespace: ns, name: claim },
      },
    },
    {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: claim, namespace: ns, labels },
      spec: {
        accessModes: ["ReadWriteOnce"],
        storageClassName: "",
        volumeName: pv,
        resources: { requests: { storage: "1Gi" } },
      },
    },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name, namespace: ns, labels },
      spec: {
        replicas: 1,
        strategy: { type: "Recreate" },
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              {
                name: "app",
                image: "registry.invalid/app:1",
                volumeMounts: [{ name: "data", mountPath: "/data" }],
              },
            ],
            volumes: [{ name: "data", persistentVolumeClaim: { claimName: claim } }],
          },
        },
      },
    },
    {
      apiVersion: "kustomize.toolkit.fluxcd.io/v1",
      kind: "Kustomization",
      metadata: { name, namespace: ns },
      spec: {
        interval: "10m",
        path: `./apps/${name}`,
        prune: true,
        sourceRef: { kind: "GitRepository", name: "config" },
      },
    },
    {
      apiVersion: "cairn.dev/v1alpha1",
      kind: "ManagedApp",
      metadata: { name, namespace: ns },
      spec: { gitPath: `apps/${name}/deployment.yaml`, kustomizationRef: { name } },
    },
  ];
  // What kustomize-controller writes after applying and checking the two objects.
  const kustomizationStatus = {
    observedGeneration: 1,
    lastAppliedRevision: "main@sha1:0000000000000000000000000000000000000001",
    conditions: [
      {
        type: "Ready",
        status: "True",
        reason: "ReconciliationSucceeded",
        message: "Applied revision: main@sha1:0000000000000000000000000000000000000001",
        lastTransitionTime: now(),
        observedGeneration: 1,
      },
    ],
    inventory: {
      entries: [
        { id: `${ns}_${claim}__PersistentVolumeClaim`, v: "v1" },
        { id: `${ns}_${name}_apps_Deployment`, v: "v1" },
      ],
    },
  };
  return { objects, kustomizationStatus };
}

async function seed(client: KubeClient): Promise<void> {
  const namespaces = [...new Set(Array.from({ length: APPS }, (_, i) => nsOf(i)))];
  for (const ns of namespaces) {
    await withRetry(() =>
      client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } }),
    );
  }
  let done = 0;
  await pool(
    Array.from({ length: APPS }, (_, i) => i),
    CONCURRENCY,
    async (i) => {
      const { objects, kustomizationStatus } = appObjects(i);
      for (const obj of objects) await withRetry(() => client.create(obj));
      await withRetry(() =>
        client.patchStatus(
          {
            apiVersion: "kustomize.toolkit.fluxcd.io/v1",
            kind: "Kustomization",
            namespace: nsOf(i),
            name: appOf(i),
          },
          { status: kustomizationStatus },
        ),
      );
      if (++done % 100 === 0) log(`${done} apps created`);
    },
  );
}

/** Every app's pod Ready and PVC Bound, before the controller starts. */
async function waitForWorkloads(client: KubeClient): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const pods = (await client.list("v1", "Pod", { labelSelector: LABEL })).items;
    const ready = pods.filter((p) => readyCondition(p).status === "True").length;
    const pvcs = (await client.list("v1", "PersistentVolumeClaim", { labelSelector: LABEL })).items;
    const bound = pvcs.filter(
      (p) => (p["status"] as { phase?: string } | undefined)?.phase === "Bound",
    ).length;
    log(`${ready}/${APPS} pods Ready, ${bound}/${APPS} PVCs Bound`);
    if (ready >= APPS && bound >= APPS) return;
    if (Date.now() > deadline) throw new Error("the workloads did not come up in time");
    await delay(5_000);
  }
}

// ---------------------------------------------------------------------------------------------
// The controller and what the API server counts of it

const FLOWS = {
  leases: { apiGroups: ["coordination.k8s.io"], resources: ["leases"] },
  cairn: { apiGroups: ["cairn.dev"], resources: ["*"] },
  events: { apiGroups: ["events.k8s.io"], resources: ["events"] },
  other: { apiGroups: ["*"], resources: ["*"] },
} as const;
type Flow = keyof typeof FLOWS;

function flowSchemas(): KubeObject[] {
  return (Object.keys(FLOWS) as Flow[]).map((flow, index) => ({
    apiVersion: "flowcontrol.apiserver.k8s.io/v1",
    kind: "FlowSchema",
    metadata: { name: `cairn-bench-${flow}` },
    spec: {
      priorityLevelConfiguration: { name: "workload-high" },
      // Specific schemas first; "other" takes whatever the controller's account sends besides.
      matchingPrecedence: 150 + index,
      distinguisherMethod: { type: "ByUser" },
      rules: [
        {
          subjects: [
            {
              kind: "ServiceAccount",
              serviceAccount: { namespace: CONTROLLER_NS, name: SERVICE_ACCOUNT },
            },
          ],
          resourceRules: [
            {
              verbs: ["*"],
              ...FLOWS[flow],
              namespaces: ["*"],
              clusterScope: true,
            },
          ],
          ...(flow === "other"
            ? { nonResourceRules: [{ verbs: ["*"], nonResourceURLs: ["*"] }] }
            : {}),
        },
      ],
    },
  }));
}

interface ApiMetrics {
  readonly get: () => Promise<string>;
}

async function dispatched(metrics: ApiMetrics): Promise<Record<Flow, number>> {
  const text = await metrics.get();
  const counts = { leases: 0, cairn: 0, events: 0, other: 0 };
  for (const line of text.split("\n")) {
    if (!line.startsWith("apiserver_flowcontrol_dispatched_requests_total{")) continue;
    const flow = /flow_schema="cairn-bench-([a-z]+)"/.exec(line)?.[1] as Flow | undefined;
    if (flow && flow in counts) counts[flow] += Number(line.split(" ").at(-1));
  }
  return counts;
}

async function controllerKubeconfig(cluster: Cluster, client: KubeClient): Promise<string> {
  const rbac = loadKustomizeBase(join(REPO_ROOT, "deploy")).filter((o) =>
    [
      "Namespace",
      "ServiceAccount",
      "ClusterRole",
      "ClusterRoleBinding",
      "Role",
      "RoleBinding",
    ].includes(o.kind),
  );
  for (const obj of rbac) await client.apply(obj, { force: true });
  const token = await serviceAccountToken(client, CONTROLLER_NS, SERVICE_ACCOUNT, "bench-token");
  const path = join(cluster.dir, "cairn.kubeconfig");
  await writeFile(
    path,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        {
          name: "bench",
          cluster: { server: client.server, "certificate-authority": join(cluster.dir, "ca.crt") },
        },
      ],
      users: [{ name: "cairn", user: { token } }],
      contexts: [{ name: "bench", context: { cluster: "bench", user: "cairn" } }],
      "current-context": "bench",
    }),
    { mode: 0o600 },
  );
  return path;
}

/** The controller's resident memory, from procfs. */
function rssMiB(pid: number): number | undefined {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Watching the ManagedApps from outside

/** The bench's own view of every ManagedApp's Ready condition, with waiters on changes. */
class ReadyWatch {
  readonly informer: Informer;
  readonly #ready = new Set<string>();
  readonly #waiters = new Map<string, { want: string; resolve: () => void }>();
  readonly #counters = new Set<() => void>();

  constructor(client: KubeClient) {
    this.informer = new Informer({
      source: client,
      apiVersion: "cairn.dev/v1alpha1",
      kind: "ManagedApp",
      clock: systemClock(),
    });
    this.informer.onChange((ev) => {
      if (ev.type === "deleted") return;
      const c = readyCondition(ev.object);
      const current = c.status === "True" && c.observedGeneration === ev.object.metadata.generation;
      if (current) this.#ready.add(ev.key);
      else this.#ready.delete(ev.key);
      const waiter = this.#waiters.get(ev.key);
      if (waiter && c.status === waiter.want) {
        this.#waiters.delete(ev.key);
        waiter.resolve();
      }
      for (const check of [...this.#counters]) check();
    });
  }

  get readyCount(): number {
    return this.#ready.size;
  }

  /** Resolves when the count reaches n. */
  untilReady(n: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.#ready.size < n) return;
        this.#counters.delete(check);
        resolve();
      };
      this.#counters.add(check);
      check();
    });
  }

  /** Resolves when the app's Ready condition next shows `want`. */
  until(key: string, want: "True" | "False", timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(key);
        resolve(false);
      }, timeoutMs);
      this.#waiters.set(key, {
        want,
        resolve: () => {
          clearTimeout(timer);
          resolve(true);
        },
      });
    });
  }
}

/** The pod status the kubelet writes when the app's container turns unready, or ready again. */
function podReadiness(pod: KubeObject, ready: boolean): Record<string, unknown> {
  const status = pod["status"] as {
    conditions?: { type: string; status: string }[];
    containerStatuses?: { ready?: boolean }[];
  };
  const flip = new Set(["Ready", "ContainersReady"]);
  return {
    conditions: (status.conditions ?? []).map((c) =>
      flip.has(c.type)
        ? {
            ...c,
            status: ready ? "True" : "False",
            lastTransitionTime: now(),
            ...(ready
              ? { reason: undefined, message: undefined }
              : { reason: "ContainersNotReady", message: "containers with unready status: [app]" }),
          }
        : c,
    ),
    containerStatuses: (status.containerStatuses ?? []).map((c) => ({ ...c, ready })),
  };
}

// ---------------------------------------------------------------------------------------------
// The run

interface Results {
  readonly allReadyMs: number;
  readonly firstReadyMs: number;
  readonly rssAtReadyMiB: number;
  readonly rssSteadyMedianMiB: number;
  readonly rssSteadyMaxMiB: number;
  readonly rssMaxMiB: number;
  readonly perMinute: Record<Flow, number>;
  readonly totalPerMinute: number;
  readonly reconcilesPerMinute: number;
  readonly down: readonly number[];
  readonly up: readonly number[];
  readonly timeouts: number;
}

let cluster: Cluster | undefined;
let controller: ManagedProcess | undefined;

async function main(): Promise<void> {
  console.log(
    `managedapps: ${APPS} apps, ${PER_NAMESPACE} per namespace, ${STEADY_MINUTES} min steady ` +
      `state, ${SAMPLES} freshness samples (Node ${process.version}, ${cpus().length} CPUs, ` +
      `${Math.round(totalmem() / 1024 ** 3)} GiB)`,
  );
  const binaries = await ensureBinaries("full", log);
  const t0 = performance.now();
  cluster = await Cluster.start({ profile: "control-plane", binaries, log });
  const client = cluster.client();
  // Every kind the controller's informers list, or it never gets past syncing: Flux's (the
  // request controllers also read GitRepositories) and the snapshot CRDs.
  const crdSources = [
    binaries.snapshot,
    binaries.fluxSource,
    binaries.fluxKustomize,
    binaries.fluxHelm,
  ].filter((d): d is string => !!d);
  await installCrds(
    client,
    crdSources.map((d) => join(d, "crds")),
  );
  console.log(`cluster started in ${Math.round(performance.now() - t0)} ms`);
  const kubeconfig = await controllerKubeconfig(cluster, client);
  for (const fs of flowSchemas()) await client.apply(fs, { force: true });
  const pki = (file: string) => readFile(join(cluster?.dir ?? "", file));
  const tls = {
    ca: await pki("ca.crt"),
    cert: await pki("admin.crt"),
    key: await pki("admin.key"),
  };
  const metrics: ApiMetrics = {
    get: async () =>
      (await httpGet({ url: `${client.server}/metrics`, ...tls, accept: () => true }, 10_000)).body,
  };

  const seeded = performance.now();
  await seed(client);
  console.log(`created ${APPS} apps in ${Math.round(performance.now() - seeded)} ms`);
  await waitForWorkloads(client);

  const watch = new ReadyWatch(client);
  const abort = new AbortController();
  const watching = watch.informer.run(abort.signal);
  try {
    await watch.informer.waitForSync(abort.signal);
    const results = await measure(client, kubeconfig, watch, metrics);
    report(results);
  } finally {
    abort.abort();
    await watching;
  }
}

async function measure(
  client: KubeClient,
  kubeconfig: string,
  watch: ReadyWatch,
  metrics: ApiMetrics,
): Promise<Results> {
  const [healthPort, metricsPort] = [await freePort(), await freePort()];
  // Outside the cluster's folder, which is removed with the cluster: the log outlives the run.
  const logFile = join(await mkdtemp(join(tmpdir(), "cairn-bench-")), "cairn.log");
  log(`controller log: ${logFile}`);
  const started = performance.now();
  controller = ManagedProcess.start({
    name: "cairn",
    logFile,
    commandLine: {
      command: process.execPath,
      args: [
        join(REPO_ROOT, "src/main.ts"),
        `--kubeconfig=${kubeconfig}`,
        `--namespace=${CONTROLLER_NS}`,
        "--pod-name=cairn-bench-0",
        `--health-addr=127.0.0.1:${healthPort}`,
        `--metrics-addr=127.0.0.1:${metricsPort}`,
      ],
    },
  });
  const pid = controller.pid;
  const rss: number[] = [];
  const sampler = setInterval(() => {
    const value = rssMiB(pid);
    if (value !== undefined) rss.push(value);
  }, 1_000);
  try {
    let firstReadyMs = NaN;
    void watch.untilReady(1).then(() => (firstReadyMs = performance.now() - started));
    const progress = setInterval(
      () => log(`${watch.readyCount}/${APPS} ManagedApps Ready`),
      10_000,
    );
    const giveUp = new AbortController();
    const timeout = delay(READY_TIMEOUT_MS, undefined, { signal: giveUp.signal }).then(() => {
      throw new Error(`only ${watch.readyCount} of ${APPS} apps Ready:\n${controller?.logTail()}`);
    });
    timeout.catch(() => undefined);
    try {
      await Promise.race([watch.untilReady(APPS), timeout]);
    } finally {
      giveUp.abort();
      clearInterval(progress);
    }
    const allReadyMs = performance.now() - started;
    const rssAtReadyMiB = rssMiB(pid) ?? NaN;
    log(`all ${APPS} Ready after ${Math.round(allReadyMs)} ms; settling ${SETTLE_MS / 1000} s`);
    await delay(SETTLE_MS);

    const alive = () => {
      if (!controller?.running) {
        throw new Error(`the controller ${controller?.describeExit()}:\n${controller?.logTail()}`);
      }
    };
    const reconciles = async () => {
      alive();
      const { body } = await httpGet({
        url: `http://127.0.0.1:${metricsPort}/metrics`,
        accept: () => true,
      });
      return body
        .split("\n")
        .filter((l) => l.startsWith("cairn_reconcile_total{"))
        .reduce((sum, l) => sum + Number(l.split(" ").at(-1)), 0);
    };
    const before = await dispatched(metrics);
    const reconcilesBefore = await reconciles();
    const steadyFrom = rss.length;
    const windowStart = performance.now();
    for (let m = 1; m <= STEADY_MINUTES; m++) {
      await delay(60_000);
      alive();
      log(`steady state: minute ${m} of ${STEADY_MINUTES}, RSS ${rss.at(-1)?.toFixed(0)} MiB`);
    }
    const minutes = (performance.now() - windowStart) / 60_000;
    const after = await dispatched(metrics);
    const reconcilesAfter = await reconciles();
    const perMinute = Object.fromEntries(
      (Object.keys(after) as Flow[]).map((f) => [f, (after[f] - before[f]) / minutes]),
    ) as Record<Flow, number>;
    const steadyRss = rss.slice(steadyFrom);

    // Freshness, one app at a time.
    const down: number[] = [];
    const up: number[] = [];
    let timeouts = 0;
    const apps = Math.max(1, Math.floor(SAMPLES / 2));
    for (let s = 0; s < apps; s++) {
      const i = Math.floor((s * APPS) / apps);
      const key = `${nsOf(i)}/${appOf(i)}`;
      const [pod] = (
        await client.list("v1", "Pod", {
          namespace: nsOf(i),
          labelSelector: `${LABEL}=${appOf(i)}`,
        })
      ).items;
      if (!pod) throw new Error(`no pod for ${key}`);
      const ref = {
        apiVersion: "v1",
        kind: "Pod",
        namespace: nsOf(i),
        name: pod.metadata.name ?? "",
      };
      for (const [ready, into] of [
        [false, down],
        [true, up],
      ] as const) {
        const status = podReadiness(await client.get(ref), ready);
        const seen = watch.until(key, ready ? "True" : "False", SAMPLE_TIMEOUT_MS);
        const sent = performance.now();
        await client.patchStatus(ref, { status });
        if (await seen) into.push(performance.now() - sent);
        else timeouts++;
        await delay(200);
      }
    }
    return {
      allReadyMs,
      firstReadyMs,
      rssAtReadyMiB,
      rssSteadyMedianMiB: percentile(steadyRss, 50),
      rssSteadyMaxMiB: Math.max(...steadyRss),
      rssMaxMiB: Math.max(...rss),
      perMinute,
      totalPerMinute: Object.values(perMinute).reduce((a, b) => a + b, 0),
      reconcilesPerMinute: (reconcilesAfter - reconcilesBefore) / minutes,
      down,
      up,
      timeouts,
    };
  } finally {
    clearInterval(sampler);
  }
}

function report(r: Results): void {
  const all = [...r.down, ...r.up];
  const rows: [string, string][] = [
    ["controller start → first app Ready (s)", (r.firstReadyMs / 1000).toFixed(1)],
    [`controller start → all ${APPS} apps Ready (s)`, (r.allReadyMs / 1000).toFixed(1)],
    ["RSS when all are Ready (MiB)", r.rssAtReadyMiB.toFixed(0)],
    ["RSS in steady state, median (MiB)", r.rssSteadyMedianMiB.toFixed(0)],
    ["RSS in steady state, highest sample (MiB)", r.rssSteadyMaxMiB.toFixed(0)],
    ["RSS, highest sample of the run (MiB)", r.rssMaxMiB.toFixed(0)],
    ["API requests/min in steady state, total", r.totalPerMinute.toFixed(1)],
    ["  leases (leader election)", r.perMinute.leases.toFixed(1)],
    ["  cairn.dev (ManagedApps, requests)", r.perMinute.cairn.toFixed(1)],
    ["  events", r.perMinute.events.toFixed(1)],
    ["  everything else (watches, lists, Secrets)", r.perMinute.other.toFixed(1)],
    ["reconciles/min in steady state", r.reconcilesPerMinute.toFixed(1)],
    ["freshness, pod unready → Ready=False p50 (ms)", percentile(r.down, 50).toFixed(0)],
    ["freshness, pod unready → Ready=False p99 (ms)", percentile(r.down, 99).toFixed(0)],
    ["freshness, pod ready → Ready=True p50 (ms)", percentile(r.up, 50).toFixed(0)],
    ["freshness, pod ready → Ready=True p99 (ms)", percentile(r.up, 99).toFixed(0)],
    [
      `freshness, both, p50 / p99 (ms, ${all.length} samples)`,
      `${percentile(all, 50).toFixed(0)} / ${percentile(all, 99).toFixed(0)}`,
    ],
    ["freshness samples that timed out", String(r.timeouts)],
  ];
  const width = Math.max(...rows.map(([l]) => l.length));
  for (const [label, value] of rows) console.log(`${label.padEnd(width)}  ${value.padStart(10)}`);
}

async function shutdown(): Promise<void> {
  const c = controller;
  controller = undefined;
  await c?.stop();
  const k = cluster;
  cluster = undefined;
  await k?.stop();
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping the controller and the cluster`);
    void shutdown().finally(() => process.exit(130));
  });
}
try {
  await main();
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await shutdown();
}
