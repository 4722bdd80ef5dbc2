// ManagedApps at rest with the real Flux controllers (issue 19.5): every app's Kustomization
// reconciles on a 1-minute interval, so kustomize-controller passes each one through
// Ready=Unknown/Reconciling once a minute without changing anything. Cairn must stay quiet:
// how many API requests it makes per minute (by kind), how often a ManagedApp's Ready flips,
// how many Warning Events it records, and how much memory it holds.
//
//   node bench/flux-at-rest.ts [--apps=1000] [--helm-apps=100] [--minutes=10] [--interval=1m]
//                              [--renew-deadline=<seconds>] [--min-ready=<percent>]
//                              [--bring-up-interval=10m]
//                                                                  (Node 24: `npx node …`)
//
// --renew-deadline lengthens the controller's lease (duration = deadline + 5 s) for a machine so
// loaded that the API server answers a renewal only after the shipped 30 s deadline (the
// controller then exits, as it must, and the run ends). Renewals still happen every retry period,
// so the lease request count does not change.
// --interval (default 1m) is the Kustomizations' and HelmReleases' interval. On a 2-core machine
// kustomize-controller cannot apply 1,000 Kustomizations that each reconcile every minute (it
// spent 1.3 cores and made 514 of 1,000 apps Ready in 17 minutes); a longer interval lets it
// bring a fleet that size up, and the routine reconciles then come at 1,000/interval a minute.
// --bring-up-interval creates the Kustomizations with that interval instead, so that such a
// machine can bring the fleet up; once the apps are Ready the bench sets every Kustomization's
// interval to --interval and waits until kustomize-controller has reconciled each at that new
// generation (and every app is Ready again) before the settle. The window then runs at
// --interval, as fast as kustomize-controller gets through its queue: the table says how many
// routine reconciles it made.
// --min-ready (default 100) lets the window start after the 30-minute wait with only that share
// of the apps Ready (on such a machine kustomize-controller can fail a few first builds for a
// long time). Apps not Ready when the window starts are left out of the flip and Warning counts
// (becoming Ready is a real health change) and named in the output; the API request counts
// include them.
//
// Starts its own full test bed (Flux, Git server, Helm repository) unless
// CAIRN_TESTBED_KUBECONFIG names a running one. One namespace holds every app:
//   - plain app i: a Deployment (one kwok pod) in Git at apps/app-i/, its Kustomization;
//   - Helm app j (--helm-apps of the --apps): the demo chart's HelmRelease (a StatefulSet with a
//     volumeClaimTemplate and a Deployment with a PVC) in Git at apps/helm-j/, its Kustomization,
//     one shared HelmRepository;
//   - a ManagedApp per app, with Cairn as it ships (src/main.ts under deploy/'s RBAC, default
//     flags, leader election on) selecting them by label.
// Once every app is Ready, a 60 s settle, then --minutes at rest, measuring:
//   - API requests/min of Cairn's ServiceAccount, counted by the API server per FlowSchema
//     (apiserver_flowcontrol_dispatched_requests_total): status writes, Events, leases, other;
//   - Ready flips: changes of a ManagedApp's Ready status seen by the bench's own watch;
//   - Warning Events about ManagedApps (new ones and repeats of a series);
//   - routine reconciles: Kustomizations seen entering Ready=Unknown (proof Flux was busy);
//   - RSS of the controller process (procfs, once a second): median and highest.
// Progress goes to stderr, the table to stdout. Exits 1 if a Ready flip or a Warning Event was
// seen during the window.
import { cpus, totalmem } from "node:os";
import { setTimeout as delay } from "node:timers/promises";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import type { KubeClient, KubeObject } from "../src/kube/client.ts";
import { systemClock } from "../src/runtime/clock.ts";
import { Informer } from "../src/runtime/informer.ts";
import { createNamespace } from "../testbed/src/demo-app.ts";
import { commitFiles, createBareRepo } from "../testbed/src/git-fixtures.ts";
import { benchController, fullBed, tearDown } from "./support/bed.ts";
import { fleetKustomization, fleetSource } from "./support/fleet.ts";
import { median, pool, readyStatus, rssMiB, wholeFlag, withRetry } from "./support/util.ts";

const { values } = parseArgs({
  options: {
    apps: { type: "string", default: "1000" },
    "helm-apps": { type: "string" },
    minutes: { type: "string", default: "10" },
    "renew-deadline": { type: "string" },
    "min-ready": { type: "string", default: "100" },
    interval: { type: "string", default: "1m" },
    "bring-up-interval": { type: "string" },
  },
});
const APPS = wholeFlag("apps", values.apps, 1);
const HELM_APPS = wholeFlag("helm-apps", values["helm-apps"] ?? String(Math.ceil(APPS / 10)), 0);
const MINUTES = wholeFlag("minutes", values.minutes, 1);
const RENEW_DEADLINE =
  values["renew-deadline"] === undefined
    ? undefined
    : wholeFlag("renew-deadline", values["renew-deadline"], 10);
const MIN_READY = wholeFlag("min-ready", values["min-ready"], 1);
const INTERVAL = values.interval;
const BRING_UP_INTERVAL = values["bring-up-interval"] ?? INTERVAL;
for (const [flag, value] of [
  ["interval", INTERVAL],
  ["bring-up-interval", BRING_UP_INTERVAL],
] as const)
  if (!/^\d+[smh]$/.test(value)) throw new Error(`--${flag} is a Go duration such as 1m or 10m`);
if (MIN_READY > 100) throw new Error("--min-ready is a percentage, at most 100");
if (HELM_APPS > APPS) throw new Error("--helm-apps cannot exceed --apps");
const CONCURRENCY = 16;
const SETTLE_MS = 60_000;
const READY_TIMEOUT_MS = 30 * 60_000;
const API = "cairn.dev/v1alpha1";
const KS = "kustomize.toolkit.fluxcd.io/v1";

const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
const isHelm = (i: number) => i < HELM_APPS;
const nameOf = (i: number) =>
  isHelm(i) ? `helm-${String(i).padStart(4, "0")}` : `app-${String(i).padStart(4, "0")}`;

// ---------------------------------------------------------------------------------------------
// The apps

/** The files of the fleet's Git repository. */
function repoFiles(namespace: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < APPS; i++) {
    const name = nameOf(i);
    if (isHelm(i)) {
      files[`apps/${name}/release.yaml`] = stringify({
        apiVersion: "helm.toolkit.fluxcd.io/v2",
        kind: "HelmRelease",
        metadata: { name, namespace },
        spec: {
          interval: INTERVAL,
          chart: {
            spec: {
              chart: "demo",
              version: "1.0.0",
              sourceRef: { kind: "HelmRepository", name: "demo" },
            },
          },
          values: { storageClassName: "" },
        },
      });
    } else {
      const labels = { app: name };
      files[`apps/${name}/deployment.yaml`] = stringify({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name, labels: { ...labels, "app.kubernetes.io/version": "1.0.0" } },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: { containers: [{ name: "app", image: "registry.invalid/app:1.0.0" }] },
          },
        },
      });
    }
  }
  return files;
}

function clusterObjects(
  namespace: string,
  repoUrl: string,
  helmRepoUrl: string,
  labels: Readonly<Record<string, string>>,
): KubeObject[] {
  const objects: KubeObject[] = [fleetSource(namespace, repoUrl, "10m")];
  if (HELM_APPS > 0) {
    objects.push({
      apiVersion: "source.toolkit.fluxcd.io/v1",
      kind: "HelmRepository",
      metadata: { name: "demo", namespace },
      spec: { url: helmRepoUrl, interval: "10m" },
    });
  }
  for (let i = 0; i < APPS; i++) {
    const name = nameOf(i);
    const file = isHelm(i) ? "release.yaml" : "deployment.yaml";
    objects.push(fleetKustomization(name, namespace, BRING_UP_INTERVAL), {
      apiVersion: API,
      kind: "ManagedApp",
      metadata: { name, namespace, labels: { ...labels } },
      spec: {
        gitPath: `apps/${name}/${file}`,
        kustomizationRef: { name },
        ...(isHelm(i) ? { helmReleaseRef: { name } } : {}),
      },
    });
  }
  return objects;
}

// ---------------------------------------------------------------------------------------------
// What the API server counts of Cairn

const FLOWS = {
  status: {
    apiGroups: ["cairn.dev"],
    resources: ["managedapps/status", "upgraderequests/status", "rollbackrequests/status"],
  },
  events: { apiGroups: ["events.k8s.io", ""], resources: ["events"] },
  leases: { apiGroups: ["coordination.k8s.io"], resources: ["leases"] },
  other: { apiGroups: ["*"], resources: ["*"] },
} as const;
type Flow = keyof typeof FLOWS;

function flowSchemas(namespace: string, serviceAccount: string): KubeObject[] {
  return (Object.keys(FLOWS) as Flow[]).map((flow, index) => ({
    apiVersion: "flowcontrol.apiserver.k8s.io/v1",
    kind: "FlowSchema",
    metadata: { name: `cairn-bench-rest-${flow}` },
    spec: {
      priorityLevelConfiguration: { name: "workload-high" },
      // Specific schemas first; "other" takes whatever the account sends besides.
      matchingPrecedence: 150 + index,
      distinguisherMethod: { type: "ByUser" },
      rules: [
        {
          subjects: [
            { kind: "ServiceAccount", serviceAccount: { namespace, name: serviceAccount } },
          ],
          resourceRules: [{ verbs: ["*"], ...FLOWS[flow], namespaces: ["*"], clusterScope: true }],
          ...(flow === "other"
            ? { nonResourceRules: [{ verbs: ["*"], nonResourceURLs: ["*"] }] }
            : {}),
        },
      ],
    },
  }));
}

function dispatched(text: string): Record<Flow, number> {
  const counts: Record<Flow, number> = { status: 0, events: 0, leases: 0, other: 0 };
  for (const line of text.split("\n")) {
    if (!line.startsWith("apiserver_flowcontrol_dispatched_requests_total{")) continue;
    const flow = /flow_schema="cairn-bench-rest-([a-z]+)"/.exec(line)?.[1] as Flow | undefined;
    if (flow && flow in counts) counts[flow] += Number(line.split(" ").at(-1));
  }
  return counts;
}

/** Warning Events about ManagedApps, by Event name, with their series counts. */
async function warnings(
  admin: KubeClient,
  namespace: string,
  excluded: ReadonlySet<string>,
): Promise<Map<string, number>> {
  const { items } = await admin.list("events.k8s.io/v1", "Event", { namespace });
  const out = new Map<string, number>();
  for (const e of items) {
    if (e["type"] !== "Warning") continue;
    const regarding = e["regarding"] as { kind?: string; name?: string } | undefined;
    if (regarding?.kind !== "ManagedApp") continue;
    if (excluded.has(`${namespace}/${regarding.name ?? ""}`)) continue;
    const count = (e["series"] as { count?: number } | undefined)?.count ?? 1;
    out.set(e.metadata.name ?? "", count);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The run

/**
 * kustomize-controller has finished a reconcile of the object's current generation. Not its
 * Ready: at a short interval some Kustomization is always in a routine reconcile (Ready=Unknown)
 * at the generation it already observed.
 */
function atGeneration(k: KubeObject): boolean {
  const status = k["status"] as { observedGeneration?: number } | undefined;
  return status?.observedGeneration === k.metadata.generation;
}

async function main(): Promise<void> {
  console.log(
    `flux-at-rest: ${APPS} apps (${HELM_APPS} Helm), Kustomizations every ${INTERVAL}` +
      (BRING_UP_INTERVAL === INTERVAL ? "" : ` (brought up at ${BRING_UP_INTERVAL})`) +
      `, ${MINUTES} min ` +
      `at rest (Node ${process.version}, ${cpus().length} CPUs, ${Math.round(totalmem() / 1024 ** 3)} GiB)` +
      (RENEW_DEADLINE === undefined ? "" : `, lease renew deadline ${RENEW_DEADLINE} s`),
  );
  const bed = await fullBed(log);
  const { admin, git, helmRepoUrl, apiMetrics } = bed;
  const cairn = await benchController(bed, {
    suffix: "-bench-rest",
    labels: { "cairn.dev/test": "bench-rest" },
    // As deployed: leader election on, with its default timings unless --renew-deadline.
    leaderElect: true,
    ...(RENEW_DEADLINE === undefined
      ? {}
      : {
          extraArgs: [
            `--lease-duration-seconds=${RENEW_DEADLINE + 5}`,
            `--renew-deadline-seconds=${RENEW_DEADLINE}`,
          ],
        }),
  });
  const namespace = `bench-rest-${Date.now().toString(36)}`;
  const schemas = flowSchemas(cairn.namespace, cairn.serviceAccount);

  const abort = new AbortController();
  const cleanup = async () => {
    abort.abort();
    await tearDown(bed, cairn, namespace, schemas);
  };
  process.once("SIGINT", () => void cleanup().then(() => process.exit(130)));
  const verdict = { failed: false };
  try {
    for (const fs of schemas) await admin.apply(fs, { force: true });
    await createNamespace(admin, namespace);
    const repo = `${namespace}-fleet`;
    await createBareRepo(git.root, repo);
    await commitFiles(git.root, repo, repoFiles(namespace), "The fleet");
    const objects = clusterObjects(namespace, `${git.url}/${repo}.git`, helmRepoUrl, cairn.labels);
    const t0 = performance.now();
    await pool(objects, CONCURRENCY, async (obj) => {
      await withRetry(() => admin.create(obj));
    });
    log(`created ${objects.length} objects in ${Math.round(performance.now() - t0)} ms`);

    // The bench's own watches: every ManagedApp's Ready, and Kustomizations entering Unknown.
    const apps = new Informer({
      source: admin,
      apiVersion: API,
      kind: "ManagedApp",
      namespace,
      clock: systemClock(),
    });
    const kustomizations = new Informer({
      source: admin,
      apiVersion: KS,
      kind: "Kustomization",
      namespace,
      clock: systemClock(),
    });
    const counting = { on: false, flips: 0, routine: 0 };
    const flipped = new Map<string, number>();
    /** Apps not Ready when the window started (--min-ready): left out of the counts. */
    const excluded = new Set<string>();
    apps.onChange((ev) => {
      if (ev.type !== "updated" || ev.resync || !counting.on || excluded.has(ev.key)) return;
      if (readyStatus(ev.old) !== readyStatus(ev.object)) {
        counting.flips++;
        flipped.set(ev.key, (flipped.get(ev.key) ?? 0) + 1);
      }
    });
    kustomizations.onChange((ev) => {
      if (ev.type !== "updated" || ev.resync || !counting.on) return;
      if (readyStatus(ev.old) !== "Unknown" && readyStatus(ev.object) === "Unknown") {
        counting.routine++;
      }
    });
    const running = [apps.run(abort.signal), kustomizations.run(abort.signal)];
    await apps.waitForSync(abort.signal);

    await cairn.start();
    const pid = cairn.process?.pid ?? 0;
    const rss: number[] = [];
    const sampler = setInterval(() => {
      const v = rssMiB(pid);
      if (v !== undefined) rss.push(v);
    }, 1_000);
    try {
      /** Waits until every app is Ready (and `settled` holds), or the timeout with --min-ready. */
      const waitReady = async (what: string, settled: () => number) => {
        const deadline = Date.now() + READY_TIMEOUT_MS;
        for (;;) {
          const ready = apps.list().filter((a) => readyStatus(a) === "True").length;
          const caughtUp = settled();
          log(`${ready}/${APPS} ManagedApps Ready, ${caughtUp}/${APPS} ${what}`);
          if (ready >= APPS && caughtUp >= APPS) return;
          if (Date.now() > deadline) {
            if (Math.min(ready, caughtUp) * 100 < APPS * MIN_READY)
              throw new Error(`only ${ready} of ${APPS} apps became Ready (${caughtUp} ${what})`);
            for (const a of apps.list())
              if (readyStatus(a) !== "True") excluded.add(`${namespace}/${a.metadata.name ?? ""}`);
            for (const k of kustomizations.list())
              if (!atGeneration(k)) excluded.add(`${namespace}/${k.metadata.name ?? ""}`);
            log(
              `${excluded.size} apps not Ready, left out of the counts: ${[...excluded].join(", ")}`,
            );
            return;
          }
          if (!cairn.process?.running)
            throw new Error(`the controller exited:\n${cairn.logTail()}`);
          await delay(10_000);
        }
      };
      await waitReady("Kustomizations listed", () => kustomizations.list().length);
      if (BRING_UP_INTERVAL !== INTERVAL) {
        log(`setting every Kustomization's interval to ${INTERVAL}`);
        await pool(kustomizations.list(), CONCURRENCY, async (k) => {
          await withRetry(() =>
            admin.mergePatch(
              { apiVersion: KS, kind: "Kustomization", namespace, name: k.metadata.name ?? "" },
              { spec: { interval: INTERVAL } },
            ),
          );
        });
        await waitReady(
          `Kustomizations reconciled at the new interval`,
          () =>
            kustomizations
              .list()
              .filter(
                (k) =>
                  atGeneration(k) && (k["spec"] as { interval?: string }).interval === INTERVAL,
              ).length,
        );
      }
      log(
        `${excluded.size === 0 ? "all" : APPS - excluded.size} Ready; settling ${SETTLE_MS / 1000} s`,
      );
      await delay(SETTLE_MS);

      const before = dispatched(await apiMetrics());
      const warningsBefore = await warnings(admin, namespace, excluded);
      const steadyFrom = rss.length;
      counting.on = true;
      const start = performance.now();
      for (let m = 1; m <= MINUTES; m++) {
        await delay(60_000);
        if (!cairn.process?.running) throw new Error(`the controller exited:\n${cairn.logTail()}`);
        log(
          `minute ${m} of ${MINUTES}: ${counting.routine} routine reconciles seen, ` +
            `${counting.flips} Ready flips, RSS ${rss.at(-1)?.toFixed(0)} MiB`,
        );
      }
      counting.on = false;
      const minutes = (performance.now() - start) / 60_000;
      const after = dispatched(await apiMetrics());
      const warningsAfter = await warnings(admin, namespace, excluded);
      let newWarnings = 0;
      for (const [name, count] of warningsAfter)
        newWarnings += count - (warningsBefore.get(name) ?? 0);
      const perMinute = Object.fromEntries(
        (Object.keys(after) as Flow[]).map((f) => [f, (after[f] - before[f]) / minutes]),
      ) as Record<Flow, number>;
      const total = Object.values(perMinute).reduce((a, b) => a + b, 0);
      const steady = rss.slice(steadyFrom);
      const rows: [string, string][] = [
        ["API requests/min at rest, total", total.toFixed(1)],
        ["  status writes (cairn.dev */status)", perMinute.status.toFixed(1)],
        ["  events", perMinute.events.toFixed(1)],
        ["  leases (leader election)", perMinute.leases.toFixed(1)],
        ["  other (watches, lists, gets, Secrets)", perMinute.other.toFixed(1)],
        ...(excluded.size > 0
          ? [
              ["apps not Ready at the start, not counted", String(excluded.size)] as [
                string,
                string,
              ],
            ]
          : []),
        ["ManagedApp Ready flips (must be 0)", String(counting.flips)],
        ["Warning Events about ManagedApps (must be 0)", String(newWarnings)],
        ["routine Kustomization reconciles seen (Ready=Unknown)", String(counting.routine)],
        ["RSS at rest, median (MiB)", median(steady).toFixed(0)],
        ["RSS at rest, highest sample (MiB)", Math.max(...steady).toFixed(0)],
      ];
      const width = Math.max(...rows.map(([l]) => l.length));
      for (const [label, value] of rows)
        console.log(`${label.padEnd(width)}  ${value.padStart(8)}`);
      if (counting.flips > 0) {
        log(`apps that flipped: ${[...flipped].map(([k, n]) => `${k} ×${n}`).join(", ")}`);
      }
      verdict.failed = counting.flips > 0 || newWarnings > 0;
    } finally {
      clearInterval(sampler);
      abort.abort();
      await Promise.all(running);
    }
  } finally {
    await cleanup();
  }
  if (verdict.failed) process.exitCode = 1;
}

await main();
