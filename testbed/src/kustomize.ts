// Reads a kustomize base into objects that tests and the demo can inspect or apply with
// KubeClient, without a kustomize binary. It is a small subset of kustomize, enough for deploy/
// and overlays of it:
//   - resources: YAML files (several documents each) and directories holding a
//     kustomization.yaml, loaded recursively;
//   - namespace: set on every namespaced object; a Namespace object is renamed to it, and
//     ServiceAccount subjects of (Cluster)RoleBindings follow the ServiceAccounts they name;
//   - images: name → newName / newTag / digest on containers and initContainers.
// Any other kustomization field (patches, generators, labels, components …) is refused rather
// than ignored, so a test never runs against something kustomize would have rendered otherwise.
// Objects come out in kustomize's legacy order (Namespace, ServiceAccount, RBAC, …, Deployment).
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import type { KubeObject } from "../../src/kube/client.ts";

export interface ImageOverride {
  readonly name: string;
  readonly newName?: string;
  readonly newTag?: string;
  readonly digest?: string;
}

interface Kustomization {
  readonly resources: readonly string[];
  readonly namespace?: string;
  readonly images: readonly ImageOverride[];
}

const SUPPORTED = new Set(["apiVersion", "kind", "resources", "namespace", "images"]);

// Cluster-scoped kinds a Cairn manifest may hold; a namespace on them is an error to the API.
const CLUSTER_SCOPED = new Set([
  "Namespace",
  "ClusterRole",
  "ClusterRoleBinding",
  "CustomResourceDefinition",
  "PersistentVolume",
  "StorageClass",
  "VolumeSnapshotClass",
  "VolumeSnapshotContent",
  "PriorityClass",
  "ValidatingWebhookConfiguration",
  "MutatingWebhookConfiguration",
  "ValidatingAdmissionPolicy",
  "ValidatingAdmissionPolicyBinding",
  "APIService",
]);

// kustomize's legacy order: what others depend on comes first, webhooks last.
const ORDER_FIRST = [
  "Namespace",
  "ResourceQuota",
  "StorageClass",
  "CustomResourceDefinition",
  "ServiceAccount",
  "PodSecurityPolicy",
  "Role",
  "ClusterRole",
  "RoleBinding",
  "ClusterRoleBinding",
  "ConfigMap",
  "Secret",
  "Endpoints",
  "Service",
  "LimitRange",
  "PriorityClass",
  "PersistentVolume",
  "PersistentVolumeClaim",
  "Deployment",
  "StatefulSet",
  "CronJob",
  "PodDisruptionBudget",
];
const ORDER_LAST = ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"];

export function isClusterScoped(kind: string): boolean {
  return CLUSTER_SCOPED.has(kind);
}

/** The parsed kustomization.yaml of a directory, checked against the supported subset. */
export function readKustomization(dir: string): Kustomization {
  const path = join(dir, "kustomization.yaml");
  const doc = parseSingle(readFileSync(path, "utf8"), path);
  const unsupported = Object.keys(doc).filter((key) => !SUPPORTED.has(key));
  if (unsupported.length > 0) {
    throw new Error(`${path}: unsupported kustomization fields: ${unsupported.join(", ")}`);
  }
  const resources = doc["resources"] ?? [];
  if (!Array.isArray(resources) || !resources.every((r) => typeof r === "string")) {
    throw new Error(`${path}: resources must be a list of paths`);
  }
  const namespace = doc["namespace"];
  if (namespace !== undefined && typeof namespace !== "string") {
    throw new Error(`${path}: namespace must be a string`);
  }
  const images = doc["images"] ?? [];
  if (!Array.isArray(images) || !images.every(isImageOverride)) {
    throw new Error(`${path}: images must be a list of {name, newName?, newTag?, digest?}`);
  }
  return { resources, images, ...(namespace === undefined ? {} : { namespace }) };
}

/** Renders a kustomize base (see the file comment for the subset understood). */
export function loadKustomizeBase(dir: string): KubeObject[] {
  const kustomization = readKustomization(dir);
  const objects: KubeObject[] = [];
  for (const resource of kustomization.resources) {
    const path = join(dir, resource);
    if (statSync(path).isDirectory()) objects.push(...loadKustomizeBase(path));
    else objects.push(...readObjects(path));
  }
  let out = objects;
  if (kustomization.namespace !== undefined) out = setNamespace(out, kustomization.namespace);
  if (kustomization.images.length > 0) {
    out = out.map((o) => setImages(o, kustomization.images) as KubeObject);
  }
  return sortLegacy(out);
}

/** Every object in a multi-document YAML file; empty documents are skipped. */
export function readObjects(path: string): KubeObject[] {
  const docs = parseAllDocuments(readFileSync(path, "utf8"));
  const objects: KubeObject[] = [];
  for (const [i, doc] of docs.entries()) {
    if (doc.errors.length > 0) {
      throw new Error(`${path} document ${i + 1}: ${doc.errors.map((e) => e.message).join("; ")}`);
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (!isKubeObject(value)) {
      throw new Error(
        `${path} document ${i + 1}: not a Kubernetes object (apiVersion, kind, name)`,
      );
    }
    objects.push(value);
  }
  return objects;
}

function setNamespace(objects: readonly KubeObject[], namespace: string): KubeObject[] {
  // Where each ServiceAccount lived before the move, so bindings can follow it.
  const moved = new Set(
    objects
      .filter((o) => o.kind === "ServiceAccount")
      .map((o) => `${o.metadata.namespace ?? ""}/${o.metadata.name ?? ""}`),
  );
  return objects.map((o) => {
    let next: KubeObject = o;
    if (o.kind === "Namespace") {
      next = { ...o, metadata: { ...o.metadata, name: namespace } };
    } else if (!isClusterScoped(o.kind)) {
      next = { ...o, metadata: { ...o.metadata, namespace } };
    }
    if (
      (o.kind === "RoleBinding" || o.kind === "ClusterRoleBinding") &&
      Array.isArray(o["subjects"])
    ) {
      const subjects = (o["subjects"] as Record<string, unknown>[]).map((s) => {
        const ref = `${typeof s["namespace"] === "string" ? s["namespace"] : ""}/${String(s["name"])}`;
        return s["kind"] === "ServiceAccount" && moved.has(ref) ? { ...s, namespace } : s;
      });
      next = { ...next, subjects };
    }
    return next;
  });
}

function setImages(value: unknown, images: readonly ImageOverride[]): unknown {
  if (Array.isArray(value)) return value.map((v) => setImages(v, images));
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    out[key] =
      (key === "containers" || key === "initContainers") && Array.isArray(inner)
        ? inner.map((c: unknown) => setContainerImage(c, images))
        : setImages(inner, images);
  }
  return out;
}

function setContainerImage(container: unknown, images: readonly ImageOverride[]): unknown {
  if (container === null || typeof container !== "object") return container;
  const image = (container as { image?: unknown }).image;
  if (typeof image !== "string") return container;
  const { name, tag, digest } = splitImage(image);
  const override = images.find((i) => i.name === name);
  if (!override) return container;
  let next = override.newName ?? name;
  if (override.digest !== undefined) next += `@${override.digest}`;
  else if (override.newTag !== undefined) next += `:${override.newTag}`;
  else if (digest !== undefined) next += `@${digest}`;
  else if (tag !== undefined) next += `:${tag}`;
  return { ...container, image: next };
}

/** Splits registry:port/name:tag@digest; a colon before the last slash belongs to the host. */
export function splitImage(image: string): { name: string; tag?: string; digest?: string } {
  const at = image.indexOf("@");
  const digest = at >= 0 ? image.slice(at + 1) : undefined;
  const rest = at >= 0 ? image.slice(0, at) : image;
  const colon = rest.lastIndexOf(":");
  const hasTag = colon > rest.lastIndexOf("/");
  return {
    name: hasTag ? rest.slice(0, colon) : rest,
    ...(hasTag ? { tag: rest.slice(colon + 1) } : {}),
    ...(digest === undefined ? {} : { digest }),
  };
}

function sortLegacy(objects: readonly KubeObject[]): KubeObject[] {
  const rank = (kind: string) => {
    const first = ORDER_FIRST.indexOf(kind);
    if (first >= 0) return first;
    const last = ORDER_LAST.indexOf(kind);
    return last >= 0 ? ORDER_FIRST.length + 1 + last : ORDER_FIRST.length;
  };
  // Within a kind kustomize orders by name; Array.prototype.sort is stable for the rest.
  return [...objects].sort(
    (a, b) =>
      rank(a.kind) - rank(b.kind) ||
      (a.metadata.namespace ?? "").localeCompare(b.metadata.namespace ?? "") ||
      (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""),
  );
}

function parseSingle(text: string, path: string): Record<string, unknown> {
  const docs = parseAllDocuments(text);
  const doc = docs[0];
  if (docs.length !== 1 || !doc || doc.errors.length > 0) {
    throw new Error(`${path}: expected one YAML document`);
  }
  const value: unknown = doc.toJS();
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Error(`${path}: expected a mapping`);
  }
  return value as Record<string, unknown>;
}

function isImageOverride(value: unknown): value is ImageOverride {
  if (value === null || typeof value !== "object") return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v["name"] === "string" &&
    ["newName", "newTag", "digest"].every((k) => v[k] === undefined || typeof v[k] === "string")
  );
}

function isKubeObject(value: unknown): value is KubeObject {
  if (value === null || typeof value !== "object") return false;
  const v = value as Record<string, unknown>;
  const metadata = v["metadata"] as Record<string, unknown> | undefined;
  return (
    typeof v["apiVersion"] === "string" &&
    typeof v["kind"] === "string" &&
    typeof metadata?.["name"] === "string"
  );
}
