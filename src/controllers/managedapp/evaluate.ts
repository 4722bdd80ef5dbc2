// The ManagedApp's status as a pure function of what the informers (and, for a HelmRelease
// without an inventory, Helm's storage) hold: references, discovery (source → workloads → PVCs →
// every workload mounting them) and the shared CheckHealth.
import { ConditionReason, type ManagedApp } from "../../api/index.ts";
import { refsOf, type RefTarget } from "../../discovery/app-refs.ts";
import { discoverPvcs, type NamespaceObjects } from "../../discovery/pvcs.ts";
import { workloadKey, workloadRefs } from "../../discovery/refs.ts";
import { workloadsToStop } from "../../discovery/workloads.ts";
import { checkHealth, type Fetched } from "../../health/check.ts";
import type { ReleaseSelection } from "../../helm/select.ts";
import type { KubeObject } from "../../kube/client.ts";
import type { ReleaseStorageView } from "./release-storage.ts";
import { appSource } from "./sources.ts";
import { discoverySummary, type Summary } from "./summary.ts";

export interface EvaluateInput {
  readonly app: ManagedApp;
  readonly allowCrossNamespaceRefs: boolean;
  readonly kustomization: KubeObject | undefined;
  readonly helmRelease: KubeObject | undefined;
  /** Helm's storage, read only for a HelmRelease without an inventory (needsReleaseStorage). */
  readonly releaseStorage?: ReleaseStorageView | undefined;
  /** The informers' objects of the namespaces the app's workloads and PVCs live in. */
  readonly objects: (namespaces: readonly string[]) => NamespaceObjects;
}

export interface ReadyCondition {
  readonly status: "True" | "False" | "Unknown";
  readonly reason: string;
  readonly message: string;
}

export interface Evaluation {
  readonly ready: ReadyCondition;
  readonly discovery: Summary | undefined;
}

const notReady = (reason: string, message: string): Evaluation => ({
  ready: { status: "False", reason, message },
  discovery: undefined,
});

/** The chart version the HelmRelease asks for, if it names one. */
export function chartVersionOf(hr: KubeObject | undefined): string | undefined {
  const spec = hr?.["spec"] as { chart?: { spec?: { version?: unknown } } } | undefined;
  const version = spec?.chart?.spec?.version;
  return typeof version === "string" ? version : undefined;
}

function fetched(obj: KubeObject | undefined, target: RefTarget): Fetched {
  return obj ? { found: true, object: obj } : { found: false, ...target };
}

function deniedFields(app: ManagedApp, refs: ReturnType<typeof refsOf>): string[] {
  const ns = app.metadata.namespace ?? "";
  return [
    refs.kustomization.namespace !== ns ? "spec.kustomizationRef.namespace" : undefined,
    refs.helmRelease && refs.helmRelease.namespace !== ns
      ? "spec.helmReleaseRef.namespace"
      : undefined,
    refs.suspend && refs.suspend.namespace !== ns ? "spec.suspendRef.namespace" : undefined,
  ].filter((f): f is string => f !== undefined);
}

export function evaluate(input: EvaluateInput): Evaluation {
  const { app } = input;
  const ns = app.metadata.namespace ?? "";
  const refs = refsOf(app);
  if (!input.allowCrossNamespaceRefs) {
    const denied = deniedFields(app, refs);
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

  const source = appSource({
    refs,
    kustomization: input.kustomization,
    helmRelease: input.helmRelease,
    releaseStorage: input.releaseStorage,
  });
  const workloads = workloadRefs(source.objects);
  const explicit = app.spec.volumeSnapshots.pvcs?.map((p) => ({
    namespace: p.namespace ?? ns,
    name: p.name,
  }));
  const exclude = app.spec.volumeSnapshots.excludePVCs?.map((p) => ({
    namespace: p.namespace ?? ns,
    name: p.name,
  }));
  const namespaces = [
    ...new Set([
      ns,
      ...workloads.map((w) => w.namespace),
      ...(explicit ?? []).map((p) => p.namespace),
    ]),
  ];
  const objects = input.objects(namespaces);
  const pvcs = discoverPvcs({ workloads, objects, explicit, exclude });
  // Every Deployment and StatefulSet that mounts a planned PVC, inside the app's objects or not.
  const mounting = workloadsToStop({ pvcs: pvcs.pvcs, objects }).workloads;

  // The app's workloads that exist, by "kind/namespace/name" (workloadKey).
  const byKey = new Map<string, KubeObject>();
  for (const o of [...objects.deployments, ...objects.statefulSets] as KubeObject[]) {
    byKey.set(workloadKey(o.kind, o.metadata.namespace ?? "", o.metadata.name ?? ""), o);
  }
  const workloadObjects = workloads
    .map((w) => byKey.get(workloadKey(w.kind, w.namespace, w.name)))
    .filter((o): o is KubeObject => o !== undefined);
  const chartVersion = chartVersionOf(input.helmRelease);
  const planned = new Set(pvcs.pvcs.map((p) => `${p.namespace}/${p.name}`));
  // A PVC the spec names explicitly must exist; discovered ones exist by construction.
  const explicitMissing = explicit ? pvcs.missing : [];
  const health = checkHealth({
    kustomization: fetched(input.kustomization, refs.kustomization),
    helmRelease: refs.helmRelease ? fetched(input.helmRelease, refs.helmRelease) : undefined,
    helmReleaseState: source.release,
    workloads: workloadObjects,
    replicaSets: objects.replicaSets,
    pods: objects.pods,
    pvcs: objects.pvcs.filter((p) => {
      const meta = (p as KubeObject).metadata;
      return planned.has(`${meta.namespace ?? ""}/${meta.name ?? ""}`);
    }),
    expected: {
      // Every workload the source lists must exist (a missing one is named), and run what its
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
      chartVersion,
      pvcs: [...pvcs.pvcs, ...explicitMissing].map((p) => ({
        namespace: p.namespace,
        name: p.name,
      })),
    },
  });
  return {
    ready: source.problem
      ? { status: "False", ...source.problem }
      : health.healthy
        ? { status: "True", reason: ConditionReason.Succeeded, message: health.message }
        : {
            status: "False",
            reason: health.reason,
            message: withReleaseProblem(health.message, source.release),
          },
    discovery: discoverySummary({ source, workloads, pvcs: pvcs.pvcs, mounting }),
  };
}

/**
 * A pending-* or failed revision above the deployed one, named even when another finding (the
 * HelmRelease's own Ready=False, say) comes first in CheckHealth's order.
 */
function withReleaseProblem(message: string, release: ReleaseSelection | undefined): string {
  const problem = release?.problems.find(
    (p) => p.code === "PendingRelease" || p.code === "FailedRelease",
  );
  if (!problem || message.includes(problem.message)) return message;
  return `${message}; Helm storage: ${problem.message}`;
}
