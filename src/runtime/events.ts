// Records events.k8s.io/v1 Events about objects, for `kubectl describe` and `kubectl events`.
//
// Repeats are aggregated as client-go's EventSeries does: the same event (same object, type,
// reason, action and note) seen again within the series window does not create a new Event; the
// first one gets `series: {count, lastObservedTime}` instead, updated on every repeat. After a
// quiet window the next occurrence starts a new Event.
//
// Recording is best effort and never throws: a controller must not fail a reconcile because the
// event about it could not be written. Failures go to the log.
//
// Secrets: an Event is readable by anyone who may list Events in the namespace, far more people
// than may read Secrets. Callers must never put secret material (tokens, passwords, keys,
// credentials in URLs, Secret data) into a reason, action or note. As a last line of defence the
// recorder masks the user-info part of URLs in notes (`https://user:token@host` becomes
// `https://***@host`), but it cannot recognise secrets in general.
import type { KubeObject, ObjectRef } from "../kube/client.ts";
import { isKubeError } from "../kube/errors.ts";
import type { Clock } from "./clock.ts";
import { silentLog, type LogFn } from "./log.ts";
import { toError } from "./outcome.ts";

export type EventType = "Normal" | "Warning";

/** The object an Event is about. */
export interface EventRegarding {
  readonly apiVersion: string;
  readonly kind: string;
  /** Omit for cluster-scoped objects; their Events go to the "default" namespace. */
  readonly namespace?: string | undefined;
  readonly name: string;
  readonly uid?: string | undefined;
}

/** What the recorder needs from the API; KubeClient satisfies it as it is. */
export interface EventClient {
  create(obj: KubeObject): Promise<KubeObject>;
  mergePatch(ref: ObjectRef, patch: Record<string, unknown>): Promise<KubeObject>;
}

export interface EventRecorderOptions {
  readonly client: EventClient;
  readonly clock: Clock;
  /** Who is reporting: the pod (or host) name of this replica. */
  readonly reportingInstance: string;
  /** Default "cairn.dev/cairn". */
  readonly reportingController?: string;
  readonly log?: LogFn;
  /** Repeats within this long after the last occurrence join its series. Default 10 min. */
  readonly seriesWindowMs?: number;
  /** Distinct events remembered for aggregation; the oldest are forgotten first. Default 4096. */
  readonly maxSeries?: number;
  /** Randomness for Event names; default Math.random. */
  readonly random?: () => number;
  /**
   * Called with every event as it is recorded (its note with URL credentials masked, not cut
   * to the Event's limit), before the Event is written: another sink such as Flux's
   * notification-controller (flux-notifier.ts). It must not throw and must not wait.
   */
  readonly forward?: (event: RecordedEvent) => void;
}

/** An event as the recorder hands it to `forward`. */
export interface RecordedEvent {
  readonly regarding: EventRegarding;
  readonly type: EventType;
  readonly reason: string;
  readonly action: string;
  readonly note: string;
  readonly at: Date;
}

export const DEFAULT_REPORTING_CONTROLLER = "cairn.dev/cairn";
/** The API rejects longer notes (the limit is in bytes). */
export const MAX_NOTE_BYTES = 1024;
/** The API's limit for reason and action. */
const MAX_REASON_LENGTH = 128;
const DEFAULT_SERIES_WINDOW_MS = 10 * 60_000;
const DEFAULT_MAX_SERIES = 4096;
const API_VERSION = "events.k8s.io/v1";

interface Series {
  readonly key: string;
  readonly namespace: string;
  /** Undefined until the Event exists, and again after it turned out to be gone. */
  name: string | undefined;
  count: number;
  /** Occurrences already written to the API. */
  written: number;
  firstAt: Date;
  lastAt: Date;
  /** Writes for one series run one after another, so counts never go backwards. */
  chain: Promise<void>;
}

interface EventContent {
  readonly regarding: EventRegarding;
  readonly type: EventType;
  readonly reason: string;
  readonly action: string;
  readonly note: string;
}

export class EventRecorder {
  readonly #client: EventClient;
  readonly #clock: Clock;
  readonly #instance: string;
  readonly #controller: string;
  readonly #log: LogFn;
  readonly #windowMs: number;
  readonly #maxSeries: number;
  readonly #random: () => number;
  readonly #forward: ((event: RecordedEvent) => void) | undefined;
  /** Insertion order is the order of first occurrence, so eviction drops the oldest. */
  readonly #series = new Map<string, Series>();
  /** Part of every Event name, so two Events in one millisecond never share one. */
  #sequence = 0;

  constructor(opts: EventRecorderOptions) {
    this.#client = opts.client;
    this.#clock = opts.clock;
    this.#instance = opts.reportingInstance;
    this.#controller = opts.reportingController ?? DEFAULT_REPORTING_CONTROLLER;
    this.#log = opts.log ?? silentLog;
    this.#windowMs = opts.seriesWindowMs ?? DEFAULT_SERIES_WINDOW_MS;
    this.#maxSeries = Math.max(1, opts.maxSeries ?? DEFAULT_MAX_SERIES);
    this.#random = opts.random ?? Math.random;
    this.#forward = opts.forward;
  }

  /**
   * Records an event. The promise resolves when the write is done (or has failed and been
   * logged); it never rejects, so `void recorder.record(...)` is a fine way to call it.
   */
  async record(
    regarding: EventRegarding,
    type: EventType,
    reason: string,
    action: string,
    note: string,
  ): Promise<void> {
    try {
      const content: EventContent = {
        regarding,
        type,
        reason: reason.slice(0, MAX_REASON_LENGTH),
        action: action.slice(0, MAX_REASON_LENGTH),
        note: truncateUtf8(maskUrlCredentials(note), MAX_NOTE_BYTES),
      };
      const now = this.#clock.now();
      this.#forward?.({
        regarding,
        type,
        reason: content.reason,
        action: content.action,
        note: maskUrlCredentials(note),
        at: now,
      });
      const series = this.#occurrence(content, now);
      series.chain = series.chain.then(() => this.#write(series, content));
      await series.chain;
    } catch (err) {
      this.#fail(regarding, reason, err);
    }
  }

  /** Distinct events currently remembered for aggregation. */
  get size(): number {
    return this.#series.size;
  }

  #occurrence(content: EventContent, now: Date): Series {
    this.#forgetOld(now);
    const key = seriesKey(content);
    const known = this.#series.get(key);
    if (known) {
      known.count++;
      known.lastAt = now;
      return known;
    }
    while (this.#series.size >= this.#maxSeries) {
      const oldest = this.#series.keys().next();
      if (oldest.done) break;
      this.#series.delete(oldest.value);
    }
    const series: Series = {
      key,
      namespace: content.regarding.namespace || "default",
      name: undefined,
      count: 1,
      written: 0,
      firstAt: now,
      lastAt: now,
      chain: Promise.resolve(),
    };
    this.#series.set(key, series);
    return series;
  }

  #forgetOld(now: Date): void {
    for (const [key, series] of this.#series) {
      if (now.getTime() - series.lastAt.getTime() > this.#windowMs) this.#series.delete(key);
    }
  }

  /** Brings the API up to date with the series; never rejects. */
  async #write(series: Series, content: EventContent): Promise<void> {
    if (series.written >= series.count) return; // a later write already covered this one
    const count = series.count;
    const lastAt = series.lastAt;
    try {
      if (series.name !== undefined) {
        try {
          await this.#client.mergePatch(
            {
              apiVersion: API_VERSION,
              kind: "Event",
              namespace: series.namespace,
              name: series.name,
            },
            { series: { count, lastObservedTime: microTime(lastAt) } },
          );
          series.written = count;
          return;
        } catch (err) {
          // Events expire (the API server's --event-ttl, one hour by default): start anew.
          if (!isKubeError(err, "NotFound")) throw err;
          series.name = undefined;
        }
      }
      let name = this.#eventName(content.regarding.name, lastAt);
      try {
        await this.#client.create(this.#event(series, content, name, count, lastAt));
      } catch (err) {
        // Another replica (or an earlier process) took the name: one more try with a new one.
        if (!isKubeError(err, "AlreadyExists")) throw err;
        name = this.#eventName(content.regarding.name, lastAt);
        await this.#client.create(this.#event(series, content, name, count, lastAt));
      }
      series.name = name;
      series.written = count;
    } catch (err) {
      if (series.name === undefined && this.#series.get(series.key) === series) {
        // Nothing exists to aggregate into: the next occurrence tries a fresh Event.
        this.#series.delete(series.key);
      }
      this.#fail(content.regarding, content.reason, err);
    }
  }

  #event(
    series: Series,
    content: EventContent,
    name: string,
    count: number,
    lastAt: Date,
  ): KubeObject {
    const { regarding } = content;
    return {
      apiVersion: API_VERSION,
      kind: "Event",
      metadata: { name, namespace: series.namespace },
      eventTime: microTime(series.firstAt),
      reportingController: this.#controller,
      reportingInstance: this.#instance,
      regarding: {
        apiVersion: regarding.apiVersion,
        kind: regarding.kind,
        name: regarding.name,
        ...(regarding.namespace ? { namespace: regarding.namespace } : {}),
        ...(regarding.uid ? { uid: regarding.uid } : {}),
      },
      type: content.type,
      reason: content.reason,
      action: content.action,
      note: content.note,
      // The API requires count >= 2 in a series; a first occurrence has none.
      ...(count >= 2 ? { series: { count, lastObservedTime: microTime(lastAt) } } : {}),
    };
  }

  /**
   * `<object name>.<time in hex><sequence><random>`: a valid DNS subdomain, named like
   * client-go's (which uses nanoseconds), unique within this recorder.
   */
  #eventName(objectName: string, at: Date): string {
    const base = objectName
      .toLowerCase()
      .replace(/[^a-z0-9.-]/g, "-")
      .slice(0, 200)
      .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, "");
    this.#sequence = (this.#sequence + 1) % 0x10000;
    const sequence = this.#sequence.toString(16).padStart(4, "0");
    const random = Math.floor(this.#random() * 0x10000)
      .toString(16)
      .padStart(4, "0");
    return `${base || "object"}.${at.getTime().toString(16)}${sequence}${random}`;
  }

  #fail(regarding: EventRegarding, reason: string, err: unknown): void {
    try {
      const where = regarding.namespace ? `${regarding.namespace}/` : "";
      this.#log("warn", "could not record an event", {
        regarding: `${regarding.kind} ${where}${regarding.name}`,
        reason,
        err: toError(err),
      });
    } catch {
      // A broken logger must not make recording throw either.
    }
  }
}

function seriesKey(content: EventContent): string {
  const r = content.regarding;
  return JSON.stringify([
    r.apiVersion,
    r.kind,
    r.namespace ?? "",
    r.name,
    r.uid ?? "",
    content.type,
    content.reason,
    content.action,
    content.note,
  ]);
}

/** metav1.MicroTime: RFC 3339 with microseconds, which is what the API parses for eventTime. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/Z$/, "000Z");
}

/** Cuts `text` to at most `maxBytes` of UTF-8, ending in "…" when cut, never mid-character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  const encoder = new TextEncoder();
  if (encoder.encode(text).length <= maxBytes) return text;
  const ellipsis = "…";
  const budget = maxBytes - encoder.encode(ellipsis).length;
  let out = "";
  let bytes = 0;
  for (const ch of text) {
    const size = encoder.encode(ch).length;
    if (bytes + size > budget) break;
    out += ch;
    bytes += size;
  }
  return out + ellipsis;
}

/** Replaces the user-info of URLs (`scheme://user:pass@`) with `***`. */
export function maskUrlCredentials(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, "$1***@");
}
