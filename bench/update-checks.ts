// Update checks at rest: what 1,000 ManagedApps cost in registry requests and API requests
// (Secret reads) per hour, in two fleets.
//
// HTTP: the charts spread over 10 HTTP HelmRepositories, 5 of them behind basic auth, served by a
// Helm repository server on loopback. OCI: 10 OCI HelmRepositories (5 with a secretRef) on the
// test bed's real registry (CNCF distribution, built from its Go module into the test-bed cache),
// every app with a chart of its own (1,000 repositories in the registry), the default
// versionPolicy.checkInterval of 1h; a counting pass-through on loopback in front of the registry
// counts its requests. The real UpdateChecker and its HTTP reads run in both; the HelmRepository
// informer is fed from memory and Secret reads are counted at a small stand-in for the API's get
// (no cluster). Time is simulated: one hour of the informers' periodic resyncs (every app's pass
// is re-run, as the ManagedApp informer's resync does). A changed artifact revision (a new index)
// reads that one repository again; that path is covered by test/unit/updates/checker.test.ts and
// test/e2e/updates.test.ts, not measured here.
//
//   node bench/update-checks.ts   (Node 24: `npx node …` or node_modules/.bin/node)
import { writeFile, mkdtemp, rm } from "node:fs/promises";
import { createServer, request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { ManagedApp } from "../src/api/index.ts";
import type { KubeObject, ObjectRef } from "../src/kube/client.ts";
import type { Clock } from "../src/runtime/clock.ts";
import { InformerFactory } from "../src/runtime/informer-factory.ts";
import type { WatchSource } from "../src/runtime/informer.ts";
import { UpdateChecker } from "../src/updates/checker.ts";
import { ensureComponent, REPO_ROOT } from "../testbed/src/binaries.ts";
import { REGISTRY_CONFIG } from "../testbed/src/flags.ts";
import { closeServer, listenOnLoopback } from "../testbed/src/loopback-http.ts";
import { pushChart } from "../testbed/src/oci-push.ts";
import { freePort } from "../testbed/src/ports.ts";
import { ManagedProcess } from "../testbed/src/process.ts";
import { probeOnce, waitUntilReady } from "../testbed/src/readiness.ts";
import { pool } from "./support/util.ts";

const APPS = 1_000;
const REPOS = 10;
/** The ManagedApp informer's resync period (src/runtime/informer.ts DEFAULT_RESYNC_MS). */
const RESYNC_MS = 10 * 60_000;
const HOUR_MS = 60 * 60_000;

/** A fleet of apps over REPOS HelmRepositories, every other one with a secretRef. */
interface Fleet {
  readonly title: string;
  /** HelmRepository i's spec, without the secretRef. */
  readonly repoSpec: (i: number) => Record<string, unknown>;
  /** The chart app n installs. */
  readonly chartOf: (n: number) => string;
  /** Requests the chart sources have answered so far. */
  readonly requests: () => number;
}

interface Row {
  readonly phase: string;
  readonly requests: number;
  readonly secrets: number;
  readonly offered: number | undefined;
}

/** The real UpdateChecker over the fleet: every app's first pass, then an hour of resyncs. */
async function measure(fleet: Fleet): Promise<Row[]> {
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
    spec: { ...fleet.repoSpec(i), ...(i % 2 === 0 ? { secretRef: { name: "auth" } } : {}) },
    status: { artifact: { revision } },
  });
  // The informers' lists answer from memory; their watches stay open with nothing to say.
  const objects = Array.from({ length: REPOS }, (_, i) => repo(i, "sha256:a"));
  const source: WatchSource = {
    // The fleet holds no OCIRepository: that informer lists nothing.
    list: (_apiVersion, kind) =>
      Promise.resolve({ items: kind === "HelmRepository" ? objects : [], resourceVersion: "1" }),
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
  for (const informer of checker.informers) {
    void informer.run(stop.signal);
    await informer.waitForSync(stop.signal);
  }
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
            chart: fleet.chartOf(n),
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
  // A read wakes the apps of its repository when it settles. Done: every app woken, and no new
  // request to the chart sources for a while (an OCI repository's charts are read one by one).
  const settle = async () => {
    let last = -1;
    for (let quiet = 0, i = 0; i < 6_000 && (woken.size < APPS || quiet < 20); i++) {
      await new Promise((r) => setTimeout(r, 10));
      const seen = fleet.requests();
      quiet = seen === last ? quiet + 1 : 0;
      last = seen;
    }
    woken.clear();
  };

  const t0 = performance.now();
  pass();
  await settle();
  const firstOffered = pass();
  const first = { requests: fleet.requests(), secrets: secretGets, ms: performance.now() - t0 };
  // One hour at rest: every app's pass again at each resync, then the reads those started.
  const restStart = { requests: fleet.requests(), secrets: secretGets };
  for (let t = RESYNC_MS; t <= HOUR_MS; t += RESYNC_MS) {
    now += RESYNC_MS;
    pass();
  }
  await settle();
  const restOffered = pass();
  stop.abort();
  return [
    {
      phase: `first pass of every app (${Math.round(first.ms)} ms)`,
      requests: first.requests,
      secrets: first.secrets,
      offered: firstOffered,
    },
    {
      phase: `one hour at rest (${HOUR_MS / RESYNC_MS} resyncs × ${APPS} passes)`,
      requests: fleet.requests() - restStart.requests,
      secrets: secretGets - restStart.secrets,
      offered: restOffered,
    },
  ];
}

function print(fleet: Fleet, rows: readonly Row[]): void {
  console.log(`\n${fleet.title}`);
  console.log(`| phase | registry requests | Secret reads (API) | apps offered 1.1.0 |`);
  console.log(`| --- | --- | --- | --- |`);
  for (const r of rows)
    console.log(`| ${r.phase} | ${r.requests} | ${r.secrets} | ${r.offered ?? "-"} |`);
}

const index = (versions: readonly string[]) =>
  `apiVersion: v1\nentries:\n  app:\n${versions.map((v) => `    - version: ${v}\n`).join("")}`;

/** HTTP HelmRepositories on a Helm repository server: one index per repository. */
async function httpFleet(): Promise<void> {
  let requests = 0;
  const server = createServer((_req, res) => {
    requests++;
    res.writeHead(200).end(index(["1.0.0", "1.1.0"]));
  });
  const url = `http://127.0.0.1:${await listenOnLoopback(server)}`;
  const fleet: Fleet = {
    title: `HTTP: ${APPS} apps, ${REPOS} HelmRepositories (${REPOS / 2} with basic auth), one chart each`,
    repoSpec: () => ({ url }),
    chartOf: () => "app",
    requests: () => requests,
  };
  try {
    print(fleet, await measure(fleet));
  } finally {
    await closeServer(server);
  }
}

/**
 * OCI HelmRepositories on the real registry, a chart per app: its tags are listed again once the
 * app's checkInterval (1h) has passed.
 */
async function ociFleet(): Promise<void> {
  const bin = await ensureComponent("registry", (line) => process.stderr.write(`${line}\n`));
  const dir = await mkdtemp(join(tmpdir(), "cairn-bench-registry-"));
  const port = await freePort();
  const registry = ManagedProcess.start({
    name: "registry",
    logFile: join(dir, "registry.log"),
    commandLine: {
      command: join(bin, "registry"),
      args: ["serve", join(REPO_ROOT, REGISTRY_CONFIG)],
    },
    env: {
      REGISTRY_HTTP_ADDR: `127.0.0.1:${port}`,
      REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: join(dir, "data"),
    },
  });
  // Counts what the checker asks the registry, passing every request through unchanged.
  let requests = 0;
  const proxy = createServer((req, res) => {
    requests++;
    const upstream = httpRequest(
      { host: "127.0.0.1", port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitUntilReady(
      registry,
      () => probeOnce({ url: `${base}/v2/`, accept: (status) => status === 200 }),
      30_000,
    );
    // The registry stores what it is given: the archive's bytes are never read by a tag list.
    const file = join(dir, "chart.tgz");
    await writeFile(file, gzipSync("apiVersion: v2\nname: app\nversion: 1.0.0\n"));
    const t0 = performance.now();
    const pushes = Array.from({ length: APPS }, (_, n) => n).flatMap((n) =>
      ["1.0.0", "1.1.0"].map((version) => ({ n, version })),
    );
    await pool(pushes, 8, ({ n, version }) =>
      pushChart(base, { name: `app-${n}`, version, appVersion: version, file, digest: "" }),
    );
    process.stderr.write(
      `pushed ${pushes.length} charts in ${Math.round(performance.now() - t0)} ms\n`,
    );
    const proxyUrl = `127.0.0.1:${await listenOnLoopback(proxy)}`;
    const fleet: Fleet = {
      title: `OCI: ${APPS} apps, ${REPOS} OCI HelmRepositories (${REPOS / 2} with a secretRef), a chart per app, checkInterval 1h`,
      repoSpec: () => ({ url: `oci://${proxyUrl}/charts`, type: "oci", insecure: true }),
      chartOf: (n) => `app-${n}`,
      requests: () => requests,
    };
    print(fleet, await measure(fleet));
  } finally {
    await closeServer(proxy).catch(() => undefined);
    await registry.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await httpFleet();
await ociFleet();
