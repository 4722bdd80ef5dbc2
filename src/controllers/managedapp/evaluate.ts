// The ManagedApp's status as a pure function of what the informers hold: references, discovery
// (inventory → workloads → PVCs) and the shared CheckHealth.
import { ConditionReason, type ManagedApp } from "../../api/index.ts";
import { inventoryOf } from "../../discovery/inventory.ts";
import { discoverPvcs, type NamespaceObjects } from "../../discovery/pvcs.ts";
import { workloadKey, workloadRefs, type WorkloadRef } from "../../discovery/refs.ts";
import { checkHealth, type Fetched } from "../../health/check.ts";
import type { KubeObject } from "../../kube/client.ts";

export interface RefTarget {
  readonly namespace: string;
  readonly name: string;
}

export interface AppRefs {
  readonly kustomization: RefTarget;
  readonly helmRelease: RefTarget | undefined;
}

/** Where the app's references point: a missing namespace means the app's own. */
export function refsOf(app: ManagedApp): AppRefs {
  const ns = app.metadata.namespace ?? "";
  const { kustomizationRef, helmReleaseRef } = app.spec;
  return {
    kustomization: { namespace: kustomizationRef.namespace ?? ns, name: kustomizationRef.name },
    helmRelease: helmReleaseRef
      ? { namespace: helmReleaseRef.namespace ?? ns, name: helmReleaseRef.name }
      : undefined,
  };
}

export interface EvaluateInput {
  readonly app: ManagedApp;
  readonly allowCrossNamespaceRefs: boolean;
  readonly kustomization: KubeObject | undefined;
  readonly helmRelease: KubeObject | undefined;
  /** The informers' objects of the namespaces the app's workloads live in. */
  readonly objects: (namespaces: readonly string[]) => NamespaceObjects;
}

export interface ReadyCondition {
  readonly status: "True" | "False" | "Unknown";
  readonly reason: string;
  readonly message: string;
}

export interface Evaluation {
  readonly ready: ReadyCondition;
  readonly currentVersion: string | undefined;
  readonly discovery:
    | {
        readonly pvcs: { namespace: string; name: string }[];
        readonly workloads: {
          kind: "Deployment" | "StatefulSet";
          namespace: string;
          name: string;
        }[];
        readonly source: { kind: "Kustomization" | "HelmRelease"; namespace: string; name: string };
      }
    | undefined;
}

const notReady = (reason: string, message: string): Evaluation => ({
  ready: { status: "False", reason, message },
  currentVersion: undefined,
  discovery: undefined,
});

function chartVersionOf(hr: KubeObject | undefined): string | undefined {
  const spec = hr?.["spec"] as { chart?: { spec?: { version?: unknown } } } | undefined;
  const version = spec?.chart?.spec?.version;
  return typeof version === "string" ? version : undefined;
}

function fetched(obj: KubeObject | undefined, target: RefTarget): Fetched {
  return obj ? { found: true, object: obj } : { found: false, ...target };
}

export function evaluate(input: EvaluateInput): Evaluation {
  const { app } = input;
  const ns = app.metadata.namespace ?? "";
  const refs = refsOf(app);
  if (!input.allowCrossNamespaceRefs) {
    const denied = [
      refs.kustomization.namespace !== ns ? "spec.kustomizationRef.namespace" : undefined,
      refs.helmRelease && refs.helmRelease.namespace !== ns
        ? "spec.helmReleaseRef.namespace"
        : undefined,
    ].filter((f): f is string => f !== undefined);
    if (denied.length > 0) {
      return notReady(
        ConditionReason.ReferenceDenied,
        `${denied.join(", ")}: references must stay in namespace ${ns} (the controller does not allow cross-namespace references)`,
      );
    }
  }
  if (!input.kustomization) {
    const k = refs.kustomization;
    return notReady(
      ConditionReason.ReferenceNotFound,
      `Kustomization ${k.namespace}/${k.name} not found`,
    );
  }
  if (refs.helmRelease && !input.helmRelease) {
    const h = refs.helmRelease;
    return notReady(
      ConditionReason.ReferenceNotFound,
      `HelmRelease ${h.namespace}/${h.name} not found`,
    );
  }

  // The HelmRelease's inventory lists the chart's objects (helm-controller ≥ 1.5); without a
  // HelmRelease the Kustomization's inventory lists the app's objects directly.
  const sourceObj = refs.helmRelease ? input.helmRelease : input.kustomization;
  const sourceRef = refs.helmRelease ?? refs.kustomization;
  const sourceKind = refs.helmRelease ? ("HelmRelease" as const) : ("Kustomization" as const);
  const inventory = inventoryOf(sourceObj);
  const workloads: WorkloadRef[] = inventory.found ? workloadRefs(inventory.inventory.refs) : [];
  const namespaces = [...new Set([ns, ...workloads.map((w) => w.namespace)])];
  const objects = input.objects(namespaces);
  const explicit = app.spec.volumeSnapshots.pvcs?.map((p) => ({
    namespace: p.namespace ?? ns,
    name: p.name,
  }));
  const exclude = app.spec.volumeSnapshots.excludePVCs?.map((p) => ({
    namespace: p.namespace ?? ns,
    name: p.name,
  }));
  const pvcs = discoverPvcs({ workloads, objects, explicit, exclude });

  // The inventory's workloads that exist, by "kind/namespace/name" (workloadKey).
  const byKey = new Map<string, KubeObject>();
  for (const o of [...objects.deployments, ...objects.statefulSets] as KubeObject[]) {
    byKey.set(workloadKey(o.kind, o.metadata.namespace ?? "", o.metadata.name ?? ""), o);
  }
  const workloadObjects = workloads
    .map((w) => byKey.get(workloadKey(w.kind, w.namespace, w.name)))
    .filter((o): o is KubeObject => o !== undefined);
  const currentVersion = chartVersionOf(input.helmRelease);
  const health = checkHealth({
    kustomization: fetched(input.kustomization, refs.kustomization),
    helmRelease: refs.helmRelease ? fetched(input.helmRelease, refs.helmRelease) : undefined,
    workloads: workloadObjects,
    replicaSets: objects.replicaSets,
    pods: objects.pods,
    pvcs: objects.pvcs.filter((p) => {
      const meta = (p as KubeObject).metadata;
      return pvcs.pvcs.some((d) => d.namespace === meta.namespace && d.name === meta.name);
    }),
    expected: {
      // Every workload the inventory lists must exist (a missing one is named), and run what its
      // spec asks, at least one replica.
      replicasByWorkload: workloads.map((w) => {
        const obj = byKey.get(workloadKey(w.kind, w.namespace, w.name));
        const replicas = (obj?.["spec"] as { replicas?: number } | undefined)?.replicas ?? 1;
        return {
          kind: w.kind,
          namespace: w.namespace,
          name: w.name,
          replicas: Math.max(replicas, 1),
        };
      }),
      chartVersion: currentVersion,
      pvcs: pvcs.pvcs.map((p) => ({ namespace: p.namespace, name: p.name })),
    },
  });
  return {
    ready: health.healthy
      ? { status: "True", reason: ConditionReason.Succeeded, message: health.message }
      : { status: "False", reason: health.reason, message: health.message },
    currentVersion,
    discovery: {
      pvcs: pvcs.pvcs.map((p) => ({ namespace: p.namespace, name: p.name })),
      workloads: workloads.map((w) => ({ kind: w.kind, namespace: w.namespace, name: w.name })),
      source: { kind: sourceKind, ...sourceRef },
    },
  };
}
