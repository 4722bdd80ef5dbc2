// The imperative half of reading Helm's storage: lists the release Secrets of a HelmRelease and
// picks the release from them. Without status.inventory (helm-controller before 1.5) they list the
// app's objects; with one they still tell a stuck (pending-*) or undecodable revision.
//
// Cairn may list Secrets but not watch them (an informer would hold every Secret of the cluster in
// memory), so nothing announces a changed Secret. The HelmRelease does: helm-controller records
// every Helm action it starts or ends in the HelmRelease's status (lastAttempted*, history,
// failure counts), so a change of those (storageFingerprint) is the signal to list again. A
// routine reconcile that changes nothing but conditions does not list: at rest that was most of
// Cairn's API requests (bench/flux-at-rest.ts). What no HelmRelease change announces (a person
// running the helm CLI) is found when the answer is older than maxAgeMs, and Plan always reads
// the storage afresh. Decoded releases are cached by the Secret's resourceVersion
// (ReleaseCache), so an unchanged Secret is never decoded twice.
import type { KubeObject, ListOptions, ListResult } from "../kube/client.ts";
import { isKubeError } from "../kube/errors.ts";
import type { ReleaseDecoder } from "./cache.ts";
import { releaseLocation, releaseSecretSelector, type ReleaseLocation } from "./location.ts";
import { selectRelease, type ReleaseSelection } from "./select.ts";

/** What the reconcile learned from Helm's storage, for the pure evaluation. */
export type ReleaseStorageView =
  | {
      readonly kind: "read";
      readonly location: ReleaseLocation;
      readonly selection: ReleaseSelection;
    }
  | {
      /** The storage could not be read for a reason retrying will not fix. */
      readonly kind: "unavailable";
      readonly reason: "ReleaseStorageForbidden" | "HelmReleaseUnreadable";
      readonly message: string;
    };

export interface SecretLister {
  list(apiVersion: string, kind: string, opts?: ListOptions): Promise<ListResult>;
}

interface Entry {
  /** storageFingerprint of the HelmRelease the answer was read for. */
  readonly version: string;
  /** When it was read (ms since the epoch). */
  readonly at: number;
  readonly view: ReleaseStorageView;
}

/**
 * What changes on a HelmRelease when Helm's storage may have: its identity, spec and
 * annotations (a `flux reconcile` request), and the status fields helm-controller writes around a
 * Helm action. Conditions are left out: every routine reconcile flips them and back.
 */
export function storageFingerprint(helmRelease: KubeObject): string {
  const status = (helmRelease["status"] ?? {}) as Record<string, unknown>;
  const history = status["history"] as readonly unknown[] | undefined;
  return JSON.stringify([
    helmRelease.metadata.uid,
    helmRelease.metadata.generation,
    helmRelease.metadata.annotations,
    history?.[0],
    status["lastAttemptedRevision"],
    status["lastAttemptedConfigDigest"],
    status["lastAttemptedGeneration"],
    status["lastAttemptedReleaseAction"],
    status["storageNamespace"],
    status["failures"],
    status["installFailures"],
    status["upgradeFailures"],
  ]);
}

export interface ReleaseStorageOptions {
  /** Lists again once an answer is this old, whatever the HelmRelease says. Default: never. */
  readonly maxAgeMs?: number;
  /** Milliseconds since the epoch. */
  readonly now?: () => number;
}

export class ReleaseStorage {
  readonly #client: SecretLister;
  readonly #decoder: ReleaseDecoder;
  readonly #entries = new Map<string, Entry>();
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  #lists = 0;

  constructor(client: SecretLister, decoder: ReleaseDecoder, opts: ReleaseStorageOptions = {}) {
    this.#client = client;
    this.#decoder = decoder;
    this.#maxAgeMs = opts.maxAgeMs ?? Number.POSITIVE_INFINITY;
    this.#now = opts.now ?? Date.now;
  }

  /**
   * The release of the HelmRelease, from a list made for its current storageFingerprint. Throws
   * (for the reconcile to retry) on failures that may pass: network errors, throttling.
   */
  async read(helmRelease: KubeObject): Promise<ReleaseStorageView> {
    const key = `${helmRelease.metadata.namespace ?? ""}/${helmRelease.metadata.name ?? ""}`;
    const version = storageFingerprint(helmRelease);
    const now = this.#now();
    const cached = this.#entries.get(key);
    if (cached?.version === version && now - cached.at < this.#maxAgeMs) return cached.view;
    const view = await this.#list(helmRelease);
    this.#entries.set(key, { version, at: now, view });
    return view;
  }

  /** Drops what was read for a HelmRelease that is gone. */
  forget(namespace: string, name: string): void {
    this.#entries.delete(`${namespace}/${name}`);
  }

  /** Secret lists sent so far (for tests and metrics). */
  get lists(): number {
    return this.#lists;
  }

  async #list(helmRelease: KubeObject): Promise<ReleaseStorageView> {
    const located = releaseLocation(helmRelease);
    if (!located.ok) {
      return { kind: "unavailable", reason: "HelmReleaseUnreadable", message: located.message };
    }
    const { location } = located;
    let secrets: readonly KubeObject[];
    try {
      this.#lists++;
      ({ items: secrets } = await this.#client.list("v1", "Secret", {
        namespace: location.storageNamespace,
        labelSelector: releaseSecretSelector(location.name),
      }));
    } catch (err) {
      if (isKubeError(err, "Forbidden")) {
        return {
          kind: "unavailable",
          reason: "ReleaseStorageForbidden",
          message: `Cairn may not list the Helm release Secrets of ${location.name} in namespace ${location.storageNamespace} (they tell whether Helm can act on the release): ${err.message}`,
        };
      }
      throw err;
    }
    return { kind: "read", location, selection: selectRelease(secrets, this.#decoder) };
  }
}
