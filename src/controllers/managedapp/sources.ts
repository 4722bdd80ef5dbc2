// Which objects make up the app, from the first source that has them (pure): the HelmRelease's
// status.inventory (helm-controller ≥ 1.5), else the manifest of its deployed Helm release, read
// from Helm's storage Secrets; for an app without a HelmRelease, the Kustomization's inventory.
// Helm's storage is read for every HelmRelease, inventory or not: only it tells a release stuck
// in pending-* (which Helm refuses to act on) or a Secret that no longer decodes.
import type { DiscoveryVia } from "../../api/index.ts";
import type { AppRefs, RefTarget } from "../../discovery/app-refs.ts";
import { inventoryOf } from "../../discovery/inventory.ts";
import { parseManifest } from "../../discovery/manifests.ts";
import type { AppObjectRef } from "../../discovery/refs.ts";
import type { ReleaseSelection } from "../../helm/select.ts";
import type { KubeObject } from "../../kube/client.ts";
import type { ReleaseStorageView } from "./release-storage.ts";

export interface SourceProblem {
  readonly reason: string;
  readonly message: string;
}

export interface AppSource {
  readonly source: { readonly kind: "Kustomization" | "HelmRelease" } & RefTarget;
  readonly via: DiscoveryVia;
  /** The app's objects; empty while the source lists none yet. */
  readonly objects: readonly AppObjectRef[];
  /** Why an object of `objects` belongs to the app, in the discovery summary's words. */
  readonly origin: string;
  /** Helm's storage when it was read: the state of its newest revisions is part of health. */
  readonly release: ReleaseSelection | undefined;
  /**
   * Discovery cannot be trusted (corrupt storage, unparsable manifest, storage not readable):
   * reported before any health finding, which would be judged on the wrong objects.
   */
  readonly problem: SourceProblem | undefined;
}

export interface SourceInput {
  readonly refs: AppRefs;
  readonly kustomization: KubeObject;
  /** Present whenever refs.helmRelease is. */
  readonly helmRelease: KubeObject | undefined;
  /** Read whenever needsReleaseStorage() says so: for every HelmRelease that exists. */
  readonly releaseStorage: ReleaseStorageView | undefined;
}

/**
 * Whether the reconcile must read Helm's storage: for every HelmRelease. Without an inventory it
 * is the only list of the app's objects; with one it is still the only place a stuck (pending-*)
 * or undecodable revision shows, and upgrading over either would leave Helm unable to act.
 */
export function needsReleaseStorage(refs: AppRefs, helmRelease: KubeObject | undefined): boolean {
  return refs.helmRelease !== undefined && helmRelease !== undefined;
}

/** The storage's own problem, when it cannot be trusted: unreadable revisions, named. */
function unreadableProblemOf(
  view: Extract<ReleaseStorageView, { kind: "read" }>,
): SourceProblem | undefined {
  const { location, selection } = view;
  const where = `Helm release ${location.name} (Secrets in namespace ${location.storageNamespace})`;
  const unreadable = selection.problems.flatMap((p) =>
    p.code === "UnreadableRevision" ? [p.message] : [],
  );
  return unreadable.length > 0
    ? { reason: "ReleaseUnreadable", message: `${where}: ${unreadable.join("; ")}` }
    : undefined;
}

/** The name Helm gives a revision's storage Secret. */
export function releaseSecretName(release: string, revision: number): string {
  return `sh.helm.release.v1.${release}.v${revision}`;
}

function storageNotRead(source: RefTarget): SourceProblem {
  return {
    reason: "ReleaseStorageNotRead",
    message: `the Helm release Secrets of HelmRelease ${source.namespace}/${source.name} were not read`,
  };
}

export function appSource(input: SourceInput): AppSource {
  const { refs } = input;
  if (!refs.helmRelease) {
    const inventory = inventoryOf(input.kustomization);
    return {
      source: { kind: "Kustomization", ...refs.kustomization },
      via: "Inventory",
      objects: inventory.found ? inventory.inventory.refs : [],
      origin: "listed in the Kustomization inventory",
      release: undefined,
      problem: undefined,
    };
  }
  const source = { kind: "HelmRelease" as const, ...refs.helmRelease };
  const inventory = inventoryOf(input.helmRelease);
  if (inventory.found) {
    const view = input.releaseStorage;
    return {
      source,
      via: "Inventory",
      objects: inventory.inventory.refs,
      origin: "listed in the HelmRelease inventory",
      // The objects come from the inventory; the storage still says whether Helm can act.
      release: view?.kind === "read" ? view.selection : undefined,
      problem:
        view === undefined
          ? storageNotRead(source)
          : view.kind === "unavailable"
            ? { reason: view.reason, message: view.message }
            : unreadableProblemOf(view),
    };
  }
  const fromStorage = {
    source,
    via: "HelmReleaseSecrets" as const,
    objects: [],
    origin: "rendered by the Helm release",
    release: undefined,
  };
  const view = input.releaseStorage;
  if (!view) return { ...fromStorage, problem: storageNotRead(source) };
  if (view.kind === "unavailable") {
    return { ...fromStorage, problem: { reason: view.reason, message: view.message } };
  }
  const { location, selection } = view;
  const unreadableProblem = unreadableProblemOf(view);
  const current = selection.current;
  if (!current) {
    // Nothing deployed yet (or only corrupt revisions): no objects; health reports the storage.
    return { ...fromStorage, release: selection, problem: unreadableProblem };
  }
  const secret = `Secret ${location.storageNamespace}/${releaseSecretName(current.name, current.version)}`;
  const manifest = parseManifest(current.manifest, current.namespace);
  if (!manifest.ok) {
    return {
      ...fromStorage,
      release: selection,
      problem: unreadableProblem ?? {
        reason: "ReleaseManifestInvalid",
        message: `${secret}: the manifest of revision ${current.version} cannot be parsed: ${manifest.error.message}`,
      },
    };
  }
  return {
    ...fromStorage,
    objects: manifest.refs,
    origin: `rendered by Helm release ${current.name} revision ${current.version}`,
    release: selection,
    problem: unreadableProblem,
  };
}
