// Work queue throughput: 10,000 keys, each added three times, through WorkQueue + Controller
// with 1, 2 and 8 workers and three kinds of reconcile (returns at once, awaits a microtask,
// awaits an event-loop turn). Pure: no cluster, no network.
//
//   node bench/workqueue.ts        (Node 24: `npx node …` or node_modules/.bin/node)
//   node --expose-gc bench/workqueue.ts   (optional: a GC before each measured run)
//
// Every case runs WARMUP times first, then each RUNS times; the table shows medians (min–max).
// The bench also checks the queue's contract on every run and exits 1 if it is broken:
//   - every key is reconciled exactly once: its three adds fall into one dedupe window (one
//     synchronous stretch, before the key has ever run), so they must collapse into one run;
//   - no key ever runs twice at once, and never more than `workers` keys run at once;
//   - the queue is empty afterwards (depth, waiting and in-flight all 0).
import { cpus } from "node:os";
import { setImmediate as nextTurn } from "node:timers/promises";
import { systemClock } from "../src/runtime/clock.ts";
import { Controller } from "../src/runtime/controller.ts";
import { done, type Outcome } from "../src/runtime/outcome.ts";
import { WorkQueue } from "../src/runtime/workqueue.ts";

const KEYS = 10_000;
const ADDS_PER_KEY = 3;
/** Keys added per synchronous stretch; the queue works between stretches, as with an informer. */
const BATCH = 500;
const RUNS = 5;
const WARMUP = 2;
/** With --expose-gc, each measured run starts from a collected heap. */
const gc = (globalThis as { gc?: () => void }).gc;
const WORKER_COUNTS = [1, 2, 8] as const;
/** A run normally takes well under a second; a stuck queue fails the check instead of hanging. */
const RUN_TIMEOUT_MS = 30_000;

type Mode = "immediate" | "microtask" | "io";
const MODES: readonly Mode[] = ["immediate", "microtask", "io"];

const reconcilers: Record<Mode, () => Promise<void>> = {
  // Resolves at once: the queue's and the controller's own cost per key.
  immediate: () => Promise.resolve(),
  // One microtask hop, like a reconcile that awaits something already settled (a cache read).
  microtask: async () => {
    await Promise.resolve();
  },
  // One event-loop turn, like a reconcile that waits for I/O that answers at once.
  io: async () => {
    await nextTurn();
  },
};

interface RunResult {
  readonly ms: number;
  readonly keysPerSec: number;
  readonly maxConcurrent: number;
  readonly problems: readonly string[];
}

const keys = Array.from({ length: KEYS }, (_, i) => `bench-ns/key-${String(i).padStart(5, "0")}`);

async function runOnce(workers: number, mode: Mode): Promise<RunResult> {
  const queue = new WorkQueue({ clock: systemClock(), workers });
  const runs = new Map<string, number>();
  const running = new Set<string>();
  const problems: string[] = [];
  let maxConcurrent = 0;
  let reconciled = 0;
  let allDone: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (allDone = resolve));
  const pause = reconcilers[mode];

  const controller = new Controller({
    name: "bench",
    queue,
    reconcile: async (key): Promise<Outcome> => {
      if (running.has(key)) problems.push(`${key} ran twice at once`);
      running.add(key);
      maxConcurrent = Math.max(maxConcurrent, running.size);
      try {
        await pause();
      } finally {
        running.delete(key);
      }
      runs.set(key, (runs.get(key) ?? 0) + 1);
      if (++reconciled === KEYS) allDone();
      return done();
    },
  });

  const started = performance.now();
  controller.start();
  for (let from = 0; from < KEYS; from += BATCH) {
    const batch = keys.slice(from, from + BATCH);
    // All adds of a key in one synchronous stretch: one dedupe window per key.
    for (let copy = 0; copy < ADDS_PER_KEY; copy++)
      for (const key of batch) controller.enqueue(key);
    await nextTurn();
  }
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    finished.then(() => false),
    new Promise<true>((resolve) => (timer = setTimeout(() => resolve(true), RUN_TIMEOUT_MS))),
  ]);
  clearTimeout(timer);
  const ms = performance.now() - started;
  if (timedOut)
    problems.push(`only ${reconciled} of ${KEYS} reconciles after ${RUN_TIMEOUT_MS} ms`);

  // Give a stray extra run the chance to show itself before checking.
  await nextTurn();
  await nextTurn();
  const stats = queue.stats();
  const once = keys.filter((k) => runs.get(k) === 1).length;
  if (once !== KEYS) {
    const wrong = keys.filter((k) => runs.get(k) !== 1).slice(0, 3);
    problems.push(
      `${KEYS - once} keys not reconciled exactly once (e.g. ${wrong.map((k) => `${k}×${runs.get(k) ?? 0}`).join(", ")})`,
    );
  }
  if (maxConcurrent > workers) problems.push(`${maxConcurrent} keys ran at once with ${workers}`);
  if (stats.depth !== 0 || stats.waiting !== 0 || stats.inFlight !== 0) {
    problems.push(`queue not empty afterwards: ${JSON.stringify(stats)}`);
  }
  if (stats.adds !== KEYS * ADDS_PER_KEY) {
    problems.push(`queue counted ${stats.adds} adds, expected ${KEYS * ADDS_PER_KEY}`);
  }
  const shutdown = await controller.shutdown(1_000);
  if (!shutdown.drained) problems.push("shutdown did not drain");
  return { ms, keysPerSec: (KEYS / ms) * 1000, maxConcurrent, problems };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? NaN)
    : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

async function main(): Promise<number> {
  console.log(
    `work queue: ${fmt(KEYS)} keys × ${ADDS_PER_KEY} adds, batches of ${BATCH}, ` +
      `${RUNS} runs after ${WARMUP} warm-up passes${gc ? ", GC before each run" : ""} ` +
      `(Node ${process.version}, ${process.platform}/${process.arch}, ${cpus().length} CPUs)`,
  );
  const header = [
    "reconcile",
    "workers",
    "keys/s median",
    "(min–max)",
    "ms median",
    "max in flight",
  ];
  const rows: string[][] = [];
  const problems: string[] = [];
  const medians = new Map<string, number>();
  // Warm-up: every case WARMUP times first, so that no case pays for the JIT of the others.
  for (let i = 0; i < WARMUP; i++) {
    for (const mode of MODES) for (const workers of WORKER_COUNTS) await runOnce(workers, mode);
  }
  for (const mode of MODES) {
    for (const workers of WORKER_COUNTS) {
      const results: RunResult[] = [];
      for (let i = 0; i < RUNS; i++) {
        gc?.();
        results.push(await runOnce(workers, mode));
      }
      for (const [i, r] of results.entries()) {
        for (const p of r.problems)
          problems.push(`${mode}, ${workers} workers, run ${i + 1}: ${p}`);
      }
      const rates = results.map((r) => r.keysPerSec);
      medians.set(`${mode}/${workers}`, median(rates));
      rows.push([
        mode,
        String(workers),
        fmt(median(rates)),
        `(${fmt(Math.min(...rates))}–${fmt(Math.max(...rates))})`,
        median(results.map((r) => r.ms)).toFixed(1),
        String(Math.max(...results.map((r) => r.maxConcurrent))),
      ]);
    }
  }
  printTable(header, rows);
  for (const mode of MODES) {
    const one = medians.get(`${mode}/1`) ?? NaN;
    const ratios = WORKER_COUNTS.slice(1).map(
      (w) => `${w} workers ×${((medians.get(`${mode}/${w}`) ?? NaN) / one).toFixed(2)}`,
    );
    console.log(`${mode}: relative to 1 worker: ${ratios.join(", ")}`);
  }
  const total = MODES.length * WORKER_COUNTS.length * RUNS;
  if (problems.length > 0) {
    console.log(`check: FAILED in ${problems.length} places`);
    for (const p of problems.slice(0, 20)) console.log(`  ${p}`);
    return 1;
  }
  console.log(
    `check: OK: in all ${total} runs every key was reconciled exactly once, no key ran twice ` +
      `at once, never more keys in flight than workers, queue empty afterwards`,
  );
  return 0;
}

function printTable(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ");
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of rows) console.log(line(row));
}

process.exitCode = await main();
