// Rollout status of Deployments and StatefulSets, kstatus style. A kind's
// status fields are omitted when zero (Go's omitempty), so every count defaults to 0.
import { z } from "zod";
import {
  Condition,
  current,
  failed,
  findCondition,
  generationStatus,
  inProgress,
  type KindStatus,
} from "./status.ts";

const OwnerReference = z.object({
  apiVersion: z.string(),
  kind: z.string(),
  name: z.string(),
  uid: z.string(),
  controller: z.boolean().optional(),
});

export const WorkloadMeta = z.object({
  name: z.string().min(1),
  namespace: z.string().default(""),
  uid: z.string().optional(),
  generation: z.number().optional(),
  ownerReferences: z.array(OwnerReference).optional(),
  deletionTimestamp: z.string().optional(),
});
export type WorkloadMeta = z.infer<typeof WorkloadMeta>;

const count = z.number().int().nonnegative().optional();

export const Deployment = z.object({
  kind: z.literal("Deployment"),
  metadata: WorkloadMeta,
  spec: z.object({ replicas: count }),
  status: z
    .object({
      observedGeneration: z.number().optional(),
      replicas: count,
      updatedReplicas: count,
      readyReplicas: count,
      availableReplicas: count,
      conditions: z.array(Condition).nullish(),
    })
    .default({}),
});
export type Deployment = z.infer<typeof Deployment>;

export const StatefulSet = z.object({
  kind: z.literal("StatefulSet"),
  metadata: WorkloadMeta,
  spec: z.object({
    replicas: count,
    updateStrategy: z
      .object({
        type: z.string().optional(),
        rollingUpdate: z.object({ partition: count }).nullish(),
      })
      .nullish(),
  }),
  status: z
    .object({
      observedGeneration: z.number().optional(),
      replicas: count,
      readyReplicas: count,
      updatedReplicas: count,
      currentRevision: z.string().optional(),
      updateRevision: z.string().optional(),
    })
    .default({}),
});
export type StatefulSet = z.infer<typeof StatefulSet>;

export const Workload = z.discriminatedUnion("kind", [Deployment, StatefulSet]);
export type Workload = z.infer<typeof Workload>;

export function desiredReplicas(w: Workload): number {
  return w.spec.replicas ?? 1;
}

export function deploymentStatus(d: Deployment): KindStatus {
  const stale = generationStatus("Deployment", d.metadata.generation, d.status.observedGeneration);
  if (stale) return stale;
  const progressing = findCondition(d.status.conditions, "Progressing");
  if (progressing?.reason === "ProgressDeadlineExceeded") {
    return failed("ProgressDeadlineExceeded", progressing.message ?? "progress deadline exceeded");
  }
  const want = desiredReplicas(d);
  const { replicas = 0, updatedReplicas = 0, readyReplicas = 0, availableReplicas = 0 } = d.status;
  if (updatedReplicas !== want) {
    return inProgress("Rollout", `${updatedReplicas} of ${want} replicas updated`);
  }
  if (replicas !== updatedReplicas) {
    return inProgress("Rollout", `${replicas - updatedReplicas} old replicas pending termination`);
  }
  if (readyReplicas !== want)
    return inProgress("NotReady", `${readyReplicas} of ${want} replicas ready`);
  if (availableReplicas !== want) {
    return inProgress("NotAvailable", `${availableReplicas} of ${want} replicas available`);
  }
  return current(`${want} replicas ready`);
}

export function statefulSetStatus(s: StatefulSet): KindStatus {
  const stale = generationStatus("StatefulSet", s.metadata.generation, s.status.observedGeneration);
  if (stale) return stale;
  const want = desiredReplicas(s);
  const { replicas = 0, readyReplicas = 0, updatedReplicas = 0 } = s.status;
  if (readyReplicas !== want)
    return inProgress("NotReady", `${readyReplicas} of ${want} replicas ready`);
  // OnDelete leaves replacing pods to a human: only the generation and readiness say anything.
  if (s.spec.updateStrategy?.type === "OnDelete") return current(`${want} replicas ready`);
  if (replicas !== want)
    return inProgress("Rollout", `${replicas} replicas exist, ${want} desired`);
  const partition = s.spec.updateStrategy?.rollingUpdate?.partition ?? 0;
  if (updatedReplicas < want - partition) {
    return inProgress("Rollout", `${updatedReplicas} of ${want - partition} replicas updated`);
  }
  if (partition === 0 && s.status.currentRevision !== s.status.updateRevision) {
    return inProgress(
      "Rollout",
      `revision ${s.status.updateRevision ?? "?"} not rolled out yet (current ${s.status.currentRevision ?? "?"})`,
    );
  }
  return current(`${want} replicas ready`);
}

export function workloadStatus(w: Workload): KindStatus {
  return w.kind === "Deployment" ? deploymentStatus(w) : statefulSetStatus(w);
}
