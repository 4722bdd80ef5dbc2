// A work queue of keys with client-go semantics. Node runs one thread, but every `await` lets
// two runs of one key interleave, so the queue guarantees at most one run per key in flight;
// adds during a run mark the key dirty and it runs once more afterwards.
import { backoffDelay, type BackoffOptions } from "./backoff.ts";
import type { Cancel, Clock } from "./clock.ts";

export type ProcessFn = (key: string, signal: AbortSignal) => Promise<void>;

export interface QueueHooks {
  /** A key left the queue for a worker after waiting `waitedMs` since it was first added. */
  readonly onDequeue?: (key: string, waitedMs: number) => void;
  /** A run of `key` finished (or failed) after `ranMs`. */
  readonly onRunDone?: (key: string, ranMs: number) => void;
  /** The process function rejected; the Controller never lets this happen. */
  readonly onProcessError?: (key: string, error: unknown) => void;
}

export interface WorkQueueOptions {
  readonly clock: Clock;
  /** How many keys may run at once (distinct keys only). Default 1. */
  readonly workers?: number;
  /** Per-key failure backoff; default 1 s doubling to 5 min, with up to 10 % jitter. */
  readonly backoff?: Partial<BackoffOptions>;
  /** Source of randomness for the jitter; default Math.random. */
  readonly random?: () => number;
  readonly hooks?: QueueHooks;
}

export interface QueueStats {
  /** Keys ready to run and not yet taken by a worker. */
  readonly depth: number;
  /** Keys waiting for an addAfter or addRateLimited delay. */
  readonly waiting: number;
  readonly inFlight: number;
  /** Adds accepted since the queue was made (a deduplicated add still counts). */
  readonly adds: number;
  readonly rateLimitedAdds: number;
}

export interface ShutdownResult {
  /** Every in-flight run returned within the bound. */
  readonly drained: boolean;
  /** Runs still going when the bound expired. */
  readonly abandoned: readonly string[];
}

const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1_000, maxMs: 5 * 60_000, jitter: 0.1 };

export class WorkQueueShutdownError extends Error {
  constructor() {
    super("the work queue has been shut down");
    this.name = "WorkQueueShutdownError";
  }
}

export class WorkQueue {
  readonly #clock: Clock;
  readonly #workers: number;
  readonly #backoff: BackoffOptions;
  readonly #random: () => number;
  readonly #hooks: QueueHooks;

  /** Ready keys in FIFO order; a Set keeps insertion order and makes dedupe free. */
  readonly #ready = new Set<string>();
  /** Keys that need a run: ready ones, plus running ones that were added again. */
  readonly #dirty = new Set<string>();
  readonly #running = new Map<string, Promise<void>>();
  /** When each dirty key was first added, for the queue-latency hook. */
  readonly #addedAt = new Map<string, number>();
  readonly #delayed = new Map<string, { readonly at: number; readonly cancel: Cancel }>();
  readonly #failures = new Map<string, number>();
  readonly #abort = new AbortController();

  #process: ProcessFn | undefined;
  #pumpScheduled = false;
  #shuttingDown = false;
  #adds = 0;
  #rateLimitedAdds = 0;

  constructor(opts: WorkQueueOptions) {
    this.#clock = opts.clock;
    this.#workers = Math.max(1, opts.workers ?? 1);
    this.#backoff = { ...DEFAULT_BACKOFF, ...opts.backoff };
    this.#random = opts.random ?? Math.random;
    this.#hooks = opts.hooks ?? {};
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Starts handing keys to `process`; keys added before this wait for it. */
  start(process: ProcessFn): void {
    if (this.#shuttingDown) throw new WorkQueueShutdownError();
    if (this.#process) throw new Error("the work queue has already been started");
    this.#process = process;
    this.#schedulePump();
  }

  add(key: string): void {
    if (this.#shuttingDown) return;
    this.#adds++;
    if (this.#dirty.has(key)) return;
    this.#dirty.add(key);
    this.#addedAt.set(key, this.#clock.now().getTime());
    // A running key is re-queued when its run ends, never handed to a second worker.
    if (this.#running.has(key)) return;
    this.#ready.add(key);
    this.#schedulePump();
  }

  /** Adds the key after `ms`; of several pending delays for one key the earliest wins. */
  addAfter(key: string, ms: number): void {
    if (this.#shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = this.#clock.now().getTime() + ms;
    const pending = this.#delayed.get(key);
    if (pending && pending.at <= at) return;
    pending?.cancel();
    const cancel = this.#clock.setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, ms);
    this.#delayed.set(key, { at, cancel });
  }

  /**
   * Adds the key after its per-key backoff and returns the delay chosen. `maxMs` caps this one
   * delay (the failure still counts), for a failure that says nothing about the key itself.
   */
  addRateLimited(key: string, maxMs?: number): number {
    const failures = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, failures);
    this.#rateLimitedAdds++;
    const backoff =
      maxMs === undefined
        ? this.#backoff
        : { ...this.#backoff, maxMs: Math.min(maxMs, this.#backoff.maxMs) };
    const delay = backoffDelay(backoff, failures, this.#random);
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears the key's failure count, so its next addRateLimited starts from the base delay. */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  /** How many times the key has been rate-limited since it was last forgotten. */
  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  stats(): QueueStats {
    return {
      depth: this.#ready.size,
      waiting: this.#delayed.size,
      inFlight: this.#running.size,
      adds: this.#adds,
      rateLimitedAdds: this.#rateLimitedAdds,
    };
  }

  /**
   * Stops taking work, drops pending and delayed keys, aborts the signal every run was given,
   * and waits up to `timeoutMs` for the runs in flight to return.
   */
  async shutdown(timeoutMs: number): Promise<ShutdownResult> {
    if (!this.#shuttingDown) {
      this.#shuttingDown = true;
      for (const { cancel } of this.#delayed.values()) cancel();
      this.#delayed.clear();
      this.#ready.clear();
      this.#dirty.clear();
      this.#addedAt.clear();
      this.#abort.abort(new WorkQueueShutdownError());
    }
    const runs = [...this.#running.values()];
    if (runs.length === 0) return { drained: true, abandoned: [] };
    let cancelTimer: Cancel = () => undefined;
    const expired = new Promise<false>((resolve) => {
      cancelTimer = this.#clock.setTimeout(() => resolve(false), timeoutMs);
    });
    const drained = await Promise.race([Promise.all(runs).then(() => true as const), expired]);
    cancelTimer();
    return { drained, abandoned: drained ? [] : [...this.#running.keys()] };
  }

  // Dispatch is deferred to a microtask so that several adds in one synchronous stretch give one
  // run, and so that `add` never runs user code re-entrantly.
  #schedulePump(): void {
    if (this.#pumpScheduled || !this.#process) return;
    this.#pumpScheduled = true;
    queueMicrotask(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    const process = this.#process;
    if (!process) return;
    while (!this.#shuttingDown && this.#running.size < this.#workers) {
      const next = this.#ready.values().next();
      if (next.done) return;
      const key = next.value;
      this.#ready.delete(key);
      this.#dirty.delete(key);
      const now = this.#clock.now().getTime();
      this.#hooks.onDequeue?.(key, now - (this.#addedAt.get(key) ?? now));
      this.#addedAt.delete(key);
      this.#running.set(key, this.#run(process, key, now));
    }
  }

  async #run(process: ProcessFn, key: string, startedAt: number): Promise<void> {
    try {
      // Yield first so that #running holds this run before the process function can observe
      // the queue (and add its own key back).
      await Promise.resolve();
      await process(key, this.#abort.signal);
    } catch (err) {
      this.#hooks.onProcessError?.(key, err);
    } finally {
      this.#running.delete(key);
      this.#hooks.onRunDone?.(key, this.#clock.now().getTime() - startedAt);
      if (this.#dirty.has(key) && !this.#shuttingDown) {
        this.#ready.add(key);
      }
      this.#schedulePump();
    }
  }
}
