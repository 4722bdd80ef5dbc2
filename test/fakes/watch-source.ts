// A scriptable stand-in for the API side of an informer. Lists answer from a queue of scripted
// results (the last success repeats); every watch call opens a FakeWatch that the test drives:
// push events, end it, fail it with a KubeError, or let it hang like a dead connection.
import type {
  KubeObject,
  ListOptions,
  ListResult,
  WatchEvent,
  WatchOptions,
} from "../../src/kube/client.ts";
import { KubeError, type KubeErrorCode } from "../../src/kube/errors.ts";
import type { WatchSource } from "../../src/runtime/informer.ts";

export interface ListCall {
  readonly apiVersion: string;
  readonly kind: string;
  readonly opts: ListOptions;
}

/** What a watch does once its scripted events are out. */
export type WatchEnding = "open" | "end" | "hang" | KubeError;

export interface WatchScript {
  readonly events?: readonly WatchEvent[];
  readonly then?: WatchEnding;
}

export class FakeWatch {
  readonly apiVersion: string;
  readonly kind: string;
  readonly opts: WatchOptions;
  readonly #buffer: WatchEvent[] = [];
  #ending: "end" | KubeError | undefined;
  /** A dead connection: it neither delivers nor notices its abort signal. */
  #hung = false;
  #consumerGone = false;
  #wake: (() => void) | undefined;

  constructor(apiVersion: string, kind: string, opts: WatchOptions) {
    this.apiVersion = apiVersion;
    this.kind = kind;
    this.opts = opts;
    opts.signal?.addEventListener("abort", () => this.#notify(), { once: true });
  }

  /** The informer stopped reading: it aborted the signal or returned from the iterator. */
  get closed(): boolean {
    return this.#consumerGone || (this.opts.signal?.aborted ?? false);
  }

  push(...events: WatchEvent[]): void {
    this.#buffer.push(...events);
    this.#notify();
  }

  end(): void {
    this.#ending ??= "end";
    this.#notify();
  }

  fail(code: KubeErrorCode | KubeError): void {
    this.#ending ??= code instanceof KubeError ? code : new KubeError(code, `watch: ${code}`);
    this.#notify();
  }

  hang(): void {
    this.#hung = true;
  }

  async *stream(): AsyncGenerator<WatchEvent> {
    try {
      for (;;) {
        if (this.#hung) {
          // Never settles, whatever happens to the signal.
          await new Promise<never>(() => undefined);
        }
        const next = this.#buffer.shift();
        if (next) {
          yield next;
          continue;
        }
        // As KubeClient does: an aborted watch ends quietly.
        if (this.opts.signal?.aborted) return;
        if (this.#ending === "end") return;
        if (this.#ending) throw this.#ending;
        await new Promise<void>((resolve) => (this.#wake = resolve));
      }
    } finally {
      this.#consumerGone = true;
    }
  }

  #notify(): void {
    this.#wake?.();
    this.#wake = undefined;
  }
}

export class FakeWatchSource implements WatchSource {
  readonly listCalls: ListCall[] = [];
  readonly watches: FakeWatch[] = [];
  readonly #listAnswers: (ListResult | Error)[] = [];
  #lastList: ListResult = { items: [], resourceVersion: "1" };
  readonly #scripts: WatchScript[] = [];

  /** Answers the next list call with these items; later calls repeat it until replaced. */
  answerList(items: readonly KubeObject[], resourceVersion: string): this {
    this.#listAnswers.push({ items, resourceVersion });
    return this;
  }

  /** The next list call fails with this error. */
  failList(error: Error): this {
    this.#listAnswers.push(error);
    return this;
  }

  /** Scripts the next watch call; unscripted watches stay open for the test to drive. */
  scriptWatch(script: WatchScript): this {
    this.#scripts.push(script);
    return this;
  }

  list(apiVersion: string, kind: string, opts: ListOptions = {}): Promise<ListResult> {
    this.listCalls.push({ apiVersion, kind, opts });
    const answer = this.#listAnswers.shift() ?? this.#lastList;
    if (answer instanceof Error) return Promise.reject(answer);
    this.#lastList = answer;
    return Promise.resolve(answer);
  }

  watch(apiVersion: string, kind: string, opts: WatchOptions = {}): AsyncIterable<WatchEvent> {
    const watch = new FakeWatch(apiVersion, kind, opts);
    this.watches.push(watch);
    const script = this.#scripts.shift();
    if (script) {
      watch.push(...(script.events ?? []));
      const then = script.then ?? "open";
      if (then === "end") watch.end();
      else if (then === "hang") watch.hang();
      else if (then instanceof KubeError) watch.fail(then);
    }
    return watch.stream();
  }

  /** The most recent watch; fails the test if there is none. */
  get current(): FakeWatch {
    const last = this.watches.at(-1);
    if (!last) throw new Error("no watch has been opened");
    return last;
  }
}

/** A ConfigMap-like object for tests. */
export function object(
  name: string,
  resourceVersion: string,
  extra: { namespace?: string; labels?: Record<string, string>; owners?: string[] } = {},
): KubeObject {
  const namespace = extra.namespace ?? "default";
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name,
      ...(namespace ? { namespace } : {}),
      uid: `uid-${namespace}-${name}`,
      resourceVersion,
      ...(extra.labels ? { labels: extra.labels } : {}),
      ...(extra.owners
        ? { ownerReferences: extra.owners.map((uid) => ({ uid, kind: "Owner", name: uid })) }
        : {}),
    },
  };
}

export function added(obj: KubeObject): WatchEvent {
  return { type: "ADDED", object: obj };
}

export function modified(obj: KubeObject): WatchEvent {
  return { type: "MODIFIED", object: obj };
}

export function deleted(obj: KubeObject): WatchEvent {
  return { type: "DELETED", object: obj };
}

export function bookmark(resourceVersion: string): WatchEvent {
  return { type: "BOOKMARK", resourceVersion };
}
