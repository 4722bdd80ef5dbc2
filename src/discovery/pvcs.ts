// The PVCs of an app's workloads, found once at plan time (never mid-flight: pods come and go).
// Templates come first, because pods vanish after a scale-down and are absent for an app already at
// 0: pod templates' persistentVolumeClaim volumes, StatefulSet volumeClaimTemplates for every
// ordinal in use plus any existing PVC of the same pattern. Running pods add what an older template
// still mounts mid-rollout. Only ReadWriteOnce and ReadWriteOncePod claims need quiescing, so
// others are skipped, each with the reason it was considered.
import {
  claimVolumes,
  Deployment,
  parseAll,
  PersistentVolumeClaim,
  Pod,
  ReplicaSet,
  StatefulSet,
  type InvalidObject,
} from "./objects.ts";
import { byUid, podBelongsTo, podController } from "./owners.ts";
import type { WorkloadRef } from "./refs.ts";

export interface PvcName {
  readonly namespace: string;
  readonly name: string;
}

/** What the informers hold for the namespaces involved, as plain API objects. */
export interface NamespaceObjects {
  readonly deployments: readonly unknown[];
  readonly statefulSets: readonly unknown[];
  readonly replicaSets: readonly unknown[];
  readonly pods: readonly unknown[];
  readonly pvcs: readonly unknown[];
}

export type PvcReason =
  | { readonly source: "PodTemplate"; readonly workload: WorkloadRef; readonly volume: string }
  | {
      readonly source: "ClaimTemplate";
      readonly workload: WorkloadRef;
      readonly template: string;
      readonly ordinal: number;
      /** False for a PVC left from a larger scale (or an app at 0): it still holds the data. */
      readonly inRange: boolean;
    }
  | {
      readonly source: "Pod";
      readonly workload: WorkloadRef;
      readonly pod: string;
      readonly volume: string;
    }
  | { readonly source: "Explicit" };

export interface DiscoveredPvc {
  readonly namespace: string;
  readonly name: string;
  readonly accessModes: readonly string[];
  readonly reasons: readonly PvcReason[];
}

export interface SkippedPvc extends DiscoveredPvc {
  readonly why: "Excluded" | "NotSingleWriter";
}

export interface PvcDiscoveryInput {
  readonly workloads: readonly WorkloadRef[];
  readonly objects: NamespaceObjects;
  /** When non-empty, these PVCs replace auto-discovery (and are kept whatever their access mode). */
  readonly explicit?: readonly PvcName[] | undefined;
  readonly exclude?: readonly PvcName[] | undefined;
}

export interface PvcDiscovery {
  readonly pvcs: readonly DiscoveredPvc[];
  readonly skipped: readonly SkippedPvc[];
  /** Referenced (by a template, a pod or explicitly) but not found. */
  readonly missing: readonly {
    readonly namespace: string;
    readonly name: string;
    readonly reasons: readonly PvcReason[];
  }[];
  /** Workload references with no object behind them. */
  readonly missingWorkloads: readonly WorkloadRef[];
  readonly invalid: readonly InvalidObject[];
}

const SINGLE_WRITER = new Set(["ReadWriteOnce", "ReadWriteOncePod"]);

const key = (namespace: string, name: string) => `${namespace}/${name}`;

function find<T extends { metadata: { namespace: string; name: string } }>(
  items: readonly T[],
  ref: WorkloadRef,
): T | undefined {
  return items.find((o) => o.metadata.namespace === ref.namespace && o.metadata.name === ref.name);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

class Candidates {
  readonly byKey = new Map<string, { namespace: string; name: string; reasons: PvcReason[] }>();
  add(namespace: string, name: string, reason: PvcReason): void {
    const k = key(namespace, name);
    const entry = this.byKey.get(k) ?? { namespace, name, reasons: [] };
    entry.reasons.push(reason);
    this.byKey.set(k, entry);
  }
}

export function discoverPvcs(input: PvcDiscoveryInput): PvcDiscovery {
  const deployments = parseAll("Deployment", Deployment, input.objects.deployments);
  const statefulSets = parseAll("StatefulSet", StatefulSet, input.objects.statefulSets);
  const replicaSets = parseAll("ReplicaSet", ReplicaSet, input.objects.replicaSets);
  const pods = parseAll("Pod", Pod, input.objects.pods);
  const claims = parseAll("PersistentVolumeClaim", PersistentVolumeClaim, input.objects.pvcs);
  const invalid = [
    ...deployments.invalid,
    ...statefulSets.invalid,
    ...replicaSets.invalid,
    ...pods.invalid,
    ...claims.invalid,
  ];
  const pvcByKey = new Map(
    claims.items.map((p) => [key(p.metadata.namespace, p.metadata.name), p]),
  );
  const candidates = new Candidates();
  const missingWorkloads: WorkloadRef[] = [];
  const explicit = input.explicit ?? [];

  if (explicit.length > 0) {
    for (const p of explicit) candidates.add(p.namespace, p.name, { source: "Explicit" });
  } else {
    const rsByUid = byUid(replicaSets.items);
    for (const workload of input.workloads) {
      const sts = workload.kind === "StatefulSet" ? find(statefulSets.items, workload) : undefined;
      const obj =
        sts ?? (workload.kind === "Deployment" ? find(deployments.items, workload) : undefined);
      if (!obj) {
        missingWorkloads.push(workload);
        continue;
      }
      const ns = workload.namespace;
      for (const { volume, claim } of claimVolumes(obj.spec.template?.spec)) {
        candidates.add(ns, claim, { source: "PodTemplate", workload, volume });
      }
      if (sts) addClaimTemplates(candidates, workload, sts, claims.items);
      for (const pod of pods.items) {
        const controller = podController(pod, rsByUid);
        if (!podBelongsTo(pod, controller, { kind: workload.kind, metadata: obj.metadata }))
          continue;
        for (const { volume, claim } of claimVolumes(pod.spec)) {
          candidates.add(ns, claim, { source: "Pod", workload, pod: pod.metadata.name, volume });
        }
      }
    }
  }

  const excluded = new Set((input.exclude ?? []).map((p) => key(p.namespace, p.name)));
  const pvcs: DiscoveredPvc[] = [];
  const skipped: SkippedPvc[] = [];
  const missing: PvcDiscovery["missing"][number][] = [];
  const sorted = [...candidates.byKey.entries()].sort(([a], [b]) => a.localeCompare(b));
  for (const [k, c] of sorted) {
    const pvc = pvcByKey.get(k);
    const accessModes = pvc?.spec?.accessModes ?? [];
    const entry = { namespace: c.namespace, name: c.name, accessModes, reasons: c.reasons };
    if (excluded.has(k)) skipped.push({ ...entry, why: "Excluded" });
    else if (!pvc) missing.push({ namespace: c.namespace, name: c.name, reasons: c.reasons });
    else if (explicit.length > 0 || accessModes.some((m) => SINGLE_WRITER.has(m))) pvcs.push(entry);
    else skipped.push({ ...entry, why: "NotSingleWriter" });
  }
  return { pvcs, skipped, missing, missingWorkloads, invalid };
}

/**
 * `<template>-<statefulset>-<ordinal>` for the ordinals in use (spec.ordinals.start to
 * start + replicas − 1), and every existing PVC of that pattern: an app at 0 replicas still has
 * its claims, and so does one scaled down from more replicas.
 */
function addClaimTemplates(
  candidates: Candidates,
  workload: WorkloadRef,
  sts: StatefulSet,
  pvcs: readonly PersistentVolumeClaim[],
): void {
  const start = sts.spec.ordinals?.start ?? 0;
  const replicas = sts.spec.replicas ?? 1;
  const inRange = (ordinal: number) => ordinal >= start && ordinal < start + replicas;
  for (const template of sts.spec.volumeClaimTemplates ?? []) {
    const prefix = `${template.metadata.name}-${workload.name}-`;
    const seen = new Set<number>();
    for (let ordinal = start; ordinal < start + replicas; ordinal++) {
      seen.add(ordinal);
      candidates.add(workload.namespace, `${prefix}${ordinal}`, {
        source: "ClaimTemplate",
        workload,
        template: template.metadata.name,
        ordinal,
        inRange: true,
      });
    }
    // Ordinals have no leading zeros, so "data-db-01" is not the claim of pod db-1.
    const pattern = new RegExp(`^${escapeRegExp(prefix)}(0|[1-9][0-9]*)$`);
    for (const pvc of pvcs) {
      if (pvc.metadata.namespace !== workload.namespace) continue;
      const match = pattern.exec(pvc.metadata.name);
      const ordinal = match ? Number(match[1]) : NaN;
      if (!Number.isSafeInteger(ordinal) || seen.has(ordinal)) continue;
      candidates.add(workload.namespace, pvc.metadata.name, {
        source: "ClaimTemplate",
        workload,
        template: template.metadata.name,
        ordinal,
        inRange: inRange(ordinal),
      });
    }
  }
}
