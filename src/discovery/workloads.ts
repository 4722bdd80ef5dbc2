// What must stop before planned PVCs can be snapshotted or replaced: every Deployment and StatefulSet
// in the PVCs' namespaces whose template or pods mount one of them, inside the app's inventory or
// not. Pods that mount one but belong to something Cairn does not scale (a Job,
// CronJob, DaemonSet, another controller, or nothing) are writers Cairn cannot stop, and a
// StatefulSet that deletes its PVCs on scale-down cannot be scaled at all; both are reported for
// the plan to refuse.
import {
  claimVolumes,
  Deployment,
  parseAll,
  Pod,
  ReplicaSet,
  StatefulSet,
  type InvalidObject,
} from "./objects.ts";
import { byUid, podController } from "./owners.ts";
import type { NamespaceObjects, PvcName } from "./pvcs.ts";
import type { WorkloadKind } from "./refs.ts";

export type StopReason =
  | { readonly source: "PodTemplate"; readonly pvc: string; readonly volume: string }
  | {
      readonly source: "ClaimTemplate";
      readonly pvc: string;
      readonly template: string;
      readonly ordinal: number;
    }
  | { readonly source: "Pod"; readonly pvc: string; readonly pod: string; readonly volume: string };

export interface WorkloadToStop {
  readonly kind: WorkloadKind;
  readonly namespace: string;
  readonly name: string;
  /** spec.replicas now (default 1): what a scale-up must restore. */
  readonly replicas: number;
  readonly reasons: readonly StopReason[];
}

export interface UnstoppableWriter {
  readonly namespace: string;
  readonly pod: string;
  /** The pod's controller, e.g. {kind: "Job", name: "backup-29"}; undefined for a bare pod. */
  readonly controller: { readonly kind: string; readonly name: string } | undefined;
  readonly pvcs: readonly string[];
  /**
   * False for a pod that has finished (Succeeded or Failed): it still references the claim but
   * runs no container. The plan decides whether to wait for its deletion.
   */
  readonly running: boolean;
  readonly terminating: boolean;
  readonly message: string;
}

export interface UnsafeToScale {
  readonly kind: "StatefulSet";
  readonly namespace: string;
  readonly name: string;
  readonly reason: "RetentionDeletesOnScale";
  readonly message: string;
}

export interface StopPlan {
  readonly workloads: readonly WorkloadToStop[];
  readonly unstoppable: readonly UnstoppableWriter[];
  readonly unsafe: readonly UnsafeToScale[];
  readonly invalid: readonly InvalidObject[];
}

export interface StopInput {
  readonly pvcs: readonly PvcName[];
  readonly objects: Omit<NamespaceObjects, "pvcs">;
}

const key = (namespace: string, name: string) => `${namespace}/${name}`;

class Found {
  readonly byKey = new Map<
    string,
    { kind: WorkloadKind; namespace: string; name: string; replicas: number; reasons: StopReason[] }
  >();
  add(kind: WorkloadKind, namespace: string, name: string, replicas: number, reason: StopReason) {
    const k = `${kind}/${namespace}/${name}`;
    const entry = this.byKey.get(k) ?? { kind, namespace, name, replicas, reasons: [] };
    entry.reasons.push(reason);
    this.byKey.set(k, entry);
  }
}

function ordinalOf(pvc: string, template: string, sts: string): number | undefined {
  const prefix = `${template}-${sts}-`;
  if (!pvc.startsWith(prefix)) return undefined;
  const rest = pvc.slice(prefix.length);
  return /^(0|[1-9][0-9]*)$/.test(rest) ? Number(rest) : undefined;
}

export function workloadsToStop(input: StopInput): StopPlan {
  const deployments = parseAll("Deployment", Deployment, input.objects.deployments);
  const statefulSets = parseAll("StatefulSet", StatefulSet, input.objects.statefulSets);
  const replicaSets = parseAll("ReplicaSet", ReplicaSet, input.objects.replicaSets);
  const pods = parseAll("Pod", Pod, input.objects.pods);
  const planned = new Set(input.pvcs.map((p) => key(p.namespace, p.name)));
  const mounts = (namespace: string, claim: string) => planned.has(key(namespace, claim));
  const found = new Found();

  for (const d of deployments.items) {
    const { namespace, name } = d.metadata;
    for (const { volume, claim } of claimVolumes(d.spec.template?.spec)) {
      if (mounts(namespace, claim)) {
        found.add("Deployment", namespace, name, d.spec.replicas ?? 1, {
          source: "PodTemplate",
          pvc: claim,
          volume,
        });
      }
    }
  }
  for (const s of statefulSets.items) {
    const { namespace, name } = s.metadata;
    const replicas = s.spec.replicas ?? 1;
    for (const { volume, claim } of claimVolumes(s.spec.template?.spec)) {
      if (mounts(namespace, claim)) {
        found.add("StatefulSet", namespace, name, replicas, {
          source: "PodTemplate",
          pvc: claim,
          volume,
        });
      }
    }
    for (const t of s.spec.volumeClaimTemplates ?? []) {
      for (const p of input.pvcs) {
        if (p.namespace !== namespace) continue;
        const ordinal = ordinalOf(p.name, t.metadata.name, name);
        if (ordinal === undefined) continue;
        found.add("StatefulSet", namespace, name, replicas, {
          source: "ClaimTemplate",
          pvc: p.name,
          template: t.metadata.name,
          ordinal,
        });
      }
    }
  }

  const rsByUid = byUid(replicaSets.items);
  const workloadByKey = new Map<string, { replicas: number; uid: string | undefined }>([
    ...deployments.items.map(
      (d) =>
        [
          `Deployment/${d.metadata.namespace}/${d.metadata.name}`,
          { replicas: d.spec.replicas ?? 1, uid: d.metadata.uid },
        ] as const,
    ),
    ...statefulSets.items.map(
      (s) =>
        [
          `StatefulSet/${s.metadata.namespace}/${s.metadata.name}`,
          { replicas: s.spec.replicas ?? 1, uid: s.metadata.uid },
        ] as const,
    ),
  ]);
  const unstoppable: UnstoppableWriter[] = [];
  for (const pod of pods.items) {
    const { namespace, name } = pod.metadata;
    const used = claimVolumes(pod.spec).filter((v) => mounts(namespace, v.claim));
    if (used.length === 0) continue;
    const controller = podController(pod, rsByUid);
    if (controller.kind === "Deployment" || controller.kind === "StatefulSet") {
      const workload = workloadByKey.get(`${controller.kind}/${namespace}/${controller.name}`);
      if (workload && (workload.uid === undefined || workload.uid === controller.uid)) {
        for (const { volume, claim } of used) {
          found.add(controller.kind, namespace, controller.name, workload.replicas, {
            source: "Pod",
            pvc: claim,
            pod: name,
            volume,
          });
        }
        continue;
      }
    }
    unstoppable.push(
      writer(
        pod,
        controller,
        used.map((v) => v.claim),
      ),
    );
  }

  const workloads = [...found.byKey.values()].sort((a, b) =>
    `${a.kind}/${a.namespace}/${a.name}`.localeCompare(`${b.kind}/${b.namespace}/${b.name}`),
  );
  const unsafe: UnsafeToScale[] = [];
  for (const w of workloads) {
    if (w.kind !== "StatefulSet") continue;
    const sts = statefulSets.items.find(
      (s) => s.metadata.namespace === w.namespace && s.metadata.name === w.name,
    );
    if (sts?.spec.persistentVolumeClaimRetentionPolicy?.whenScaled === "Delete") {
      unsafe.push({
        kind: "StatefulSet",
        namespace: w.namespace,
        name: w.name,
        reason: "RetentionDeletesOnScale",
        message: `StatefulSet ${w.namespace}/${w.name} has persistentVolumeClaimRetentionPolicy.whenScaled: Delete; scaling it to 0 would delete its PVCs before any snapshot`,
      });
    }
  }
  const invalid = [
    ...deployments.invalid,
    ...statefulSets.invalid,
    ...replicaSets.invalid,
    ...pods.invalid,
  ];
  return { workloads, unstoppable, unsafe, invalid };
}

function writer(
  pod: Pod,
  controller: ReturnType<typeof podController>,
  pvcs: readonly string[],
): UnstoppableWriter {
  const { namespace, name } = pod.metadata;
  const phase = pod.status?.phase;
  const running = phase !== "Succeeded" && phase !== "Failed";
  let owner: UnstoppableWriter["controller"];
  let what: string;
  switch (controller.kind) {
    case "None":
      owner = undefined;
      what = "has no controller";
      break;
    case "Other":
      owner = { kind: controller.ownerKind, name: controller.name };
      what = `is controlled by ${controller.ownerKind} ${controller.name}, which Cairn cannot scale`;
      break;
    default:
      // A Deployment or StatefulSet that is not among the namespace's objects (deleted, or not
      // yet seen): without its object there is no replica count to restore.
      owner = { kind: controller.kind, name: controller.name };
      what = `is controlled by ${controller.kind} ${controller.name}, which was not found`;
  }
  return {
    namespace,
    pod: name,
    controller: owner,
    pvcs,
    running,
    terminating: pod.metadata.deletionTimestamp !== undefined,
    message: `pod ${namespace}/${name} mounts ${pvcs.join(", ")} and ${what}`,
  };
}
