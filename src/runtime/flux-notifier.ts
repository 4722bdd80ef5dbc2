// Posts events to Flux's notification-controller the way Flux's own controllers do (their
// --events-addr): one JSON object per event, in the shape of fluxcd/pkg's event v1beta1 Event, to
// the controller's event address. notification-controller matches each event's involvedObject
// against the Alerts of its namespace and hands it to their Providers (Slack, Teams, a webhook),
// so an Alert a user already has for a HelmRelease or Kustomization delivers Cairn's events too.
//
// Best effort, like Flux's recorder: posting never blocks a reconcile and never throws. A
// connection error or a 5xx is retried a few times with backoff; 429 means notification-controller
// already has the same event within its rate-limit interval and is not retried; any other answer
// is logged and the event dropped. Events waiting beyond a bound are dropped, oldest first.
import type { LogFn } from "./log.ts";
import { toError } from "./outcome.ts";

export type FluxSeverity = "info" | "error";

/** fluxcd/pkg/apis/event v1beta1 Event, the fields Cairn sets. */
export interface FluxEvent {
  readonly involvedObject: {
    readonly apiVersion: string;
    readonly kind: string;
    readonly namespace: string;
    readonly name: string;
    readonly uid?: string;
  };
  readonly severity: FluxSeverity;
  /** RFC 3339, seconds. */
  readonly timestamp: string;
  readonly message: string;
  readonly reason: string;
  /**
   * Keys must start with the involved object's API group and a slash
   * (`helm.toolkit.fluxcd.io/managedapp`): notification-controller drops other keys and strips
   * the prefix before a Provider sees them.
   */
  readonly metadata?: Readonly<Record<string, string>>;
  readonly reportingController: string;
  readonly reportingInstance: string;
}

/** notification-controller refuses longer messages (Flux's own limit for an event). */
export const MAX_MESSAGE_CHARS = 39_000;

/** The event's JSON body (pure). */
export function fluxEventBody(
  event: Omit<FluxEvent, "timestamp" | "message"> & { readonly at: Date; readonly message: string },
): FluxEvent {
  const { at, message, ...rest } = event;
  return {
    ...rest,
    timestamp: `${at.toISOString().slice(0, 19)}Z`,
    message: message.length > MAX_MESSAGE_CHARS ? message.slice(0, MAX_MESSAGE_CHARS) : message,
  };
}

/** What to do with an answer (pure): done, try again, or give up. */
export function answerOf(status: number): "delivered" | "retry" | "duplicate" | "refused" {
  if (status >= 200 && status < 300) return "delivered";
  if (status === 429) return "duplicate";
  if (status >= 500 || status === 408) return "retry";
  return "refused";
}

export interface FluxNotifierOptions {
  /** notification-controller's event address, e.g. http://notification-controller.flux-system.svc.cluster.local./ */
  readonly url: string;
  readonly log: LogFn;
  /** Attempts per event, the first included. Default 4. */
  readonly maxAttempts?: number;
  /** The first retry waits this long, each next one twice as long. Default 1 s. */
  readonly backoffMs?: number;
  /** Per attempt. Default 15 s, as Flux's recorder. */
  readonly timeoutMs?: number;
  /** Events waiting (not counting the one in flight) beyond this are dropped, oldest first. Default 1000. */
  readonly maxPending?: number;
  readonly fetch?: typeof fetch;
  /** Waits between attempts; a timer by default (no reconcile ever waits on it). */
  readonly delay?: (ms: number) => Promise<void>;
}

export class FluxNotifier {
  readonly #url: string;
  readonly #log: LogFn;
  readonly #maxAttempts: number;
  readonly #backoffMs: number;
  readonly #timeoutMs: number;
  readonly #maxPending: number;
  readonly #fetch: typeof fetch;
  readonly #delay: (ms: number) => Promise<void>;
  readonly #queue: FluxEvent[] = [];
  #running = false;
  #idle: Promise<void> = Promise.resolve();
  #sent = 0;
  #dropped = 0;

  constructor(opts: FluxNotifierOptions) {
    this.#url = opts.url;
    this.#log = opts.log;
    this.#maxAttempts = Math.max(1, opts.maxAttempts ?? 4);
    this.#backoffMs = opts.backoffMs ?? 1_000;
    this.#timeoutMs = opts.timeoutMs ?? 15_000;
    this.#maxPending = Math.max(1, opts.maxPending ?? 1_000);
    this.#fetch = opts.fetch ?? fetch;
    this.#delay =
      opts.delay ??
      ((ms) =>
        new Promise((resolve) => {
          // A pending retry must not keep the process alive at shutdown.
          setTimeout(resolve, ms).unref();
        }));
  }

  /** Queues an event; returns at once. */
  post(event: FluxEvent): void {
    this.#queue.push(event);
    while (this.#queue.length > this.#maxPending) {
      const lost = this.#queue.shift();
      this.#dropped++;
      this.#log("warn", "notification dropped: too many waiting", {
        reason: lost?.reason,
        involvedObject: lost ? describe(lost) : undefined,
      });
    }
    if (!this.#running) {
      this.#running = true;
      this.#idle = this.#drain();
    }
  }

  /** Settles once every queued event was delivered or given up on (tests, shutdown). */
  idle(): Promise<void> {
    return this.#idle;
  }

  get stats(): { readonly sent: number; readonly dropped: number; readonly pending: number } {
    return { sent: this.#sent, dropped: this.#dropped, pending: this.#queue.length };
  }

  // One event at a time, in order: notification-controller sees them as Cairn recorded them.
  async #drain(): Promise<void> {
    try {
      for (let next = this.#queue.shift(); next; next = this.#queue.shift()) {
        await this.#deliver(next);
      }
    } finally {
      this.#running = false;
    }
  }

  async #deliver(event: FluxEvent): Promise<void> {
    const fields = { reason: event.reason, involvedObject: describe(event) };
    for (let attempt = 1; ; attempt++) {
      let problem: string;
      try {
        const res = await this.#fetch(this.#url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(event),
          signal: AbortSignal.timeout(this.#timeoutMs),
        });
        // The body says nothing we act on; read it so the connection is reused.
        await res.arrayBuffer().catch(() => undefined);
        const answer = answerOf(res.status);
        if (answer === "delivered") {
          this.#sent++;
          return;
        }
        if (answer === "duplicate") {
          this.#log("debug", "notification-controller already has this event", fields);
          return;
        }
        if (answer === "refused") {
          this.#dropped++;
          this.#log("warn", "notification-controller refused an event", {
            ...fields,
            status: res.status,
          });
          return;
        }
        problem = `HTTP ${res.status}`;
      } catch (err) {
        problem = toError(err).message;
      }
      if (attempt >= this.#maxAttempts) {
        this.#dropped++;
        this.#log("warn", "could not post an event to notification-controller", {
          ...fields,
          attempts: attempt,
          err: problem,
        });
        return;
      }
      await this.#delay(this.#backoffMs * 2 ** (attempt - 1));
    }
  }
}

function describe(event: FluxEvent): string {
  const o = event.involvedObject;
  return `${o.kind} ${o.namespace}/${o.name}`;
}
