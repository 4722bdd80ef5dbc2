// The versions each HelmRepository offers, read off the reconcile path and shared by every app
// that uses the repository: a pass gets the cached answer, or starts the read and is woken when
// it is done. An HTTP repository's answer stands until the HelmRepository's spec or artifact
// revision changes (source-controller fetched a different index). An OCI repository has no
// index and source-controller fetches nothing for it: each chart's tags are listed apart, and
// the answer is read again once it is older than the interval the caller asks for. A failure is
// read again after a backoff. At most a few reads run at once (a fleet's first pass would
// otherwise open a connection per OCI chart at the same moment); the rest wait their turn.
import { backoffDelay, type BackoffOptions } from "../runtime/backoff.ts";
import type { Clock } from "../runtime/clock.ts";
import type { RepositorySettings } from "./chart-source.ts";
import type { ChartVersions } from "./helm-index.ts";
import { OCI_REPOSITORY_TYPE } from "./oci-repository.ts";

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

/**
 * Reads and parses one repository's index (an OCI repository: the chart's tags); never rejects
 * (every failure is a reading).
 */
export type ReadIndex = (settings: RepositorySettings, chart: string) => Promise<IndexReading>;

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
  /** Called with the repository's key (sourceKey) when a read finishes. */
  readonly onSettled: (repositoryKey: string) => void;
  readonly backoff: BackoffOptions;
  readonly random: () => number;
  /** Reads in flight at once; more wait, first come first served. Default 4. */
  readonly maxConcurrentReads?: number;
}

const DEFAULT_MAX_CONCURRENT_READS = 4;

export interface CachedIndex {
  /** Undefined while the first read of this fingerprint runs. */
  readonly reading: IndexReading | undefined;
  /** When to look again: after a failure, or when an interval-bound answer gets old. */
  readonly requeueAfterMs?: number;
}

/**
 * The key a source's answers are kept and its apps woken under: "namespace/name" for a
 * HelmRepository (and the synthetic name of an image); an OCIRepository, which may share a
 * HelmRepository's name, is prefixed with its kind.
 */
export function sourceKey(settings: Pick<RepositorySettings, "ref" | "type">): string {
  return keyOfSource(`${settings.ref.namespace}/${settings.ref.name}`, settings.type);
}

/** sourceKey of an object's informer key ("namespace/name") and its settings' type. */
export const keyOfSource = (objectKey: string, type: string): string =>
  type === OCI_REPOSITORY_TYPE ? `${OCI_REPOSITORY_TYPE}:${objectKey}` : objectKey;

export class IndexCache {
  readonly #deps: IndexCacheDeps;
  readonly #entries = new Map<string, Entry>();
  readonly #max: number;
  readonly #waiting: (() => void)[] = [];
  #reading = 0;

  constructor(deps: IndexCacheDeps) {
    this.#deps = deps;
    this.#max = Math.max(1, deps.maxConcurrentReads ?? DEFAULT_MAX_CONCURRENT_READS);
  }

  /**
   * The answer for the chart's repository. `maxAgeMs` (for an OCI repository, which nothing
   * else tells of a change) reads the chart's tags again once the answer is that old.
   */
  lookup(settings: RepositorySettings, chart: string, maxAgeMs?: number): CachedIndex {
    const repoKey = sourceKey(settings);
    // An index holds every chart; an OCI repository or an image is listed per chart (image).
    const key = settings.type === "default" ? repoKey : `${repoKey}#${chart}`;
    const now = this.#deps.clock.now().getTime();
    let entry = this.#entries.get(key);
    if (entry?.fingerprint !== settings.fingerprint) {
      entry = { fingerprint: settings.fingerprint, failures: 0, inFlight: false };
      this.#entries.set(key, entry);
    }
    const reading = entry.reading;
    const freshUntil =
      maxAgeMs !== undefined && reading?.ok ? reading.readAt.getTime() + maxAgeMs : undefined;
    const due =
      reading === undefined ||
      (entry.retryAt !== undefined && now >= entry.retryAt) ||
      (freshUntil !== undefined && now >= freshUntil);
    if (due && !entry.inFlight) this.#start(repoKey, key, entry, settings, chart);
    if (entry.inFlight) return { reading: entry.reading };
    if (entry.retryAt !== undefined) {
      return { reading: entry.reading, requeueAfterMs: Math.max(0, entry.retryAt - now) };
    }
    if (freshUntil !== undefined) {
      return { reading: entry.reading, requeueAfterMs: Math.max(0, freshUntil - now) };
    }
    return { reading: entry.reading };
  }

  /** The repository is gone: drop its answers. */
  forget(repositoryKey: string): void {
    for (const key of [...this.#entries.keys()])
      if (key === repositoryKey || key.startsWith(`${repositoryKey}#`)) this.#entries.delete(key);
  }

  /** Repositories with an answer or a read in flight (for tests and benchmarks). */
  get size(): number {
    return this.#entries.size;
  }

  #start(
    repoKey: string,
    key: string,
    entry: Entry,
    settings: RepositorySettings,
    chart: string,
  ): void {
    entry.inFlight = true;
    const run = () => {
      // Replaced (a new fingerprint) or forgotten while it waited: nobody wants this answer.
      if (this.#entries.get(key) !== entry) {
        this.#waiting.shift()?.();
        return;
      }
      this.#reading++;
      void this.#read(repoKey, key, entry, settings, chart).finally(() => {
        this.#reading--;
        this.#waiting.shift()?.();
      });
    };
    if (this.#reading < this.#max) run();
    else this.#waiting.push(run);
  }

  /** Reads waiting for a turn (for tests and benchmarks). */
  get waiting(): number {
    return this.#waiting.length;
  }

  async #read(
    repoKey: string,
    key: string,
    entry: Entry,
    settings: RepositorySettings,
    chart: string,
  ): Promise<void> {
    const reading = await this.#deps.read(settings, chart).catch((err: unknown): IndexReading => ({
      ok: false,
      reason: "IndexUnreachable",
      message: err instanceof Error ? err.message : String(err),
      readAt: this.#deps.clock.now(),
    }));
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
    if (this.#entries.get(key) === entry) this.#deps.onSettled(repoKey);
  }
}
