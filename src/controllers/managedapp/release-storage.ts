// The imperative half of reading Helm's storage: lists the release Secrets of a HelmRelease and
// picks the release from them. Without status.inventory (helm-controller before 1.5) they list the
// app's objects; with one they still tell a stuck (pending-*) or undecodable revision.
//
// Cairn may list Secrets but not watch them (an informer would hold every Secret of the cluster in
// memory), so nothing announces a changed Secret. The HelmRelease does: helm-controller rewrites
// its status after every Helm action, so its resourceVersion moving is the signal to list again.
// Between such changes the last answer is reused, and decoded releases are cached by the Secret's
// resourceVersion (ReleaseCache), so an unchanged Secret is never decoded twice.
import type { KubeObject, ListOptions, ListResult } from "../../kube/client.ts";
import { isKubeError } from "../../kube/errors.ts";
import type { ReleaseDecoder } from "../../helm/cache.ts";
import {
  releaseLocation,
  releaseSecretSelector,
  type ReleaseLocation,
} from "../../helm/location.ts";
import { selectRelease, type ReleaseSelection } from "../../helm/select.ts";

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
  /** uid/resourceVersion of the HelmRelease the answer was read for. */
  readonly version: string;
  readonly view: ReleaseStorageView;
}

export class ReleaseStorage {
  readonly #client: SecretLister;
  readonly #decoder: ReleaseDecoder;
  readonly #entries = new Map<string, Entry>();
  #lists = 0;

  constructor(client: SecretLister, decoder: ReleaseDecoder) {
    this.#client = client;
    this.#decoder = decoder;
  }

  /**
   * The release of the HelmRelease, from a list made for its current resourceVersion. Throws
   * (for the reconcile to retry) on failures that may pass: network errors, throttling.
   */
  async read(helmRelease: KubeObject): Promise<ReleaseStorageView> {
    const key = `${helmRelease.metadata.namespace ?? ""}/${helmRelease.metadata.name ?? ""}`;
    const version = `${helmRelease.metadata.uid ?? ""}/${helmRelease.metadata.resourceVersion ?? ""}`;
    const cached = this.#entries.get(key);
    if (cached?.version === version) return cached.view;
    const view = await this.#list(helmRelease);
    this.#entries.set(key, { version, view });
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
