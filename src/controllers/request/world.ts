// What the request controllers read, through the process's shared informers: the apps, their
// Flux objects, and the workloads, pods, PVCs and snapshots of the namespaces involved. Also the
// wiring that turns a change of any of these into a wake-up of the requests waiting on it.
import { API_VERSION, Kind, ManagedApp, type RequestStatus } from "../../api/index.ts";
import { refsOf } from "../../discovery/app-refs.ts";
import type { NamespaceObjects } from "../../discovery/pvcs.ts";
import type { KubeObject, ObjectRef } from "../../kube/client.ts";
import type { ChangeEvent, Informer } from "../../runtime/informer.ts";
import type { InformerFactory } from "../../runtime/informer-factory.ts";
import { objectKey } from "../../runtime/keys.ts";
import { NAMESPACE_INDEX } from "../../runtime/store.ts";
import { FLUX_API } from "./flux.ts";
import { SNAPSHOT_API } from "./snapshots.ts";
import type { StepName } from "./step-table.ts";
import { WriteEchoes } from "./write-echoes.ts";
import type { OwnVersions } from "../../runtime/own-versions.ts";

export class World {
  readonly apps: Informer;
  readonly upgrades: Informer;
  readonly rollbacks: Informer;
  readonly kustomizations: Informer;
  readonly helmReleases: Informer;
  readonly gitRepositories: Informer;
  readonly deployments: Informer;
  readonly statefulSets: Informer;
  readonly replicaSets: Informer;
  readonly pods: Informer;
  readonly pvcs: Informer;
  readonly snapshots: Informer;
  /** The answers to our own writes (write-echoes.ts), while the informers lag behind them. */
  readonly echoes = new WriteEchoes();
  /** The informers of the kinds whose writes are echoed, by kind. */
  readonly #echoedByKind: Readonly<Record<string, Informer>>;

  constructor(factory: InformerFactory) {
    this.apps = factory.for(API_VERSION, Kind.ManagedApp);
    this.upgrades = factory.for(API_VERSION, Kind.UpgradeRequest);
    this.rollbacks = factory.for(API_VERSION, Kind.RollbackRequest);
    this.kustomizations = factory.for(FLUX_API.Kustomization, "Kustomization");
    this.helmReleases = factory.for(FLUX_API.HelmRelease, "HelmRelease");
    this.gitRepositories = factory.for(FLUX_API.GitRepository, "GitRepository");
    this.deployments = factory.for("apps/v1", "Deployment");
    this.statefulSets = factory.for("apps/v1", "StatefulSet");
    this.replicaSets = factory.for("apps/v1", "ReplicaSet");
    this.pods = factory.for("v1", "Pod");
    this.pvcs = factory.for("v1", "PersistentVolumeClaim");
    this.snapshots = factory.for(SNAPSHOT_API, "VolumeSnapshot");
    // Whatever the informers announce about an object we wrote ends its echo, unless it is a
    // version from before our write.
    this.#echoedByKind = {
      Kustomization: this.kustomizations,
      HelmRelease: this.helmReleases,
      GitRepository: this.gitRepositories,
      VolumeSnapshot: this.snapshots,
      Deployment: this.deployments,
      StatefulSet: this.statefulSets,
    };
    for (const informer of Object.values(this.#echoedByKind))
      informer.onChange((event) =>
        this.echoes.seen(
          `${informer.kind}/${event.key}`,
          event.type === "deleted" ? undefined : event.object.metadata.resourceVersion,
        ),
      );
  }

  /** Informers whose changes may unblock a waiting request. */
  secondaries(): Informer[] {
    return [
      this.apps,
      this.kustomizations,
      this.helmReleases,
      this.gitRepositories,
      this.deployments,
      this.statefulSets,
      this.pods,
      this.pvcs,
      this.snapshots,
    ];
  }

  /** Every informer a request controller reads, keyed by kind as the manager expects. */
  informers(): Map<string, Informer> {
    return new Map(
      [this.upgrades, this.rollbacks, ...this.secondaries(), this.replicaSets].map((i) => [
        i.kind,
        i,
      ]),
    );
  }

  app(namespace: string, name: string): ManagedApp | undefined {
    const obj = this.apps.get(`${namespace}/${name}`);
    const parsed = obj ? ManagedApp.safeParse(obj) : undefined;
    return parsed?.success ? parsed.data : undefined;
  }

  /** The Kustomization the app names, from the informer. */
  kustomizationOf(app: ManagedApp): KubeObject | undefined {
    const k = refsOf(app).kustomization;
    return this.flux("Kustomization", k.namespace, k.name);
  }

  /** The Flux object from the informer, or the answer to our write it has not seen yet. */
  flux(kind: keyof typeof FLUX_API, namespace: string, name: string): KubeObject | undefined {
    return this.#echoed(`${kind}/${namespace}/${name}`);
  }

  /** A VolumeSnapshot from the informer, or the answer to our create it has not seen yet. */
  snapshot(namespace: string, name: string): KubeObject | undefined {
    return this.#echoed(`VolumeSnapshot/${namespace}/${name}`);
  }

  /** A Deployment or StatefulSet from the informer, or as our scale left it if it lags. */
  workload(kind: string, namespace: string, name: string): KubeObject | undefined {
    return this.#echoed(
      `${kind === "StatefulSet" ? "StatefulSet" : "Deployment"}/${namespace}/${name}`,
    );
  }

  /** The informer's own copy of an object, by the echo key ("Kind/namespace/name"). */
  informed(key: string): KubeObject | undefined {
    const [kind = "", namespace = "", name = ""] = key.split("/");
    return this.#echoedByKind[kind]?.get(`${namespace}/${name}`);
  }

  /** The key the objects above are remembered by after our writes; undefined for other kinds. */
  static echoKey(ref: ObjectRef): string | undefined {
    const served =
      Object.entries(FLUX_API).some(
        ([kind, apiVersion]) => kind === ref.kind && apiVersion === ref.apiVersion,
      ) ||
      (ref.kind === "VolumeSnapshot" && ref.apiVersion === SNAPSHOT_API) ||
      ((ref.kind === "Deployment" || ref.kind === "StatefulSet") && ref.apiVersion === "apps/v1");
    return served ? `${ref.kind}/${ref.namespace ?? ""}/${ref.name}` : undefined;
  }

  #echoed(key: string): KubeObject | undefined {
    return this.echoes.current(key, this.informed(key));
  }

  objectsIn(
    namespaces: readonly string[],
  ): NamespaceObjects & { pods: KubeObject[]; replicaSets: KubeObject[] } {
    const pick = (i: Informer) => namespaces.flatMap((ns) => i.byIndex(NAMESPACE_INDEX, ns));
    return {
      deployments: pick(this.deployments),
      statefulSets: pick(this.statefulSets),
      replicaSets: pick(this.replicaSets),
      pods: pick(this.pods),
      pvcs: pick(this.pvcs),
    };
  }
}

/** Namespaces a request's plan touches: a change there may be what it waits for. */
export function namespacesOf(obj: KubeObject): string[] {
  const own = obj.metadata.namespace ?? "";
  const status = obj["status"] as RequestStatus | undefined;
  const complete = status?.conditions?.find((c) => c.type === "Complete");
  if (complete && complete.status !== "Unknown") return [];
  const plan = status?.plan;
  return [
    ...new Set([
      own,
      ...(plan?.volumes ?? []).map((v) => v.namespace),
      ...(plan?.workloads ?? []).map((w) => w.namespace),
      ...(plan?.flux ?? []).map((f) => f.namespace),
      ...(plan?.source ? [plan.source.namespace] : []),
    ]),
  ];
}

export const WAKE_INDEX = "cairn.requests.inflightNamespaces";

const FLUX_KINDS = ["Kustomization", "HelmRelease", "GitRepository"] as const;
const REQUEST_KINDS = [Kind.UpgradeRequest, Kind.RollbackRequest] as const;

/**
 * What each step waits on, by kind: a change to anything else cannot end its wait, and waking
 * it would only cost a pass. Steps not listed wait on nothing (they act and report at once).
 * Every wait also polls (its result's afterMs), so a wake missed here costs latency, not
 * progress.
 */
const WAITS_ON: Readonly<Partial<Record<StepName | "Compensate", readonly string[]>>> = {
  // Admit: the app's lock, or (a rollback) the end of the upgrade to undo; Plan: an upgrade's
  // last write after it handed its rollback the app, or the lock when Admit found no app. All
  // end when another request moves. Plan also waits for the app's Flux objects to settle after
  // a routine reconcile.
  Admit: REQUEST_KINDS,
  Plan: [...REQUEST_KINDS, ...FLUX_KINDS],
  ScaleDown: ["Pod", "Deployment", "StatefulSet"],
  Snapshot: ["VolumeSnapshot"],
  RestoreVolumes: ["PersistentVolumeClaim", "Pod", "VolumeSnapshot"],
  Resume: FLUX_KINDS,
  AwaitFlux: FLUX_KINDS,
  HealthCheck: [...FLUX_KINDS, "Deployment", "StatefulSet", "Pod", "PersistentVolumeClaim"],
};

/**
 * Whether a change of kind `kind` may end what the request is waiting for: its current step
 * (status.step, present for as long as a step waits) waits on that kind and, for PVCs and
 * snapshots, the object is one of its own. A request being deleted may wait on anything its
 * cleanup touches; the ManagedApp counts when its spec changes or it comes or goes, never for
 * its status (which the ManagedApp controller rewrites as the upgrade moves along).
 */
export function wakes(request: KubeObject, kind: string, change: ChangeEvent): boolean {
  if (request.metadata.deletionTimestamp !== undefined) return true;
  if (kind === Kind.ManagedApp)
    return (
      change.type !== "updated" ||
      change.old.metadata.generation !== change.object.metadata.generation
    );
  const status = request["status"] as RequestStatus | undefined;
  const step = status?.step?.name as StepName | "Compensate" | undefined;
  if (step === undefined || !(WAITS_ON[step] ?? []).includes(kind)) return false;
  const id = `${change.object.metadata.namespace ?? ""}/${change.object.metadata.name ?? ""}`;
  const volumes = status?.plan?.volumes ?? [];
  if (kind === "PersistentVolumeClaim")
    return volumes.some((v) => `${v.namespace}/${v.name}` === id);
  if (kind === "VolumeSnapshot")
    return [
      ...volumes.map((v) => (v.snapshot ? `${v.namespace}/${v.snapshot}` : "")),
      ...(status?.snapshots ?? []).map((s) => `${s.namespace}/${s.name}`),
    ].includes(id);
  return true;
}

/**
 * Indexes the in-flight requests by the namespaces they touch and enqueues those whose current
 * step waits on what changed (see `wakes`), so waits end on a watch event rather than a poll.
 * With `versions`, the watch event that only echoes a version this process read or wrote
 * itself does not enqueue the request again: the pass that saw it already chose its next pass.
 */
export function wireWakeups(
  world: World,
  requests: Informer,
  enqueue: (key: string) => void,
  versions?: OwnVersions,
): void {
  requests.addIndex(WAKE_INDEX, namespacesOf);
  const wake = (kind: string, change: ChangeEvent, except?: string) => {
    const namespace = change.object.metadata.namespace ?? "";
    for (const r of requests.byIndex(WAKE_INDEX, namespace)) {
      const key = objectKey(r.metadata);
      if (key !== except && wakes(r, kind, change)) enqueue(key);
    }
  };
  for (const informer of world.secondaries()) {
    informer.onChange((ev) => {
      if (ev.type === "updated" && ev.resync) return;
      wake(informer.kind, ev);
    });
  }
  // A request that finishes frees its app for the next one waiting in the namespace.
  for (const other of [world.upgrades, world.rollbacks]) {
    if (other === requests) continue;
    other.onChange((ev) => {
      if (ev.type === "updated" && ev.resync) return;
      wake(other.kind, ev);
    });
  }
  requests.onChange((ev) => {
    if (ev.type === "deleted") versions?.forget(ev.key);
    const echo = ev.type === "updated" && !ev.resync && versions?.isOwn(ev.key, ev.object) === true;
    if (!echo) enqueue(ev.key);
    if (ev.type !== "added" && !(ev.type === "updated" && ev.resync))
      wake(requests.kind, ev, ev.key);
  });
}
