// The versions each HelmRepository offers, read off the reconcile path and shared by every app
// that uses the repository: a pass gets the cached answer, or starts the read and is woken when
// it is done. An answer stands until the HelmRepository's spec or artifact revision changes
// (source-controller fetched a different index); a failure is read again after a backoff.
import { backoffDelay, type BackoffOptions } from "../runtime/backoff.ts";
import type { Clock } from "../runtime/clock.ts";
import type { RepositorySettings } from "./chart-source.ts";
import type { ChartVersions } from "./helm-index.ts";

export type IndexReading =
  | {
      readonly ok: true;
      readonly charts: ChartVersions;
      /** When the index was read. */
      readonly readAt: Date;
    }
  | {
      readonly ok: false;
      readonly reason: string;
      readonly message: string;
      readonly readAt: Date;
    };

/** Reads and parses one repository's index; never rejects (every failure is a reading). */
export type ReadIndex = (settings: RepositorySettings) => Promise<IndexReading>;

interface Entry {
  readonly fingerprint: string;
  reading?: IndexReading;
  failures: number;
  retryAt?: number;
  inFlight: boolean;
}

export interface IndexCacheDeps {
  readonly read: ReadIndex;
  readonly clock: Clock;
  /** Called with the repository's key ("namespace/name") when a read finishes. */
  readonly onSettled: (repositoryKey: string) => void;
  readonly backoff: BackoffOptions;
  readonly random: () => number;
}

export interface CachedIndex {
  /** Undefined while the first read of this fingerprint runs. */
  readonly reading: IndexReading | undefined;
  /** When to look again after a failure. */
  readonly requeueAfterMs?: number;
}

export class IndexCache {
  readonly #deps: IndexCacheDeps;
  readonly #entries = new Map<string, Entry>();

  constructor(deps: IndexCacheDeps) {
    this.#deps = deps;
  }

  lookup(settings: RepositorySettings): CachedIndex {
    const key = `${settings.ref.namespace}/${settings.ref.name}`;
    const now = this.#deps.clock.now().getTime();
    let entry = this.#entries.get(key);
    if (entry?.fingerprint !== settings.fingerprint) {
      entry = { fingerprint: settings.fingerprint, failures: 0, inFlight: false };
      this.#entries.set(key, entry);
    }
    const due =
      entry.reading === undefined || (entry.retryAt !== undefined && now >= entry.retryAt);
    if (due && !entry.inFlight) this.#start(key, entry, settings);
    if (entry.retryAt !== undefined && !entry.inFlight) {
      return { reading: entry.reading, requeueAfterMs: Math.max(0, entry.retryAt - now) };
    }
    return { reading: entry.reading };
  }

  /** The repository is gone: drop its answer. */
  forget(repositoryKey: string): void {
    this.#entries.delete(repositoryKey);
  }

  /** Repositories with an answer or a read in flight (for tests and benchmarks). */
  get size(): number {
    return this.#entries.size;
  }

  #start(key: string, entry: Entry, settings: RepositorySettings): void {
    entry.inFlight = true;
    const settled = this.#deps.read(settings).catch((err: unknown): IndexReading => ({
      ok: false,
      reason: "IndexUnreachable",
      message: err instanceof Error ? err.message : String(err),
      readAt: this.#deps.clock.now(),
    }));
    void settled.then((reading) => {
      entry.inFlight = false;
      entry.reading = reading;
      if (reading.ok) {
        entry.failures = 0;
        delete entry.retryAt;
      } else {
        entry.failures++;
        entry.retryAt =
          this.#deps.clock.now().getTime() +
          backoffDelay(this.#deps.backoff, entry.failures, this.#deps.random);
      }
      if (this.#entries.get(key) === entry) this.#deps.onSettled(key);
    });
  }
}
