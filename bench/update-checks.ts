// Update checks at rest: what 1,000 ManagedApps cost in registry (index) requests and API
// requests (Secret reads) per hour, with their charts spread over 10 HTTP HelmRepositories, 5 of
// them behind basic auth. The real UpdateChecker and its HTTP read against a real Helm repository
// server on loopback; the HelmRepository informer is fed from memory and the Secret reads are
// counted at a small stand-in for the API's get (no cluster). Time is simulated: one hour of the
// informers' periodic resyncs (every app's pass is re-run, as the ManagedApp informer's resync
// does). A changed artifact revision (a new index) reads that one repository again; that path is
// covered by test/unit/updates/checker.test.ts and test/e2e/updates.test.ts, not measured here.
//
//   node bench/update-checks.ts   (Node 24: `npx node …` or node_modules/.bin/node)
import { createServer } from "node:http";
import { ManagedApp } from "../src/api/index.ts";
import type { KubeObject, ObjectRef } from "../src/kube/client.ts";
import type { Clock } from "../src/runtime/clock.ts";
import { InformerFactory } from "../src/runtime/informer-factory.ts";
import type { WatchSource } from "../src/runtime/informer.ts";
import { UpdateChecker } from "../src/updates/checker.ts";
import { closeServer, listenOnLoopback } from "../testbed/src/loopback-http.ts";

const APPS = 1_000;
const REPOS = 10;
/** The ManagedApp informer's resync period (src/runtime/informer.ts DEFAULT_RESYNC_MS). */
const RESYNC_MS = 10 * 60_000;
const HOUR_MS = 60 * 60_000;

const index = (versions: readonly string[]) =>
  `apiVersion: v1\nentries:\n  app:\n${versions.map((v) => `    - version: ${v}\n`).join("")}`;

async function main(): Promise<void> {
  let indexRequests = 0;
  const published = ["1.0.0", "1.1.0"];
  const server = createServer((_req, res) => {
    indexRequests++;
    res.writeHead(200).end(index(published));
  });
  const url = `http://127.0.0.1:${await listenOnLoopback(server)}`;
  let now = Date.parse("2026-01-01T00:00:00Z");
  const clock: Clock = { now: () => new Date(now), setTimeout: () => () => undefined };
  const repo = (i: number, revision: string): KubeObject => ({
    apiVersion: "source.toolkit.fluxcd.io/v1",
    kind: "HelmRepository",
    metadata: {
      name: `charts-${i}`,
      namespace: `ns-${i}`,
      generation: 1,
      resourceVersion: revision,
    },
    spec: { url, ...(i % 2 === 0 ? { secretRef: { name: "auth" } } : {}) },
    status: { artifact: { revision } },
  });
  // The informer's list answers from memory; its watch stays open with nothing to say.
  const objects = Array.from({ length: REPOS }, (_, i) => repo(i, "sha256:a"));
  const source: WatchSource = {
    list: () => Promise.resolve({ items: objects, resourceVersion: "1" }),
    watch: () => ({
      [Symbol.asyncIterator]: () => ({ next: () => new Promise(() => undefined) }),
    }),
  };
  let secretGets = 0;
  const woken = new Set<string>();
  const checker = new UpdateChecker({
    client: {
      get: (ref: ObjectRef) => {
        secretGets++;
        return Promise.resolve({
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name: ref.name, namespace: ref.namespace ?? "" },
          data: { username: btoa("u"), password: btoa("p") },
        });
      },
    },
    clock,
    informers: new InformerFactory({ source, clock }),
    allowCrossNamespaceRefs: false,
    enqueue: (key) => woken.add(key),
  });
  const stop = new AbortController();
  void checker.informer.run(stop.signal);
  await checker.informer.waitForSync(stop.signal);
  const apps = Array.from({ length: APPS }, (_, n) => {
    const i = n % REPOS;
    const app = ManagedApp.parse({
      apiVersion: "cairn.dev/v1alpha1",
      kind: "ManagedApp",
      metadata: { name: `app-${n}`, namespace: `ns-${i}` },
      spec: {
        gitPath: "release.yaml",
        kustomizationRef: { name: "apps" },
        helmReleaseRef: { name: `app-${n}` },
      },
    });
    const hr: KubeObject = {
      apiVersion: "helm.toolkit.fluxcd.io/v2",
      kind: "HelmRelease",
      metadata: { name: `app-${n}`, namespace: `ns-${i}` },
      spec: {
        chart: {
          spec: {
            chart: "app",
            version: "1.0.0",
            sourceRef: { kind: "HelmRepository", name: `charts-${i}` },
          },
        },
      },
    };
    return { key: `ns-${i}/app-${n}`, app, hr };
  });
  const pass = () => {
    let offered = 0;
    for (const a of apps) {
      const c = checker.check(a.key, a.app, a.hr, { current: "1.0.0", reported: true });
      if (c.outcome?.availableUpdate === "1.1.0") offered++;
    }
    return offered;
  };
  const settle = async () => {
    for (let i = 0; i < 200 && woken.size < APPS; i++) await new Promise((r) => setTimeout(r, 5));
  };

  const t0 = performance.now();
  pass();
  await settle();
  const firstOffered = pass();
  const first = { index: indexRequests, secrets: secretGets, ms: performance.now() - t0 };
  // One hour at rest: every app's pass again at each resync.
  const restStart = { index: indexRequests, secrets: secretGets };
  for (let t = RESYNC_MS; t <= HOUR_MS; t += RESYNC_MS) {
    now += RESYNC_MS;
    pass();
  }
  await settle();
  const rest = { index: indexRequests - restStart.index, secrets: secretGets - restStart.secrets };
  stop.abort();
  await closeServer(server);
  console.log(
    `update checks: ${APPS} apps, ${REPOS} HelmRepositories (${REPOS / 2} with basic auth)`,
  );
  console.log(`| phase | index requests | Secret reads (API) | apps offered 1.1.0 |`);
  console.log(`| --- | --- | --- | --- |`);
  console.log(
    `| first pass of every app (${Math.round(first.ms)} ms) | ${first.index} | ${first.secrets} | ${firstOffered} |`,
  );
  console.log(
    `| one hour at rest (${HOUR_MS / RESYNC_MS} resyncs × ${APPS} passes) | ${rest.index} | ${rest.secrets} | - |`,
  );
}

await main();
