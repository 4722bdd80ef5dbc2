// The parts of storage objects the simulator reads, parsed once at the boundary.
import { z } from "zod";

const Meta = z.object({
  name: z.string(),
  namespace: z.string().optional(),
  uid: z.string(),
  resourceVersion: z.string().optional(),
  deletionTimestamp: z.string().optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  finalizers: z.array(z.string()).optional(),
});

const TypedRef = z.object({
  apiGroup: z.string().optional(),
  kind: z.string(),
  name: z.string(),
  namespace: z.string().optional(),
});

export const Pvc = z.object({
  metadata: Meta,
  spec: z.object({
    storageClassName: z.string().optional(),
    accessModes: z.array(z.string()).default([]),
    volumeMode: z.string().optional(),
    volumeName: z.string().optional(),
    resources: z.object({ requests: z.record(z.string(), z.string()).optional() }).optional(),
    dataSource: TypedRef.optional(),
    dataSourceRef: TypedRef.optional(),
  }),
  status: z.object({ phase: z.string().optional() }).optional(),
});
export type Pvc = z.infer<typeof Pvc>;

export const StorageClass = z.object({
  metadata: Meta,
  provisioner: z.string(),
  reclaimPolicy: z.string().optional(),
  volumeBindingMode: z.string().optional(),
  parameters: z.record(z.string(), z.string()).optional(),
  mountOptions: z.array(z.string()).optional(),
});
export type StorageClass = z.infer<typeof StorageClass>;

export const Pv = z.object({
  metadata: Meta,
  spec: z.object({
    capacity: z.record(z.string(), z.string()).optional(),
    csi: z
      .object({
        driver: z.string(),
        volumeHandle: z.string(),
        volumeAttributes: z.record(z.string(), z.string()).optional(),
      })
      .optional(),
    claimRef: z
      .object({
        namespace: z.string().optional(),
        name: z.string().optional(),
        uid: z.string().optional(),
      })
      .optional(),
    persistentVolumeReclaimPolicy: z.string().optional(),
    storageClassName: z.string().optional(),
  }),
  status: z.object({ phase: z.string().optional() }).optional(),
});
export type Pv = z.infer<typeof Pv>;

export const VolumeSnapshot = z.object({
  metadata: Meta,
  spec: z.object({
    source: z.object({
      persistentVolumeClaimName: z.string().optional(),
      volumeSnapshotContentName: z.string().optional(),
    }),
    volumeSnapshotClassName: z.string().optional(),
  }),
  status: z
    .object({
      boundVolumeSnapshotContentName: z.string().optional(),
      readyToUse: z.boolean().optional(),
      restoreSize: z.union([z.string(), z.number()]).optional(),
      error: z.object({ message: z.string().optional() }).optional(),
    })
    .optional(),
});
export type VolumeSnapshot = z.infer<typeof VolumeSnapshot>;

export const VolumeSnapshotContent = z.object({
  metadata: Meta,
  spec: z.object({
    driver: z.string(),
    deletionPolicy: z.string(),
    source: z.object({
      volumeHandle: z.string().optional(),
      snapshotHandle: z.string().optional(),
    }),
    volumeSnapshotRef: z
      .object({ namespace: z.string().optional(), name: z.string().optional() })
      .optional(),
    volumeSnapshotClassName: z.string().optional(),
  }),
  status: z
    .object({
      snapshotHandle: z.string().optional(),
      readyToUse: z.boolean().optional(),
      restoreSize: z.number().optional(),
      creationTime: z.number().optional(),
      error: z.object({ message: z.string().optional() }).optional(),
    })
    .optional(),
});
export type VolumeSnapshotContent = z.infer<typeof VolumeSnapshotContent>;
