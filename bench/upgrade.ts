// One happy-path chart upgrade of the demo app, repeated: wall time, the controller's own share,
// and the API requests Cairn makes per upgrade.
//
//   node bench/upgrade.ts [--runs=5]                (Node 24: `npx node …`)
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
//   - the steps' durations from status.history.
// Results go to stdout as medians with min–max; progress and logs to stderr.
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { KubeClient } from "../src/kube/client.ts";
import { LocalCairn } from "../testbed/src/cairn.ts";
import { Cluster, type GitAccess } from "../testbed/src/cluster.ts";
import { installManagedDemo, createNamespace } from "../testbed/src/demo-app.ts";
import { eventually } from "../testbed/src/poll.ts";
import { httpGet } from "../testbed/src/readiness.ts";
import { ClusterState } from "../testbed/src/state.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "5" } } });
const RUNS = Number(values.runs);
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
  const reuse = process.env["CAIRN_TESTBED_KUBECONFIG"];
  let cluster: Cluster | undefined;
  let kubeconfig: string;
  let dir: string;
  let git: GitAccess;
  let helmRepoUrl: string;
  if (reuse) {
    kubeconfig = reuse;
    dir = dirname(reuse);
    const state = ClusterState.parse(JSON.parse(await readFile(join(dir, "cluster.json"), "utf8")));
    if (!state.git || !state.helmRepoUrl) throw new Error(`${reuse}: not a full test bed`);
    git = state.git;
    helmRepoUrl = state.helmRepoUrl;
  } else {
    log("starting a full test bed …");
    cluster = await Cluster.start({ profile: "full", log });
    kubeconfig = cluster.kubeconfig;
    dir = cluster.dir;
    if (!cluster.git || !cluster.helmRepoUrl)
      throw new Error("the full test bed has no git server");
    git = cluster.git;
    helmRepoUrl = cluster.helmRepoUrl;
  }
  const admin = KubeClient.fromKubeconfigFile(kubeconfig);
  const cairn = await LocalCairn.prepare({
    admin,
    clusterKubeconfig: kubeconfig,
    suffix: "-bench",
    labels: { "cairn.dev/test": "bench-upgrade" },
  });
  const namespace = `bench-upgrade-${Date.now().toString(36)}`;
  const flowSchema = {
    apiVersion: "flowcontrol.apiserver.k8s.io/v1",
    kind: "FlowSchema",
    metadata: { name: "cairn-bench-upgrade" },
    spec: {
      priorityLevelConfiguration: { name: "workload-high" },
      matchingPrecedence: 150,
      distinguisherMethod: { type: "ByUser" },
      rules: [
        {
          subjects: [
            {
              kind: "ServiceAccount",
              serviceAccount: { namespace: cairn.namespace, name: cairn.serviceAccount },
            },
          ],
          resourceRules: [
            {
              verbs: ["*"],
              apiGroups: ["*"],
              resources: ["*"],
              namespaces: ["*"],
              clusterScope: true,
            },
          ],
          nonResourceRules: [{ verbs: ["*"], nonResourceURLs: ["*"] }],
        },
      ],
    },
  };
  const tls = {
    ca: await readFile(join(dir, "ca.crt")),
    cert: await readFile(join(dir, "admin.crt")),
    key: await readFile(join(dir, "admin.key")),
  };
  const apiMetrics = async () =>
    (await httpGet({ url: `${admin.server}/metrics`, ...tls, accept: () => true }, 10_000)).body;
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

  const cleanup = async () => {
    await cairn.cleanup().catch(() => undefined);
    await admin
      .delete({ apiVersion: "v1", kind: "Namespace", name: namespace })
      .catch(() => undefined);
    await admin
      .delete({
        apiVersion: flowSchema.apiVersion,
        kind: "FlowSchema",
        name: flowSchema.metadata.name,
      })
      .catch(() => undefined);
    await cluster?.stop();
  };
  process.once("SIGINT", () => void cleanup().then(() => process.exit(130)));
  try {
    await admin.apply(flowSchema, { force: true });
    await createNamespace(admin, namespace);
    await installManagedDemo(admin, git, helmRepoUrl, {
      namespace,
      repo: `${namespace}-config`,
      labels: cairn.labels,
    });
    await cairn.start();
    const appRef = { apiVersion: API, kind: "ManagedApp", namespace, name: "demo" };
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
    for (let i = 0; i < RUNS; i++) {
      const to = i % 2 === 0 ? "1.1.0" : "1.0.0";
      const name = `bench-${i}`;
      const [r0, s0] = [await dispatched(), await ownSeconds()];
      const t0 = performance.now();
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
        `${name} → ${to}: ${wall.toFixed(1)} s wall, ${(s1 - s0).toFixed(2)} s in reconcile, ${r1 - r0} API requests`,
      );
    }
    process.stdout.write(`\nUpgrade benchmark: ${RUNS} runs (median, min–max)\n`);
    process.stdout.write(`  wall time (create → Complete)   ${fmt(walls, 1)} s\n`);
    process.stdout.write(`  controller's own share           ${fmt(own)} s\n`);
    process.stdout.write(`  API requests per upgrade         ${fmt(requests, 0)}\n`);
    process.stdout.write(`  steps (status.history, 1 s resolution):\n`);
    for (const [step, xs] of steps)
      process.stdout.write(`    ${step.padEnd(12)} ${fmt(xs, 0)} s\n`);
  } finally {
    await cleanup();
  }
}

await main();
