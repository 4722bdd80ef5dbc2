// List, then watch, and keep a store of one kind, keyed like queue keys. The informer survives
// anything the API does: 410 Gone relists and diffs against the store, every other failure
// restarts the watch with backoff, and a watchdog restarts a watch that went silent (the JS
// client's own informer stops on non-410 errors, and users report watches that die quietly).
import type {
  KubeObject,
  ListOptions,
  ListResult,
  WatchEvent,
  WatchOptions,
} from "../kube/client.ts";
import { isApiUnreachable, isKubeError } from "../kube/errors.ts";
import { backoffDelay, type BackoffOptions } from "./backoff.ts";
import { wait, type Cancel, type Clock } from "./clock.ts";
import { objectKey } from "./keys.ts";
import { silentLog, type LogFn } from "./log.ts";
import { toError } from "./outcome.ts";
import { IndexedStore, type IndexFn } from "./store.ts";

/** What the informer needs from the API; KubeClient satisfies it as it is. */
export interface WatchSource {
  list(apiVersion: string, kind: string, opts?: ListOptions): Promise<ListResult>;
  watch(apiVersion: string, kind: string, opts?: WatchOptions): AsyncIterable<WatchEvent>;
}

export type ChangeEvent =
  | { readonly type: "added"; readonly key: string; readonly object: KubeObject }
  | {
      readonly type: "updated";
      readonly key: string;
      readonly object: KubeObject;
      readonly old: KubeObject;
      /** A periodic resync re-announced an unchanged object (old === object). */
      readonly resync: boolean;
    }
  | {
      readonly type: "deleted";
      readonly key: string;
      /** The object's last state: from the DELETED event, or from the store after a relist. */
      readonly object: KubeObject;
      /** True when a relist found the object gone, so `object` may be older than its end. */
      readonly finalStateUnknown: boolean;
    };

export type ChangeHandler = (event: ChangeEvent) => void;

export interface InformerOptions {
  readonly source: WatchSource;
  readonly apiVersion: string;
  readonly kind: string;
  /** Watch one namespace only; omit for all namespaces or a cluster-scoped kind. */
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly clock: Clock;
  readonly log?: LogFn;
  /** Source of randomness for watch timeouts and jitter; default Math.random. */
  readonly random?: () => number;
  /** Server-side watch timeout, drawn per watch from [min, max]; default 300–600 s. */
  readonly watchTimeoutSeconds?: { readonly min: number; readonly max: number };
  /** Restart backoff after failures; default 1 s doubling to 30 s, up to 20 % jitter. */
  readonly backoff?: Partial<BackoffOptions>;
  /** Re-announce every object this often; 0 disables. Default 10 min. */
  readonly resyncMs?: number;
}

export interface InformerStats {
  readonly synced: boolean;
  readonly items: number;
  readonly resourceVersion: string;
  /** Watches restarted after an error or a silent stretch (normal ends are not counted). */
  readonly restarts: number;
  /** Lists after the first one, each after a 410 Gone. */
  readonly relists: number;
  /** Time since the last list or watch event (bookmarks included); undefined before any. */
  readonly lastEventAgeMs: number | undefined;
}

type WatchEnd =
  | { readonly kind: "aborted" }
  | {
      readonly kind: "ended" | "silent" | "gone" | "failed";
      readonly events: number;
      readonly lastedMs: number;
      readonly error?: Error;
    };

const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1_000, maxMs: 30_000, jitter: 0.2 };
const DEFAULT_WATCH_TIMEOUT = { min: 300, max: 600 };
export const DEFAULT_RESYNC_MS = 10 * 60_000;
// While the API server cannot be reached, a list or watch is retried at least this often, so the
// cache (and every wake-up it drives) resumes within this long of the API's return instead of
// after a backoff that grew during the outage. A handful of informers make the cost negligible.
const UNREACHABLE_MAX_BACKOFF_MS = 2_000;

export class Informer {
  readonly apiVersion: string;
  readonly kind: string;
  readonly #source: WatchSource;
  readonly #selectors: ListOptions;
  readonly #clock: Clock;
  readonly #log: LogFn;
  readonly #random: () => number;
  readonly #watchTimeout: { readonly min: number; readonly max: number };
  readonly #backoff: BackoffOptions;
  readonly #resyncMs: number;

  readonly #store: IndexedStore;
  readonly #handlers = new Set<ChangeHandler>();
  readonly #syncWaiters = new Set<() => void>();

  #resourceVersion = "";
  #synced = false;
  #listedOnce = false;
  #running = false;
  #restarts = 0;
  #relists = 0;
  #lastEventAt: number | undefined;

  constructor(opts: InformerOptions) {
    this.apiVersion = opts.apiVersion;
    this.kind = opts.kind;
    this.#source = opts.source;
    this.#selectors = {
      ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}),
      ...(opts.labelSelector !== undefined ? { labelSelector: opts.labelSelector } : {}),
      ...(opts.fieldSelector !== undefined ? { fieldSelector: opts.fieldSelector } : {}),
    };
    this.#clock = opts.clock;
    this.#log = opts.log ?? silentLog;
    this.#random = opts.random ?? Math.random;
    this.#watchTimeout = opts.watchTimeoutSeconds ?? DEFAULT_WATCH_TIMEOUT;
    this.#backoff = { ...DEFAULT_BACKOFF, ...opts.backoff };
    this.#resyncMs = opts.resyncMs ?? DEFAULT_RESYNC_MS;
    this.#store = new IndexedStore((index, key, err) =>
      this.#log("error", "index function failed", this.#fields({ index, key, err: toError(err) })),
    );
  }

  /** Subscribes to changes; returns the unsubscribe function. */
  onChange(handler: ChangeHandler): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  get(key: string): KubeObject | undefined {
    return this.#store.get(key);
  }

  list(): KubeObject[] {
    return this.#store.values();
  }

  keys(): string[] {
    return this.#store.keys();
  }

  hasSynced(): boolean {
    return this.#synced;
  }

  /** Resolves true once the first list is in the store, or false if the signal aborts first. */
  waitForSync(signal: AbortSignal): Promise<boolean> {
    if (this.#synced) return Promise.resolve(true);
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const synced = () => {
        signal.removeEventListener("abort", aborted);
        resolve(true);
      };
      const aborted = () => {
        this.#syncWaiters.delete(synced);
        resolve(false);
      };
      this.#syncWaiters.add(synced);
      signal.addEventListener("abort", aborted, { once: true });
    });
  }

  /** Adds an index (see store.ts for the built-in namespace and owner ones). */
  addIndex(name: string, fn: IndexFn): void {
    this.#store.addIndex(name, fn);
  }

  byIndex(name: string, value: string): KubeObject[] {
    return this.#store.byIndex(name, value);
  }

  stats(): InformerStats {
    return {
      synced: this.#synced,
      items: this.#store.size,
      resourceVersion: this.#resourceVersion,
      restarts: this.#restarts,
      relists: this.#relists,
      lastEventAgeMs:
        this.#lastEventAt === undefined
          ? undefined
          : this.#clock.now().getTime() - this.#lastEventAt,
    };
  }

  /**
   * Lists and watches until the signal aborts. API failures are logged and retried, never
   * thrown: a controller without its informer is worse than one that is briefly behind.
   */
  async run(signal: AbortSignal): Promise<void> {
    if (this.#running) throw new Error(`the ${this.kind} informer is already running`);
    this.#running = true;
    const stopResync = this.#scheduleResync(signal);
    try {
      await this.#loop(signal);
    } finally {
      stopResync();
      this.#running = false;
    }
  }

  async #loop(signal: AbortSignal): Promise<void> {
    let needList = true;
    let failures = 0;
    // Failures to reach the API at all, counted apart and forgotten as soon as it answers
    // anything: an outage must not leave a grown backoff behind for the first answer after it
    // (a 410 Gone for the resourceVersion the restarted API server no longer has, say).
    let unreachable = 0;
    const backOff = async (err?: unknown) => {
      let delayMs: number;
      if (isApiUnreachable(err)) {
        unreachable++;
        const capped = Math.min(this.#backoff.maxMs, UNREACHABLE_MAX_BACKOFF_MS);
        delayMs = backoffDelay({ ...this.#backoff, maxMs: capped }, unreachable, this.#random);
      } else {
        unreachable = 0;
        failures++;
        delayMs = backoffDelay(this.#backoff, failures, this.#random);
      }
      await wait(this.#clock, delayMs, signal);
    };
    while (!signal.aborted) {
      if (needList) {
        try {
          await this.#list();
          needList = false;
          unreachable = 0;
        } catch (err) {
          if (isAborted(signal)) return;
          this.#log("warn", "list failed; retrying", this.#fields({ err: toError(err) }));
          await backOff(err);
          continue;
        }
      }
      const end = await this.#watchOnce(signal);
      if (end.kind === "aborted") return;
      // A watch that delivered anything proves the connection works: start backoff afresh.
      if (end.events > 0) {
        failures = 0;
        unreachable = 0;
      }
      switch (end.kind) {
        case "ended":
          // A watch that ends at once with nothing to say (a proxy closing it, say) must not
          // turn into a tight loop of requests.
          if (end.events === 0 && end.lastedMs < this.#backoff.baseMs) await backOff();
          break;
        case "silent":
          this.#restarts++;
          this.#log("warn", "watch went silent; restarting", this.#fields({}));
          break;
        case "gone":
          // Our resourceVersion is too old to resume from: only a fresh list can say what
          // changed meanwhile. A Gone right after a list, with nothing in between, backs off.
          this.#log("info", "watch expired (410 Gone); relisting", this.#fields({}));
          if (end.events === 0) await backOff();
          needList = true;
          break;
        case "failed":
          this.#restarts++;
          this.#log(
            "warn",
            "watch failed; restarting",
            this.#fields({ err: end.error, failures: failures + unreachable + 1 }),
          );
          await backOff(end.error);
          break;
      }
    }
  }

  async #list(): Promise<void> {
    const result = await this.#source.list(this.apiVersion, this.kind, this.#selectors);
    const fresh = new Map<string, KubeObject>();
    for (const item of result.items) fresh.set(objectKey(item.metadata), item);
    // Update the whole store first, then announce, so handlers see a consistent cache.
    const events: ChangeEvent[] = [];
    for (const [key, old] of [...this.#store.entries()]) {
      if (fresh.has(key)) continue;
      this.#store.remove(key);
      events.push({ type: "deleted", key, object: old, finalStateUnknown: true });
    }
    for (const [key, object] of fresh) {
      const old = this.#store.put(key, object);
      if (!old) events.push({ type: "added", key, object });
      else if (old.metadata.resourceVersion !== object.metadata.resourceVersion) {
        events.push({ type: "updated", key, object, old, resync: false });
      }
    }
    this.#resourceVersion = result.resourceVersion;
    this.#lastEventAt = this.#clock.now().getTime();
    if (this.#listedOnce) this.#relists++;
    this.#listedOnce = true;
    this.#log(
      "debug",
      "listed",
      this.#fields({
        items: fresh.size,
        changes: events.length,
        resourceVersion: result.resourceVersion,
      }),
    );
    for (const event of events) this.#emit(event);
    if (!this.#synced) {
      this.#synced = true;
      for (const resolve of this.#syncWaiters) resolve();
      this.#syncWaiters.clear();
    }
  }

  async #watchOnce(signal: AbortSignal): Promise<WatchEnd> {
    if (signal.aborted) return { kind: "aborted" };
    const attempt = new AbortController();
    const abortAttempt = () => attempt.abort();
    signal.addEventListener("abort", abortAttempt, { once: true });
    const timeoutSeconds = this.#drawTimeoutSeconds();
    // Not even a bookmark for twice the server-side timeout: the connection is dead without
    // having said so.
    // Fields of an object, so the compiler does not narrow them away across the callbacks.
    const state = { silent: false, failed: false, failure: undefined as unknown };
    let cancelWatchdog: Cancel = () => undefined;
    const armWatchdog = () => {
      cancelWatchdog();
      cancelWatchdog = this.#clock.setTimeout(
        () => {
          state.silent = true;
          attempt.abort();
        },
        2 * timeoutSeconds * 1000,
      );
    };
    // Racing each next() against the abort lets a watch that ignores its signal be abandoned.
    const abandoned = new Promise<IteratorResult<WatchEvent>>((resolve) => {
      attempt.signal.addEventListener("abort", () => resolve({ done: true, value: undefined }), {
        once: true,
      });
    });
    const startedAt = this.#clock.now().getTime();
    let events = 0;
    let iterator: AsyncIterator<WatchEvent> | undefined;
    armWatchdog();
    try {
      const stream = this.#source.watch(this.apiVersion, this.kind, {
        ...this.#selectors,
        ...(this.#resourceVersion ? { resourceVersion: this.#resourceVersion } : {}),
        timeoutSeconds,
        allowBookmarks: true,
        signal: attempt.signal,
      });
      iterator = stream[Symbol.asyncIterator]();
      for (;;) {
        const next = await Promise.race([iterator.next(), abandoned]);
        if (next.done) break;
        events++;
        armWatchdog();
        this.#lastEventAt = this.#clock.now().getTime();
        this.#apply(next.value);
      }
    } catch (err) {
      state.failed = true;
      state.failure = err;
    } finally {
      cancelWatchdog();
      signal.removeEventListener("abort", abortAttempt);
      attempt.abort();
      // Not awaited: a watch stuck in next() would keep return() waiting forever.
      iterator?.return?.().catch(() => undefined);
    }
    if (isAborted(signal)) return { kind: "aborted" };
    const lastedMs = this.#clock.now().getTime() - startedAt;
    if (state.silent) return { kind: "silent", events, lastedMs };
    if (!state.failed) return { kind: "ended", events, lastedMs };
    const kind = isKubeError(state.failure, "Gone") ? "gone" : "failed";
    return { kind, events, lastedMs, error: toError(state.failure) };
  }

  #apply(event: WatchEvent): void {
    if (event.type === "BOOKMARK") {
      if (event.resourceVersion) this.#resourceVersion = event.resourceVersion;
      return;
    }
    const object = event.object;
    const key = objectKey(object.metadata);
    if (object.metadata.resourceVersion) this.#resourceVersion = object.metadata.resourceVersion;
    if (!object.metadata.name) {
      this.#log("warn", "ignoring a watch event for an object without a name", this.#fields({}));
      return;
    }
    if (event.type === "DELETED") {
      // Only announce what we announced before: a delete of something never seen is noise.
      if (this.#store.remove(key))
        this.#emit({ type: "deleted", key, object, finalStateUnknown: false });
      return;
    }
    const old = this.#store.put(key, object);
    if (!old) {
      this.#emit({ type: "added", key, object });
      return;
    }
    // The same version again is a replay of what we hold (a watch resumed from before the
    // store's version), not a change: announcing it would be a phantom update.
    if (old.metadata.resourceVersion !== object.metadata.resourceVersion) {
      this.#emit({ type: "updated", key, object, old, resync: false });
    }
  }

  #emit(event: ChangeEvent): void {
    for (const handler of this.#handlers) {
      try {
        handler(event);
      } catch (err) {
        // One broken handler must not starve the others or stop the watch.
        this.#log(
          "error",
          "change handler failed",
          this.#fields({ key: event.key, err: toError(err) }),
        );
      }
    }
  }

  #scheduleResync(signal: AbortSignal): () => void {
    if (this.#resyncMs <= 0) return () => undefined;
    let cancel: Cancel = () => undefined;
    const tick = () => {
      if (signal.aborted) return;
      if (this.#synced) {
        for (const [key, object] of this.#store.entries()) {
          this.#emit({ type: "updated", key, object, old: object, resync: true });
        }
      }
      cancel = this.#clock.setTimeout(tick, this.#resyncMs);
    };
    cancel = this.#clock.setTimeout(tick, this.#resyncMs);
    return () => cancel();
  }

  #drawTimeoutSeconds(): number {
    const { min, max } = this.#watchTimeout;
    return Math.floor(min + this.#random() * (max - min + 1));
  }

  #fields(extra: Record<string, unknown>): Record<string, unknown> {
    return {
      informer: this.kind,
      ...(this.#selectors.namespace !== undefined ? { namespace: this.#selectors.namespace } : {}),
      ...extra,
    };
  }
}

// A call, not the property: the compiler narrows `signal.aborted` as if awaits could not change it.
function isAborted(signal: AbortSignal): boolean {
  return signal.aborted;
}
