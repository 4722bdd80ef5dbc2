// One informer per kind for the whole process: every controller that reads Pods reads the same
// store, so each kind is listed and watched once (the manager runs each informer once).
import type { Clock } from "./clock.ts";
import { Informer, type WatchSource } from "./informer.ts";
import type { LogFn } from "./log.ts";

export class InformerFactory {
  readonly #source: WatchSource;
  readonly #clock: Clock;
  readonly #log: LogFn | undefined;
  readonly #informers = new Map<string, Informer>();
  readonly #selectors: ReadonlyMap<string, string>;

  /** `labelSelectors` narrows the informers of some kinds, e.g. {ManagedApp: "team=a"}. */
  constructor(opts: {
    source: WatchSource;
    clock: Clock;
    log?: LogFn;
    labelSelectors?: Readonly<Record<string, string>>;
  }) {
    this.#source = opts.source;
    this.#clock = opts.clock;
    this.#log = opts.log;
    this.#selectors = new Map(Object.entries(opts.labelSelectors ?? {}));
  }

  /** The shared informer of a kind, created on first use. */
  for(apiVersion: string, kind: string): Informer {
    const key = `${apiVersion}/${kind}`;
    let informer = this.#informers.get(key);
    if (!informer) {
      informer = new Informer({
        source: this.#source,
        apiVersion,
        kind,
        clock: this.#clock,
        ...(this.#log ? { log: this.#log } : {}),
        ...(this.#selectors.has(kind) ? { labelSelector: this.#selectors.get(kind) ?? "" } : {}),
      });
      this.#informers.set(key, informer);
    }
    return informer;
  }

  /** Every informer handed out so far, keyed by kind as the manager expects. */
  all(): ReadonlyMap<string, Informer> {
    return new Map([...this.#informers.values()].map((i) => [i.kind, i]));
  }
}
