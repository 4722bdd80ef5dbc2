// Reads an app's version from Git off the reconcile path: a pass asks for the reading of the
// commit its Kustomization applied and gets the cached answer, or starts the read and is woken
// again when it is done, so no worker waits on a Git server. An answer about the file is kept
// until the commit or the app's Git settings change; a failure that says nothing about the file
// (network, credentials) is read again after retryAfterMs.
import type { ManagedApp } from "../../api/index.ts";
import { isGitError } from "../../git/errors.ts";
import { resolveGitRemote } from "../../git/remote.ts";
import type { KubeClient, KubeObject } from "../../kube/client.ts";
import type { Clock } from "../../runtime/clock.ts";
import type { WorkspacePool } from "../../git/workspace-pool.ts";
import {
  versionFromContent,
  VersionReason,
  type GitVersionQuery,
  type VersionReading,
} from "./version.ts";

/** Reads one query; never rejects (every failure is a reading). */
export type ReadVersion = (
  app: ManagedApp,
  kustomization: KubeObject,
  query: GitVersionQuery,
) => Promise<VersionReading>;

interface Entry {
  readonly fingerprint: string;
  reading?: VersionReading;
  /** When a transient failure may be read again (epoch ms). */
  retryAt?: number;
  inFlight: boolean;
}

export interface GitVersionCacheDeps {
  readonly read: ReadVersion;
  readonly clock: Clock;
  /** Called with the app's key when a read finishes, to run a pass with the answer. */
  readonly onSettled: (key: string) => void;
  readonly retryAfterMs: number;
}

export interface CachedVersion {
  /** Undefined while the first read of this fingerprint runs. */
  readonly reading: VersionReading | undefined;
  /** When to run a pass again for a transient failure. */
  readonly requeueAfterMs?: number;
}

export class GitVersionCache {
  readonly #deps: GitVersionCacheDeps;
  readonly #entries = new Map<string, Entry>();

  constructor(deps: GitVersionCacheDeps) {
    this.#deps = deps;
  }

  lookup(
    key: string,
    app: ManagedApp,
    kustomization: KubeObject,
    query: GitVersionQuery,
  ): CachedVersion {
    const now = this.#deps.clock.now().getTime();
    let entry = this.#entries.get(key);
    if (entry?.fingerprint !== query.fingerprint) {
      // A read of an older fingerprint still running finishes into its own, dropped, entry.
      entry = { fingerprint: query.fingerprint, inFlight: false };
      this.#entries.set(key, entry);
    }
    const due =
      entry.reading === undefined || (entry.retryAt !== undefined && now >= entry.retryAt);
    if (due && !entry.inFlight) this.#start(key, entry, app, kustomization, query);
    const requeueAfterMs =
      entry.retryAt !== undefined && !entry.inFlight ? Math.max(0, entry.retryAt - now) : undefined;
    return requeueAfterMs === undefined
      ? { reading: entry.reading }
      : { reading: entry.reading, requeueAfterMs };
  }

  /** The app is gone: drop its answer. */
  forget(key: string): void {
    this.#entries.delete(key);
  }

  #start(
    key: string,
    entry: Entry,
    app: ManagedApp,
    kustomization: KubeObject,
    query: GitVersionQuery,
  ): void {
    entry.inFlight = true;
    // read never rejects by contract; a broken promise still must not take the process down.
    const settled = this.#deps
      .read(app, kustomization, query)
      .catch((err: unknown): VersionReading => ({
        condition: {
          status: "False",
          reason: VersionReason.GitUnreachable,
          message: err instanceof Error ? err.message : String(err),
        },
        transient: true,
      }));
    void settled.then((reading) => {
      entry.inFlight = false;
      entry.reading = reading;
      if (reading.transient)
        entry.retryAt = this.#deps.clock.now().getTime() + this.#deps.retryAfterMs;
      else delete entry.retryAt;
      if (this.#entries.get(key) === entry) this.#deps.onSettled(key);
    });
  }
}

export interface GitVersionReadDeps {
  readonly client: Pick<KubeClient, "get">;
  readonly pool: WorkspacePool;
  readonly cacheDir: string;
  readonly allowCrossNamespaceRefs: boolean;
  /** Bounds one read (fetch included), so a hanging server cannot hold a read forever. */
  readonly timeoutMs: number;
}

const failed = (reason: string, message: string, transient: boolean): VersionReading => ({
  condition: { status: "False", reason, message },
  transient,
});

/** Reads the file at the applied commit through the app's Git remote, fetching if needed. */
export function gitVersionReader(deps: GitVersionReadDeps): ReadVersion {
  return async (app, kustomization, query) => {
    try {
      const remote = await resolveGitRemote({
        client: deps.client,
        app,
        kustomization,
        allowCrossNamespaceRefs: deps.allowCrossNamespaceRefs,
      });
      if (!remote.ok) {
        // A GitRepository or Secret that appears later wakes no app: read again after a while.
        return failed(VersionReason.GitSourceInvalid, remote.error.message, true);
      }
      const { url, branch, credentials, branchField } = remote.remote;
      const ws = await deps.pool.open(deps.cacheDir, { url, branch, credentials });
      const signal = AbortSignal.timeout(deps.timeoutMs);
      // undefined content: no such file; null: the commit is not in the cache repository.
      const read = async (): Promise<string | undefined | null> => {
        try {
          return await ws.readFile(query.commit, query.gitPath, { signal });
        } catch (err) {
          if (isGitError(err, "not-found")) return null;
          throw err;
        }
      };
      let content: string | undefined | null;
      try {
        // A fetch per query (a new commit or new settings): it brings the applied commit along,
        // and it is what tells that the branch Cairn would push to exists. The cache folder is
        // shared by every branch of the URL, so a cached commit says nothing about the branch.
        let fetchError: Error | undefined;
        try {
          await ws.fetch({ signal });
        } catch (err) {
          if (isGitError(err, "not-found") && /couldn't find remote ref/.test(err.message)) {
            return failed(
              VersionReason.GitSourceInvalid,
              `${branchField}: branch ${branch} does not exist in ${url}`,
              true,
            );
          }
          fetchError = err instanceof Error ? err : new Error(String(err));
        }
        content = await read();
        // A server down is no reason to withhold an answer the cache holds.
        if (content === null && fetchError !== undefined) throw fetchError;
      } catch (err) {
        // A folder where the file should be: an answer about this commit, not a failure to ask.
        if (isGitError(err, "invalid")) {
          return failed(VersionReason.GitFileNotFound, `spec.gitPath: ${err.message}`, false);
        }
        throw err;
      }
      if (content === null) {
        return failed(
          VersionReason.GitCommitNotFound,
          `commit ${query.commit.slice(0, 12)} applied by Kustomization ${query.kustomization.namespace}/${query.kustomization.name} is not on branch ${branch} of ${url}`,
          true,
        );
      }
      return versionFromContent(content, query);
    } catch (err) {
      // GitErrors carry masked messages; anything else (an API error reading the GitRepository)
      // is named by its message only, which never holds a credential.
      const message = err instanceof Error ? err.message : String(err);
      return failed(VersionReason.GitUnreachable, message, true);
    }
  };
}
