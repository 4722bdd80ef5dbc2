// Which ManagedApps a change of a workload, ReplicaSet, pod or PVC concerns (pure). An app is
// found through what its last discovery summary lists (its workloads, the workloads mounting its
// PVCs, its PVCs) and the PVCs its spec names; a pod through its controller chain, never its
// name. Waking only those apps keeps a pod's readiness change from re-evaluating every app of a
// busy namespace. An app without a current summary (new, changed spec, summary cut at the CRD's
// bounds) still hears about everything in its namespaces.
import type { KubeObject } from "../../kube/client.ts";

/** Route keys, as indexed on the apps and computed for a changed object. */
export const route = {
  workload: (kind: string, namespace: string, name: string) =>
    `workload:${kind}/${namespace}/${name}`,
  pvc: (namespace: string, name: string) => `pvc:${namespace}/${name}`,
  /** Apps that must hear about every object of a namespace. */
  namespace: (namespace: string) => `namespace:${namespace}`,
};

// The CRD's bounds on the summary's lists: a list this long may have been cut.
const MAX_WORKLOADS = 128;
const MAX_PVCS = 256;

interface AppView {
  readonly metadata: { readonly namespace?: string; readonly generation?: number };
  readonly spec?: {
    readonly volumeSnapshots?: {
      readonly pvcs?: readonly { name?: unknown; namespace?: unknown }[];
    };
  };
  readonly status?: {
    readonly observedGeneration?: number;
    readonly discovery?: {
      readonly workloads?: readonly { kind?: unknown; namespace?: unknown; name?: unknown }[];
      readonly pvcs?: readonly { namespace?: unknown; name?: unknown }[];
    };
  };
}

const str = (v: unknown) => (typeof v === "string" ? v : undefined);

/** The routes under which an app is indexed. */
export function appRoutes(app: KubeObject): string[] {
  const view = app as unknown as AppView;
  const ns = view.metadata.namespace ?? "";
  const routes = new Set<string>();
  for (const p of view.spec?.volumeSnapshots?.pvcs ?? []) {
    const name = str(p.name);
    if (name) routes.add(route.pvc(str(p.namespace) ?? ns, name));
  }
  const discovery = view.status?.discovery;
  const current =
    discovery !== undefined && view.status?.observedGeneration === view.metadata.generation;
  const workloads = discovery?.workloads ?? [];
  const pvcs = discovery?.pvcs ?? [];
  if (!current || workloads.length >= MAX_WORKLOADS || pvcs.length >= MAX_PVCS) {
    routes.add(route.namespace(ns));
    for (const w of workloads) routes.add(route.namespace(str(w.namespace) ?? ns));
  }
  for (const w of workloads) {
    const kind = str(w.kind);
    const name = str(w.name);
    if (kind && name) routes.add(route.workload(kind, str(w.namespace) ?? ns, name));
  }
  for (const p of pvcs) {
    const name = str(p.name);
    if (name) routes.add(route.pvc(str(p.namespace) ?? ns, name));
  }
  return [...routes];
}

interface OwnerRef {
  readonly kind?: unknown;
  readonly name?: unknown;
  readonly controller?: unknown;
}

function controllerOf(obj: KubeObject): { kind: string; name: string } | undefined {
  const refs = (obj.metadata["ownerReferences"] as readonly OwnerRef[] | undefined) ?? [];
  const ref = refs.find((r) => r.controller === true);
  const kind = str(ref?.kind);
  const name = str(ref?.name);
  return kind && name ? { kind, name } : undefined;
}

interface Volumes {
  readonly volumes?: readonly { persistentVolumeClaim?: { claimName?: unknown } }[] | null;
}

function claims(spec: Volumes | undefined): string[] {
  return (spec?.volumes ?? []).flatMap((v) => {
    const claim = str(v.persistentVolumeClaim?.claimName);
    return claim ? [claim] : [];
  });
}

/**
 * The routes of a changed object. A pod's Deployment is found through its ReplicaSet; when that
 * is not known yet, the whole namespace is woken (`undefined`), as before this routing existed.
 */
export function objectRoutes(
  obj: KubeObject,
  replicaSet: (namespace: string, name: string) => KubeObject | undefined,
): string[] | undefined {
  const ns = obj.metadata.namespace ?? "";
  const name = obj.metadata.name ?? "";
  const routes = [route.namespace(ns)];
  const spec = obj["spec"] as (Volumes & { template?: { spec?: Volumes } }) | undefined;
  switch (obj.kind) {
    case "Deployment":
    case "StatefulSet":
      routes.push(route.workload(obj.kind, ns, name));
      // A workload outside the app that (now) mounts one of its PVCs.
      for (const c of claims(spec?.template?.spec)) routes.push(route.pvc(ns, c));
      return routes;
    case "ReplicaSet": {
      const owner = controllerOf(obj);
      if (owner?.kind === "Deployment") routes.push(route.workload(owner.kind, ns, owner.name));
      return routes;
    }
    case "Pod": {
      for (const c of claims(spec)) routes.push(route.pvc(ns, c));
      const owner = controllerOf(obj);
      if (owner?.kind === "StatefulSet") routes.push(route.workload(owner.kind, ns, owner.name));
      if (owner?.kind === "ReplicaSet") {
        const rs = replicaSet(ns, owner.name);
        if (!rs) return undefined;
        const deployment = controllerOf(rs);
        if (deployment?.kind === "Deployment") {
          routes.push(route.workload(deployment.kind, ns, deployment.name));
        }
      }
      return routes;
    }
    case "PersistentVolumeClaim":
      routes.push(route.pvc(ns, name));
      return routes;
    default:
      return undefined;
  }
}

const sameJson = (a: unknown, b: unknown) =>
  JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/**
 * Whether an update of a ManagedApp needs a reconcile: its spec (generation), labels,
 * annotations, finalizers or deletion changed. A change of status alone is, almost always, the
 * echo of this controller's own write; re-evaluating it would double every pass.
 */
export function appChanged(old: KubeObject, next: KubeObject): boolean {
  const a = old.metadata;
  const b = next.metadata;
  return (
    a.generation !== b.generation ||
    a["deletionTimestamp"] !== b["deletionTimestamp"] ||
    !sameJson(a.labels, b.labels) ||
    !sameJson(a.annotations, b.annotations) ||
    !sameJson(a["finalizers"], b["finalizers"])
  );
}

/**
 * Whether an update of a ManagedApp changed the routes it is indexed under. Such an update is
 * usually the echo of this controller's own status write (a new discovery summary), and it needs
 * one more pass: a change of a workload, pod or PVC that arrived after that write was made but
 * before the informer saw it was routed by the old summary, so it may have woken no app at all.
 * The pass after the echo reads the informers, which hold that change by then.
 */
export function routesChanged(old: KubeObject, next: KubeObject): boolean {
  const a = new Set(appRoutes(old));
  const b = appRoutes(next);
  return a.size !== b.length || b.some((r) => !a.has(r));
}
