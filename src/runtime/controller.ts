// Ties a work queue to a reconcile function. The one switch below is the only place that turns
// an Outcome into queue operations, so no reconcile ever touches time or retries itself.
import { isApiUnreachable } from "../kube/errors.ts";
import { silentLog, type LogFn } from "./log.ts";
import { retry, toError, type Outcome } from "./outcome.ts";
import type { ShutdownResult, WorkQueue } from "./workqueue.ts";

export type ReconcileFn = (key: string, signal: AbortSignal) => Promise<Outcome>;

export interface ControllerOptions {
  /** Goes into every log line, to tell controllers apart. */
  readonly name: string;
  readonly queue: WorkQueue;
  readonly reconcile: ReconcileFn;
  readonly log?: LogFn;
  /** Every finished pass, for metrics (durations by outcome). */
  readonly onOutcome?: (key: string, outcome: Outcome, durationMs: number) => void;
  /** A terminal outcome: record it (an Event, a metric); the key is not retried. */
  readonly onTerminal?: (key: string, reason: string, message: string) => void;
}

// A key that failed because the API was down says nothing about itself: its exponential backoff
// (up to 5 min) would keep it idle long after the API is back. Capped, every such key runs again
// within this long of the API's return; while the API is down, each costs one cheap failed
// connection per period.
const UNREACHABLE_RETRY_MS = 2_000;

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  readonly #reconcile: ReconcileFn;
  readonly #log: LogFn;
  readonly #onOutcome: ControllerOptions["onOutcome"];
  readonly #onTerminal: ControllerOptions["onTerminal"];

  constructor(opts: ControllerOptions) {
    this.name = opts.name;
    this.queue = opts.queue;
    this.#reconcile = opts.reconcile;
    this.#log = opts.log ?? silentLog;
    this.#onOutcome = opts.onOutcome;
    this.#onTerminal = opts.onTerminal;
  }

  /** Enqueues a key; informer handlers call this. */
  enqueue(key: string): void {
    this.queue.add(key);
  }

  start(): void {
    this.queue.start((key, signal) => this.#process(key, signal));
  }

  shutdown(timeoutMs: number): Promise<ShutdownResult> {
    return this.queue.shutdown(timeoutMs);
  }

  async #process(key: string, signal: AbortSignal): Promise<void> {
    const started = performance.now();
    let outcome: Outcome;
    try {
      outcome = await this.#reconcile(key, signal);
    } catch (err) {
      // A throw is a transient failure by definition: anything permanent must say so with
      // `terminal`, which is never retried.
      outcome = retry(err);
    }
    const durationMs = Math.round(performance.now() - started);
    this.#apply(key, outcome, signal, durationMs);
    this.#guard("onOutcome", key, () => this.#onOutcome?.(key, outcome, durationMs));
  }

  // A failing metrics or event hook must not take the queue's bookkeeping down with it.
  #guard(hook: string, key: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#log("error", `${hook} hook failed`, { controller: this.name, key, err: toError(err) });
    }
  }

  #apply(key: string, outcome: Outcome, signal: AbortSignal, durationMs: number): void {
    const fields = { controller: this.name, key, durationMs };
    switch (outcome.kind) {
      case "done":
        this.queue.forget(key);
        this.#log("debug", "reconciled", { ...fields, outcome: "done" });
        return;
      case "requeue":
        this.queue.forget(key);
        this.queue.addAfter(key, outcome.afterMs);
        this.#log("debug", "reconciled", {
          ...fields,
          outcome: "requeue",
          afterMs: outcome.afterMs,
        });
        return;
      case "retry": {
        if (signal.aborted) {
          // The queue is shutting down and aborted this run; the next leader picks it up.
          this.#log("info", "reconcile aborted by shutdown", fields);
          return;
        }
        const unreachable = isApiUnreachable(outcome.error);
        const delayMs = this.queue.addRateLimited(
          key,
          unreachable ? UNREACHABLE_RETRY_MS : undefined,
        );
        this.#log("warn", "reconcile failed; retrying", {
          ...fields,
          outcome: "retry",
          retryInMs: delayMs,
          failures: this.queue.failures(key),
          apiUnreachable: unreachable,
          err: toError(outcome.error),
        });
        return;
      }
      case "terminal":
        this.queue.forget(key);
        this.#log("error", "reconcile failed permanently", {
          ...fields,
          outcome: "terminal",
          reason: outcome.reason,
          message: outcome.message,
        });
        this.#guard("onTerminal", key, () =>
          this.#onTerminal?.(key, outcome.reason, outcome.message),
        );
        return;
      default:
        return assertNever(outcome);
    }
  }
}

function assertNever(value: never): never {
  throw new Error(`unhandled outcome ${JSON.stringify(value)}`);
}
