// Scaling the planned workloads down and back up, and the pure check that their pods are gone.
// Original replica counts go to status before the first scale-down and are never overwritten.
import type { PlannedVolume, PlannedWorkload, RecordedReplicas } from "../../api/index.ts";
import type { KubeObject, ObjectRef } from "../../kube/client.ts";

export function workloadRef(w: { kind: string; namespace: string; name: string }): ObjectRef {
  return { apiVersion: "apps/v1", kind: w.kind, namespace: w.namespace, name: w.name };
}

export function specReplicas(obj: KubeObject | undefined): number | undefined {
  const r = (obj?.["spec"] as { replicas?: unknown } | undefined)?.replicas;
  return typeof r === "number" ? r : obj ? 1 : undefined;
}

const same = (a: { kind: string; namespace: string; name: string }, b: typeof a) =>
  a.kind === b.kind && a.namespace === b.namespace && a.name === b.name;

/** Replicas to record before scaling: the planned workloads not recorded yet, with live counts. */
export function replicasToRecord(
  planned: readonly PlannedWorkload[],
  recorded: readonly RecordedReplicas[],
  live: (w: PlannedWorkload) => KubeObject | undefined,
): RecordedReplicas[] {
  return planned
    .filter((w) => !recorded.some((r) => same(r, w)))
    .map((w) => ({
      kind: w.kind,
      namespace: w.namespace,
      name: w.name,
      // A workload already at 0 was stopped by someone else; its plan-time count is what it ran.
      original: specReplicas(live(w)) || w.replicas,
    }));
}

/**
 * Whether a pod has finished (Succeeded or Failed, a CronJob's history pod say): it still names
 * its claims in its spec but runs no container and holds no volume, so it never blocks a stop,
 * the quiescence check or a restore.
 */
export function podFinished(pod: KubeObject): boolean {
  const phase = (pod["status"] as { phase?: unknown } | undefined)?.phase;
  return phase === "Succeeded" || phase === "Failed";
}

/** Pods that still keep a planned workload or PVC busy, by name ("ns/name"), for messages. */
export function busyPods(
  pods: readonly KubeObject[],
  volumes: readonly PlannedVolume[],
  workloadUids: ReadonlySet<string>,
  replicaSetOwners: ReadonlyMap<string, string>,
): string[] {
  const claimed = new Set(volumes.map((v) => `${v.namespace}/${v.name}`));
  return pods
    .filter((pod) => {
      if (podFinished(pod)) return false;
      const ns = pod.metadata.namespace ?? "";
      const volumesOf =
        (
          pod["spec"] as
            { volumes?: { persistentVolumeClaim?: { claimName?: string } }[] } | undefined
        )?.volumes ?? [];
      if (
        volumesOf.some(
          (v) =>
            v.persistentVolumeClaim?.claimName &&
            claimed.has(`${ns}/${v.persistentVolumeClaim.claimName}`),
        )
      )
        return true;
      const owners = (pod.metadata["ownerReferences"] ?? []) as { uid?: string; kind?: string }[];
      return owners.some((o) => {
        if (!o.uid) return false;
        if (workloadUids.has(o.uid)) return true;
        const rsOwner = o.kind === "ReplicaSet" ? replicaSetOwners.get(o.uid) : undefined;
        return rsOwner !== undefined && workloadUids.has(rsOwner);
      });
    })
    .map((pod) => `${pod.metadata.namespace ?? ""}/${pod.metadata.name ?? ""}`);
}

/**
 * Pure: why the cut may not happen now, from fresh reads taken right before it. Between ScaleDown
 * and the snapshot (or a rollback's PVC delete) an HPA, KEDA, a CronJob or a person may have
 * started a workload or a pod again; a snapshot taken then is not the data at rest.
 */
export function cutProblems(
  pods: readonly KubeObject[],
  volumes: readonly PlannedVolume[],
  workloads: readonly { readonly ref: PlannedWorkload; readonly live: KubeObject | undefined }[],
): string[] {
  const scaled = workloads
    .filter((w) => (specReplicas(w.live) ?? 0) > 0)
    .map(
      (w) =>
        `${w.ref.kind} ${w.ref.namespace}/${w.ref.name} runs ${String(specReplicas(w.live))} replica(s) again`,
    );
  const mounting = busyPods(pods, volumes, new Set(), new Map()).map(
    (p) => `pod ${p} mounts a planned PVC`,
  );
  return [...scaled, ...mounting];
}
