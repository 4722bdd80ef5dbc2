// Which Secrets and ConfigMaps a pod needs before its containers can start, read from its spec
// the way the kubelet reads it: volumes (secret, configMap, projected) are mounted before any
// container is created; env and envFrom are resolved per container when it is created. An
// `optional: true` reference never blocks. imagePullSecrets are left out: a missing one only
// makes the kubelet pull without credentials.
import { z } from "zod";

const Optional = z.boolean().nullish();
const KeyToPath = z.object({ key: z.string() });
const NamedRef = z.object({ name: z.string().default(""), optional: Optional });
const KeyRef = z.object({ name: z.string().default(""), key: z.string(), optional: Optional });

const Container = z.object({
  name: z.string(),
  env: z
    .array(
      z.object({
        valueFrom: z
          .object({ secretKeyRef: KeyRef.nullish(), configMapKeyRef: KeyRef.nullish() })
          .nullish(),
      }),
    )
    .nullish(),
  envFrom: z
    .array(z.object({ secretRef: NamedRef.nullish(), configMapRef: NamedRef.nullish() }))
    .nullish(),
});

const Volume = z.object({
  name: z.string(),
  secret: z
    .object({
      secretName: z.string().default(""),
      optional: Optional,
      items: z.array(KeyToPath).nullish(),
    })
    .nullish(),
  configMap: z
    .object({
      name: z.string().default(""),
      optional: Optional,
      items: z.array(KeyToPath).nullish(),
    })
    .nullish(),
  projected: z
    .object({
      sources: z
        .array(
          z.object({
            secret: NamedRef.extend({ items: z.array(KeyToPath).nullish() }).nullish(),
            configMap: NamedRef.extend({ items: z.array(KeyToPath).nullish() }).nullish(),
          }),
        )
        .nullish(),
    })
    .nullish(),
});

export const PodSpec = z.object({
  initContainers: z.array(Container).nullish(),
  containers: z.array(Container).default([]),
  volumes: z.array(Volume).nullish(),
});
export type PodSpec = z.infer<typeof PodSpec>;

export type ConfigKind = "Secret" | "ConfigMap";

/** One object (and, where a key is named, keys in it) that must exist. */
export interface ConfigRef {
  readonly kind: ConfigKind;
  readonly name: string;
  /** Keys that must be present; empty when the object as a whole is what is read. */
  readonly keys: readonly string[];
}

export interface VolumeNeed extends ConfigRef {
  readonly volume: string;
}

export interface ContainerNeeds {
  readonly name: string;
  readonly init: boolean;
  readonly refs: readonly ConfigRef[];
}

export interface PodNeeds {
  readonly volumes: readonly VolumeNeed[];
  /** Init containers first, in order, then the app containers. */
  readonly containers: readonly ContainerNeeds[];
}

const keysOf = (items: readonly { key: string }[] | null | undefined) =>
  (items ?? []).map((i) => i.key);

function volumeNeeds(volumes: PodSpec["volumes"]): VolumeNeed[] {
  const needs: VolumeNeed[] = [];
  for (const v of volumes ?? []) {
    if (v.secret && !v.secret.optional)
      needs.push({
        volume: v.name,
        kind: "Secret",
        name: v.secret.secretName,
        keys: keysOf(v.secret.items),
      });
    if (v.configMap && !v.configMap.optional)
      needs.push({
        volume: v.name,
        kind: "ConfigMap",
        name: v.configMap.name,
        keys: keysOf(v.configMap.items),
      });
    for (const s of v.projected?.sources ?? []) {
      if (s.secret && !s.secret.optional)
        needs.push({
          volume: v.name,
          kind: "Secret",
          name: s.secret.name,
          keys: keysOf(s.secret.items),
        });
      if (s.configMap && !s.configMap.optional)
        needs.push({
          volume: v.name,
          kind: "ConfigMap",
          name: s.configMap.name,
          keys: keysOf(s.configMap.items),
        });
    }
  }
  return needs;
}

function containerRefs(c: z.infer<typeof Container>): ConfigRef[] {
  const refs: ConfigRef[] = [];
  // envFrom is read before env, as the kubelet builds the environment.
  for (const from of c.envFrom ?? []) {
    if (from.configMapRef && !from.configMapRef.optional)
      refs.push({ kind: "ConfigMap", name: from.configMapRef.name, keys: [] });
    if (from.secretRef && !from.secretRef.optional)
      refs.push({ kind: "Secret", name: from.secretRef.name, keys: [] });
  }
  for (const e of c.env ?? []) {
    const cm = e.valueFrom?.configMapKeyRef;
    if (cm && !cm.optional) refs.push({ kind: "ConfigMap", name: cm.name, keys: [cm.key] });
    const secret = e.valueFrom?.secretKeyRef;
    if (secret && !secret.optional)
      refs.push({ kind: "Secret", name: secret.name, keys: [secret.key] });
  }
  return refs;
}

export function podNeeds(spec: PodSpec): PodNeeds {
  return {
    volumes: volumeNeeds(spec.volumes),
    containers: [
      ...(spec.initContainers ?? []).map((c) => ({
        name: c.name,
        init: true,
        refs: containerRefs(c),
      })),
      ...spec.containers.map((c) => ({ name: c.name, init: false, refs: containerRefs(c) })),
    ],
  };
}

/** Every distinct object the needs name, for one lookup each. */
export function objectsNeeded(needs: PodNeeds): { kind: ConfigKind; name: string }[] {
  const seen = new Map<string, { kind: ConfigKind; name: string }>();
  for (const r of [...needs.volumes, ...needs.containers.flatMap((c) => c.refs)])
    seen.set(`${r.kind}/${r.name}`, { kind: r.kind, name: r.name });
  return [...seen.values()];
}
