// The known killers of an upgrade, found in its impact before anything is changed. Each is a
// named check that names the objects: a dry run lists every finding, a real upgrade with one
// is refused unless the request acknowledges that check by name.
import { DANGER_CHECK_NAMES, type DangerCheckName } from "../api/upgraderequest.ts";
import { type CompareMode, type Impact, fieldChanges } from "./diff.ts";
import {
  type KubeObject,
  type ObjectId,
  type RenderedObject,
  describeId,
  objectKey,
} from "./objects.ts";

// The names live with the API, whose spec.acknowledgeDangers lists them.
export const DANGER_CHECKS = DANGER_CHECK_NAMES;
export type DangerCheck = DangerCheckName;

export interface Finding {
  readonly check: DangerCheck;
  readonly object: ObjectId;
  readonly message: string;
}

/** Who applies the app's objects: Helm ownership annotations, or Flux's Kustomization labels. */
export type AppOwner =
  | { readonly kind: "HelmRelease"; readonly releaseName: string; readonly namespace: string }
  | { readonly kind: "Kustomization"; readonly name: string; readonly namespace: string };

export interface DangerInput {
  readonly current: readonly RenderedObject[];
  readonly target: readonly RenderedObject[];
  readonly impact: Impact;
  readonly mode: CompareMode;
  readonly owner: AppOwner;
  /** Live metadata of target objects that exist in the cluster now, by objectKey. */
  readonly live: ReadonlyMap<string, KubeObject>;
}

type Obj = Record<string, unknown>;

function rec(value: unknown): Obj {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Obj) : {};
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function at(object: unknown, ...path: string[]): unknown {
  let here: unknown = object;
  for (const key of path) here = rec(here)[key];
  return here;
}

const POD_SPEC_PATHS: Readonly<Record<string, readonly string[]>> = {
  "/Pod": ["spec"],
  "apps/Deployment": ["spec", "template", "spec"],
  "apps/StatefulSet": ["spec", "template", "spec"],
  "apps/DaemonSet": ["spec", "template", "spec"],
  "apps/ReplicaSet": ["spec", "template", "spec"],
  "batch/Job": ["spec", "template", "spec"],
  "batch/CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
};

type ConfigKind = "Secret" | "ConfigMap";

interface ConfigUse {
  readonly kind: ConfigKind;
  readonly name: string;
}

/** The Secrets and ConfigMaps a pod spec needs to start (optional references left out). */
export function configUses(podSpec: unknown): ConfigUse[] {
  const uses: ConfigUse[] = [];
  const use = (kind: ConfigKind, name: unknown, optional: unknown) => {
    if (str(name) !== "" && optional !== true) uses.push({ kind, name: str(name) });
  };
  const spec = rec(podSpec);
  const containers = [
    ...list(spec["containers"]),
    ...list(spec["initContainers"]),
    ...list(spec["ephemeralContainers"]),
  ];
  for (const container of containers) {
    for (const env of list(rec(container)["env"])) {
      const from = rec(rec(env)["valueFrom"]);
      const secret = rec(from["secretKeyRef"]);
      const configMap = rec(from["configMapKeyRef"]);
      use("Secret", secret["name"], secret["optional"]);
      use("ConfigMap", configMap["name"], configMap["optional"]);
    }
    for (const envFrom of list(rec(container)["envFrom"])) {
      const secret = rec(rec(envFrom)["secretRef"]);
      const configMap = rec(rec(envFrom)["configMapRef"]);
      use("Secret", secret["name"], secret["optional"]);
      use("ConfigMap", configMap["name"], configMap["optional"]);
    }
  }
  for (const volume of list(spec["volumes"])) {
    const secret = rec(rec(volume)["secret"]);
    const configMap = rec(rec(volume)["configMap"]);
    use("Secret", secret["secretName"], secret["optional"]);
    use("ConfigMap", configMap["name"], configMap["optional"]);
    for (const source of list(at(volume, "projected", "sources"))) {
      const s = rec(rec(source)["secret"]);
      const c = rec(rec(source)["configMap"]);
      use("Secret", s["name"], s["optional"]);
      use("ConfigMap", c["name"], c["optional"]);
    }
  }
  for (const pull of list(spec["imagePullSecrets"])) use("Secret", rec(pull)["name"], false);
  return uses;
}

/** The Secret or ConfigMap an object puts into the cluster, directly or through an operator. */
export function providedConfig(o: RenderedObject): ConfigUse | undefined {
  const { group, kind, name } = o.id;
  if (group === "" && (kind === "Secret" || kind === "ConfigMap")) return { kind, name };
  // External Secrets Operator writes spec.target.name, defaulting to the ExternalSecret's name.
  if (group === "external-secrets.io" && kind === "ExternalSecret") {
    return { kind: "Secret", name: str(at(o.object, "spec", "target", "name")) || name };
  }
  // Sealed Secrets unseals into a Secret of the SealedSecret's own name.
  if (group === "bitnami.com" && kind === "SealedSecret") return { kind: "Secret", name };
  return undefined;
}

function useKey(kind: ConfigKind, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

function referencedConfigRemoved(input: DangerInput): Finding[] {
  const provided = new Set<string>();
  for (const o of input.target) {
    const p = providedConfig(o);
    if (p) provided.add(useKey(p.kind, o.id.namespace, p.name));
  }
  const users = new Map<string, ObjectId[]>();
  for (const o of input.target) {
    const path = POD_SPEC_PATHS[`${o.id.group}/${o.id.kind}`];
    if (!path) continue;
    for (const u of configUses(at(o.object, ...path))) {
      const key = useKey(u.kind, o.id.namespace, u.name);
      const known = users.get(key) ?? [];
      if (!known.some((id) => objectKey(id) === objectKey(o.id))) known.push(o.id);
      users.set(key, known);
    }
  }
  const currentByKey = new Map(input.current.map((o) => [objectKey(o.id), o]));
  const findings: Finding[] = [];
  for (const id of input.impact.removed) {
    const removed = currentByKey.get(objectKey(id));
    const p = removed && providedConfig(removed);
    if (!p) continue;
    const key = useKey(p.kind, id.namespace, p.name);
    const needers = users.get(key);
    if (!needers || provided.has(key)) continue;
    const via = p.kind === id.kind && id.group === "" ? "" : ` (its ${p.kind} ${p.name})`;
    findings.push({
      check: "ReferencedConfigRemoved",
      object: id,
      message: `${describeId(id)}${via} is no longer rendered but ${needers.map(describeId).join(", ")} still reference${needers.length === 1 ? "s" : ""} it: their pods will fail to start`,
    });
  }
  return findings;
}

function keptByPolicy(object: KubeObject): boolean {
  const annotations = rec(at(object, "metadata", "annotations"));
  const labels = rec(at(object, "metadata", "labels"));
  return (
    annotations["helm.sh/resource-policy"] === "keep" ||
    annotations["kustomize.toolkit.fluxcd.io/prune"] === "disabled" ||
    labels["kustomize.toolkit.fluxcd.io/prune"] === "disabled"
  );
}

function volumeDataRemoved(input: DangerInput): Finding[] {
  const currentByKey = new Map(input.current.map((o) => [objectKey(o.id), o]));
  const findings: Finding[] = [];
  for (const id of input.impact.removed) {
    const removed = currentByKey.get(objectKey(id));
    if (!removed || keptByPolicy(removed.object)) continue;
    if (id.group === "" && id.kind === "PersistentVolumeClaim") {
      findings.push({
        check: "VolumeDataRemoved",
        object: id,
        message: `${describeId(id)} is no longer rendered and will be deleted with its data`,
      });
    }
    const templates = list(at(removed.object, "spec", "volumeClaimTemplates"));
    if (id.group === "apps" && id.kind === "StatefulSet" && templates.length > 0) {
      const names = templates.map((t) => str(at(t, "metadata", "name"))).join(", ");
      findings.push({
        check: "VolumeDataRemoved",
        object: id,
        message: `${describeId(id)} is no longer rendered; its volume claims (${names}) hold the app's data`,
      });
    }
  }
  return findings;
}

/** Fields the API server refuses to change, by group/kind (apply fails with "field is immutable"). */
const IMMUTABLE: Readonly<Record<string, readonly (readonly string[])[]>> = {
  "apps/Deployment": [["spec", "selector"]],
  "apps/StatefulSet": [
    ["spec", "selector"],
    ["spec", "volumeClaimTemplates"],
    ["spec", "serviceName"],
  ],
  "batch/Job": [
    ["spec", "selector"],
    ["spec", "template"],
  ],
  "/PersistentVolumeClaim": [
    ["spec", "storageClassName"],
    ["spec", "accessModes"],
  ],
};

function immutableFieldChanged(input: DangerInput): Finding[] {
  const currentByKey = new Map(input.current.map((o) => [objectKey(o.id), o]));
  const findings: Finding[] = [];
  for (const next of input.target) {
    const paths = IMMUTABLE[`${next.id.group}/${next.id.kind}`];
    const prev = currentByKey.get(objectKey(next.id));
    if (!paths || !prev) continue;
    const changed = paths.filter((path) => {
      const before = at(prev.object, ...path);
      const after = at(next.object, ...path);
      if (input.mode === "live" && after === undefined) return false;
      return fieldChanges(next.id, { v: before }, { v: after }, input.mode).length > 0;
    });
    if (changed.length === 0) continue;
    findings.push({
      check: "ImmutableFieldChanged",
      object: next.id,
      message: `${describeId(next.id)} changes ${changed.map((p) => p.join(".")).join(", ")}, which the API server refuses to update: the apply will fail`,
    });
  }
  return findings;
}

function crdRemoved(input: DangerInput): Finding[] {
  return input.impact.removed
    .filter((id) => id.group === "apiextensions.k8s.io" && id.kind === "CustomResourceDefinition")
    .map((id) => ({
      check: "CustomResourceDefinitionRemoved" as const,
      object: id,
      message: `${describeId(id)} is no longer rendered: deleting it deletes every object of that type`,
    }));
}

function ownerOf(live: KubeObject): string | undefined {
  const annotations = rec(at(live, "metadata", "annotations"));
  const labels = rec(at(live, "metadata", "labels"));
  const release = str(annotations["meta.helm.sh/release-name"]);
  if (release !== "") {
    return `HelmRelease release ${str(annotations["meta.helm.sh/release-namespace"])}/${release}`;
  }
  const ks = str(labels["kustomize.toolkit.fluxcd.io/name"]);
  if (ks !== "") {
    return `Kustomization ${str(labels["kustomize.toolkit.fluxcd.io/namespace"])}/${ks}`;
  }
  return undefined;
}

function ownershipChanged(input: DangerInput): Finding[] {
  const ours =
    input.owner.kind === "HelmRelease"
      ? `HelmRelease release ${input.owner.namespace}/${input.owner.releaseName}`
      : `Kustomization ${input.owner.namespace}/${input.owner.name}`;
  const findings: Finding[] = [];
  for (const next of input.target) {
    const live = input.live.get(objectKey(next.id));
    const theirs = live && ownerOf(live);
    if (!theirs || theirs === ours) continue;
    findings.push({
      check: "OwnershipChanged",
      object: next.id,
      message: `${describeId(next.id)} exists and belongs to ${theirs}; this upgrade takes it over`,
    });
  }
  return findings;
}

/** Every finding, in check order and within a check in object order. */
export function findDangers(input: DangerInput): Finding[] {
  return [
    ...referencedConfigRemoved(input),
    ...volumeDataRemoved(input),
    ...immutableFieldChanged(input),
    ...crdRemoved(input),
    ...ownershipChanged(input),
  ];
}

/** The findings a request did not acknowledge: each blocks a real upgrade. */
export function unacknowledged(
  findings: readonly Finding[],
  acknowledged: readonly string[],
): Finding[] {
  const acks = new Set(acknowledged);
  return findings.filter((f) => !acks.has(f.check));
}
