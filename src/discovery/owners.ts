// Who controls a pod, by ownerReferences with controller: true: Pod → ReplicaSet
// → Deployment, or Pod → StatefulSet. Never guessed from names: a prefix match would make `app`
// claim the pods of `app-worker`. References are matched by uid, so a ReplicaSet deleted and
// recreated under the same name is not mistaken for its predecessor.
import type { WorkloadKind } from "./refs.ts";

interface OwnerRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  readonly controller?: boolean | undefined;
}

/** The metadata owner resolution needs; discovery's and health's schemas both provide it. */
export interface Owned {
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly uid?: string | undefined;
    readonly ownerReferences?: readonly OwnerRef[] | undefined;
  };
}

export type PodController =
  /** A Deployment (through a ReplicaSet) or a StatefulSet: Cairn can scale it. */
  | {
      readonly kind: WorkloadKind;
      readonly name: string;
      readonly uid: string;
      /** The ReplicaSet in between, for a Deployment's pod. */
      readonly replicaSet?: string;
    }
  /** Any other controller (Job, DaemonSet, a bare ReplicaSet, an operator's kind …). */
  | { readonly kind: "Other"; readonly ownerKind: string; readonly name: string }
  /** No controller at all: a bare pod. */
  | { readonly kind: "None" };

export function controllerOf(obj: Owned): OwnerRef | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller === true);
}

function isApps(ref: OwnerRef): boolean {
  return ref.apiVersion.startsWith("apps/");
}

/**
 * The pod's controlling workload. replicaSets are the namespace's ReplicaSets; one the pod points at
 * but that is missing (deleted, or not yet in the informer's cache) leaves the chain open, which is
 * reported as an "Other" ReplicaSet rather than guessed.
 */
export function podController(pod: Owned, replicaSets: ReadonlyMap<string, Owned>): PodController {
  const ref = controllerOf(pod);
  if (!ref) return { kind: "None" };
  if (isApps(ref) && ref.kind === "StatefulSet") {
    return { kind: "StatefulSet", name: ref.name, uid: ref.uid };
  }
  if (isApps(ref) && ref.kind === "ReplicaSet") {
    const rs = replicaSets.get(ref.uid);
    const parent = rs ? controllerOf(rs) : undefined;
    if (rs && parent && isApps(parent) && parent.kind === "Deployment") {
      return {
        kind: "Deployment",
        name: parent.name,
        uid: parent.uid,
        replicaSet: rs.metadata.name,
      };
    }
    return { kind: "Other", ownerKind: "ReplicaSet", name: ref.name };
  }
  return { kind: "Other", ownerKind: ref.kind, name: ref.name };
}

/** ReplicaSets by uid, as podController wants them. */
export function byUid<T extends Owned>(objects: readonly T[]): Map<string, T> {
  const map = new Map<string, T>();
  for (const o of objects) if (o.metadata.uid) map.set(o.metadata.uid, o);
  return map;
}

/**
 * Whether the pod belongs to the workload: same namespace, a controller chain ending at it, and the
 * workload's uid when known (a workload recreated under the same name owns none of the old pods).
 */
export function podBelongsTo(
  pod: Owned,
  controller: PodController,
  workload: { readonly kind: WorkloadKind; readonly metadata: Owned["metadata"] },
): boolean {
  if (controller.kind !== workload.kind) return false;
  if (pod.metadata.namespace !== workload.metadata.namespace) return false;
  if (controller.name !== workload.metadata.name) return false;
  return workload.metadata.uid === undefined || workload.metadata.uid === controller.uid;
}
