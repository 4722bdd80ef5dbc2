// The fields of core workload objects that discovery reads: volumes, claim templates and owner
// references. Unknown fields are dropped on parse; whatever else an object holds is not discovery's.
import { z } from "zod";

export const OwnerReference = z.object({
  apiVersion: z.string(),
  kind: z.string(),
  name: z.string(),
  uid: z.string(),
  controller: z.boolean().optional(),
});
export type OwnerReference = z.infer<typeof OwnerReference>;

export const Metadata = z.object({
  name: z.string().min(1),
  namespace: z.string().default(""),
  uid: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  ownerReferences: z.array(OwnerReference).optional(),
  deletionTimestamp: z.string().optional(),
});
export type Metadata = z.infer<typeof Metadata>;

export const Volume = z.object({
  name: z.string(),
  persistentVolumeClaim: z
    .object({ claimName: z.string(), readOnly: z.boolean().optional() })
    .optional(),
});
export type Volume = z.infer<typeof Volume>;

export const PodSpec = z.object({ volumes: z.array(Volume).nullish() });
export type PodSpec = z.infer<typeof PodSpec>;

export const PodTemplate = z.object({ spec: PodSpec.optional() });
export type PodTemplate = z.infer<typeof PodTemplate>;

export const Deployment = z.object({
  metadata: Metadata,
  spec: z.object({
    replicas: z.number().int().nonnegative().optional(),
    template: PodTemplate.optional(),
  }),
});
export type Deployment = z.infer<typeof Deployment>;

export const ClaimTemplate = z.object({
  metadata: z.object({ name: z.string().min(1) }),
  spec: z.object({ accessModes: z.array(z.string()).nullish() }).optional(),
});
export type ClaimTemplate = z.infer<typeof ClaimTemplate>;

export const StatefulSet = z.object({
  metadata: Metadata,
  spec: z.object({
    replicas: z.number().int().nonnegative().optional(),
    ordinals: z.object({ start: z.number().int().nonnegative().optional() }).nullish(),
    template: PodTemplate.optional(),
    volumeClaimTemplates: z.array(ClaimTemplate).nullish(),
    persistentVolumeClaimRetentionPolicy: z
      .object({ whenDeleted: z.string().optional(), whenScaled: z.string().optional() })
      .nullish(),
  }),
});
export type StatefulSet = z.infer<typeof StatefulSet>;

export const ReplicaSet = z.object({ metadata: Metadata });
export type ReplicaSet = z.infer<typeof ReplicaSet>;

export const Pod = z.object({
  metadata: Metadata,
  spec: PodSpec.optional(),
  status: z.object({ phase: z.string().optional() }).optional(),
});
export type Pod = z.infer<typeof Pod>;

export const PersistentVolumeClaim = z.object({
  metadata: Metadata,
  spec: z.object({ accessModes: z.array(z.string()).nullish() }).optional(),
  status: z.object({ phase: z.string().optional() }).optional(),
});
export type PersistentVolumeClaim = z.infer<typeof PersistentVolumeClaim>;

/** An object that failed its schema: reported, so a plan can refuse instead of missing a PVC. */
export interface InvalidObject {
  readonly kind: string;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly message: string;
}

export interface Parsed<T> {
  readonly items: readonly T[];
  readonly invalid: readonly InvalidObject[];
}

export function parseAll<T>(
  kind: string,
  schema: z.ZodType<T>,
  values: readonly unknown[],
): Parsed<T> {
  const items: T[] = [];
  const invalid: InvalidObject[] = [];
  for (const value of values) {
    const parsed = schema.safeParse(value);
    if (parsed.success) {
      items.push(parsed.data);
      continue;
    }
    const meta = (value as { metadata?: { name?: unknown; namespace?: unknown } } | null)?.metadata;
    const issue = parsed.error.issues[0];
    invalid.push({
      kind,
      namespace: typeof meta?.namespace === "string" ? meta.namespace : undefined,
      name: typeof meta?.name === "string" ? meta.name : undefined,
      message: issue ? `${issue.path.join(".")}: ${issue.message}` : "does not match the schema",
    });
  }
  return { items, invalid };
}

/** The claim names a pod spec mounts, with the volume that mounts each. */
export function claimVolumes(spec: PodSpec | undefined): { volume: string; claim: string }[] {
  return (spec?.volumes ?? []).flatMap((v) =>
    v.persistentVolumeClaim ? [{ volume: v.name, claim: v.persistentVolumeClaim.claimName }] : [],
  );
}
