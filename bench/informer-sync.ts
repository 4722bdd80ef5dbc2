// Informer over 10,000 objects, against a real API server: time to sync, memory held once
// synced, and how quickly updates come through the watch.
//
//   node --expose-gc bench/informer-sync.ts     (Node 24: `npx node …` or node_modules/.bin/node)
//
// Starts its own control-plane test bed (testbed/src/cluster.ts), creates 10,000 small
// ConfigMaps in one namespace (32 creates in flight), then RUNS times starts a fresh process
// that runs a fresh Informer (systemClock, defaults otherwise) over that namespace and measures:
//   - sync: from run() to waitForSync() resolving (20 pages of 500 through KubeClient.list);
//   - memory after sync, after a full GC when --expose-gc is given: the process's RSS and V8
//     heap-used growth over the same process just before run(), and heap used per object;
//   - updates: 1,000 merge patches of distinct ConfigMaps sent 32 at a time ("burst"), then
//     1,000 more one at a time ("serial"); per event, the time from sending the patch to the
//     informer's onChange for that patch's value (p50/p99), the burst's total time, and the
//     serial patches' own round trip for comparison.
// A process per run keeps every sample cold and independent: RSS never shrinks back after a
// GC, so a second informer in the same process would measure the first one's leftovers.
// The table shows medians and min–max over the runs. The cluster is stopped at the end, also on
// an error or Ctrl-C.
import { spawn, type ChildProcess } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { KubeClient, type KubeObject } from "../src/kube/client.ts";
import { isKubeError } from "../src/kube/errors.ts";
import { systemClock } from "../src/runtime/clock.ts";
import { Informer } from "../src/runtime/informer.ts";
import { Cluster } from "../testbed/src/cluster.ts";
import { pool } from "./support/util.ts";

const OBJECTS = 10_000;
const RUNS = 5;
const CONCURRENCY = 32;
const UPDATES = 1_000;
const NAMESPACE = "bench-informer";
const WAIT_MS = 120_000;

const name = (i: number) => `cm-${String(i).padStart(5, "0")}`;

// ---------------------------------------------------------------------------------------------
// Shared helpers

/** Retries transient API failures (429, 5xx, network) a few times. */
async function withRetry<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isKubeError(err, "Transient") || attempt >= 5) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? NaN;
}

const median = (values: readonly number[]) => percentile(values, 50);
const MB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// One measurement, in a process of its own.

interface Sample {
  readonly syncMs: number;
  readonly items: number;
  readonly rssDeltaMB: number;
  readonly heapDeltaMB: number;
  readonly heapUsedMB: number;
  readonly heapBytesPerObject: number;
  readonly burstTotalMs: number;
  readonly burstP50Ms: number;
  readonly burstP99Ms: number;
  readonly serialP50Ms: number;
  readonly serialP99Ms: number;
  /** The serial patches' own round trip (request to response), for comparison. */
  readonly serialPatchP50Ms: number;
  readonly gc: boolean;
}

async function measure(kubeconfig: string, run: string): Promise<Sample> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const client = KubeClient.fromKubeconfigFile(kubeconfig);
  // Warm the client's discovery cache (core/v1), so the sync time is the list alone.
  await client.get({ apiVersion: "v1", kind: "Namespace", name: NAMESPACE });
  gc?.();
  const before = process.memoryUsage();

  const informer = new Informer({
    source: client,
    apiVersion: "v1",
    kind: "ConfigMap",
    namespace: NAMESPACE,
    clock: systemClock(),
  });
  const sent = new Map<string, number>();
  const latencies: number[] = [];
  let onSeen: (() => void) | undefined;
  informer.onChange((event) => {
    if (event.type !== "updated") return;
    const seq = (event.object["data"] as Record<string, string> | undefined)?.["seq"];
    const at = seq === undefined ? undefined : sent.get(seq);
    if (seq === undefined || at === undefined) return;
    sent.delete(seq);
    latencies.push(performance.now() - at);
    onSeen?.();
  });
  const abort = new AbortController();
  const started = performance.now();
  const running = informer.run(abort.signal);
  try {
    if (!(await informer.waitForSync(AbortSignal.timeout(WAIT_MS)))) {
      throw new Error(`the informer did not sync within ${WAIT_MS} ms`);
    }
    const syncMs = performance.now() - started;
    // The namespace also holds kube-root-ca.crt, which KCM publishes into every namespace.
    const items = informer.stats().items;
    const missing = Array.from({ length: OBJECTS }, (_, i) => name(i)).filter(
      (n) => informer.get(`${NAMESPACE}/${n}`) === undefined,
    );
    if (missing.length > 0) {
      throw new Error(`the synced informer lacks ${missing.length} ConfigMaps (${missing[0]}…)`);
    }
    gc?.();
    const after = process.memoryUsage();

    /** Sends one patch per index (seq `<run>-<phase>-<i>`) and waits until all were seen. */
    const update = async (phase: string, indexes: readonly number[], limit: number) => {
      latencies.length = 0;
      const roundTrips: number[] = [];
      const allSeen = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${phase}: ${sent.size} updates not seen in ${WAIT_MS} ms`)),
          WAIT_MS,
        );
        onSeen = () => {
          if (latencies.length < indexes.length) return;
          clearTimeout(timer);
          resolve();
        };
      });
      const t0 = performance.now();
      await pool(indexes, limit, async (i) => {
        const seq = `${run}-${phase}-${i}`;
        const at = performance.now();
        sent.set(seq, at);
        await withRetry(() =>
          client.mergePatch(
            { apiVersion: "v1", kind: "ConfigMap", namespace: NAMESPACE, name: name(i) },
            { data: { seq } },
          ),
        );
        roundTrips.push(performance.now() - at);
      });
      await allSeen;
      return { totalMs: performance.now() - t0, latencies: [...latencies], roundTrips };
    };

    // The watch connects after the list; one update seen proves it is there before timing.
    await update("warm", [OBJECTS - 1], 1);
    const burst = await update(
      "burst",
      Array.from({ length: UPDATES }, (_, i) => i),
      CONCURRENCY,
    );
    const serial = await update(
      "serial",
      Array.from({ length: UPDATES }, (_, i) => UPDATES + i),
      1,
    );

    return {
      syncMs,
      items,
      rssDeltaMB: (after.rss - before.rss) / MB,
      heapDeltaMB: (after.heapUsed - before.heapUsed) / MB,
      heapUsedMB: after.heapUsed / MB,
      heapBytesPerObject: (after.heapUsed - before.heapUsed) / OBJECTS,
      burstTotalMs: burst.totalMs,
      burstP50Ms: percentile(burst.latencies, 50),
      burstP99Ms: percentile(burst.latencies, 99),
      serialP50Ms: percentile(serial.latencies, 50),
      serialP99Ms: percentile(serial.latencies, 99),
      serialPatchP50Ms: percentile(serial.roundTrips, 50),
      gc: gc !== undefined,
    };
  } finally {
    abort.abort();
    await running;
  }
}

// ---------------------------------------------------------------------------------------------
// The driver: cluster, objects, one child process per run, the table.

let cluster: Cluster | undefined;
let child: ChildProcess | undefined;

function measureInChild(kubeconfig: string, run: number): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      [...process.execArgv, import.meta.filename, "--measure", kubeconfig, String(run)],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    child = proc;
    let stdout = "";
    proc.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    proc.once("error", reject);
    proc.once("exit", (code, signal) => {
      child = undefined;
      if (code !== 0) {
        reject(new Error(`run ${run}: the measuring process ended with ${signal ?? code}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout.trim().split("\n").at(-1) ?? "") as Sample);
      } catch (err) {
        reject(
          new Error(`run ${run}: no result line in ${JSON.stringify(stdout)}`, { cause: err }),
        );
      }
    });
  });
}

async function seed(client: KubeClient): Promise<number> {
  await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: NAMESPACE } });
  const t0 = performance.now();
  let done = 0;
  await pool(
    Array.from({ length: OBJECTS }, (_, i) => i),
    CONCURRENCY,
    async (i) => {
      const object: KubeObject = {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: name(i), namespace: NAMESPACE, labels: { bench: "informer-sync" } },
        data: { index: String(i), value: "x".repeat(64) },
      };
      await withRetry(() => client.create(object));
      if (++done % 2_000 === 0) process.stderr.write(`bench: ${done} ConfigMaps created\n`);
    },
  );
  return performance.now() - t0;
}

function printTable(samples: readonly Sample[]): void {
  const rows: [string, (s: Sample) => number, number][] = [
    ["sync: run() → waitForSync (ms)", (s) => s.syncMs, 0],
    ["RSS growth after sync (MiB)", (s) => s.rssDeltaMB, 1],
    ["heap-used growth after sync (MiB)", (s) => s.heapDeltaMB, 1],
    ["heap used after sync (MiB)", (s) => s.heapUsedMB, 1],
    ["heap per object (bytes)", (s) => s.heapBytesPerObject, 0],
    [`burst: ${UPDATES} updates seen (ms total)`, (s) => s.burstTotalMs, 0],
    ["burst: patch → onChange p50 (ms)", (s) => s.burstP50Ms, 1],
    ["burst: patch → onChange p99 (ms)", (s) => s.burstP99Ms, 1],
    ["serial: patch → onChange p50 (ms)", (s) => s.serialP50Ms, 1],
    ["serial: patch → onChange p99 (ms)", (s) => s.serialP99Ms, 1],
    ["serial: patch round trip p50 (ms)", (s) => s.serialPatchP50Ms, 1],
  ];
  const cells = rows.map(([label, get, digits]) => {
    const values = samples.map(get);
    const f = (n: number) => n.toFixed(digits);
    return [label, f(median(values)), f(Math.min(...values)), f(Math.max(...values))];
  });
  const header = ["metric", "median", "min", "max"];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: readonly string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ");
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of cells) console.log(line(r));
}

async function main(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc !== undefined;
  console.log(
    `informer sync: ${OBJECTS.toLocaleString("en-US")} ConfigMaps, ${RUNS} runs ` +
      `(Node ${process.version}, ${cpus().length} CPUs, ${Math.round(totalmem() / 1024 ** 3)} GiB` +
      `${gc ? ", GC before each memory reading" : "; no --expose-gc: memory read without a GC"})`,
  );
  const t0 = performance.now();
  cluster = await Cluster.start({
    profile: "control-plane",
    log: (line) => process.stderr.write(`${line}\n`),
  });
  console.log(`cluster started in ${Math.round(performance.now() - t0)} ms`);
  const seedMs = await seed(cluster.client());
  console.log(
    `created ${OBJECTS} ConfigMaps in ${Math.round(seedMs)} ms ` +
      `(${Math.round((OBJECTS / seedMs) * 1000)}/s, ${CONCURRENCY} in flight)`,
  );
  const samples: Sample[] = [];
  for (let run = 1; run <= RUNS; run++) {
    const sample = await measureInChild(cluster.kubeconfig, run);
    process.stderr.write(`bench: run ${run}: ${JSON.stringify(sample)}\n`);
    samples.push(sample);
  }
  printTable(samples);
}

async function shutdown(): Promise<void> {
  if (child?.pid !== undefined) child.kill("SIGKILL");
  const c = cluster;
  cluster = undefined;
  await c?.stop();
}

if (process.argv[2] === "--measure") {
  const [kubeconfig, run] = process.argv.slice(3);
  if (kubeconfig === undefined || run === undefined)
    throw new Error("usage: --measure KUBECONFIG RUN");
  const sample = await measure(kubeconfig, run);
  process.stdout.write(`${JSON.stringify(sample)}\n`);
} else {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      process.stderr.write(`bench: ${signal}: stopping the cluster\n`);
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
}
