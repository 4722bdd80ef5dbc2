// The objects a rendered manifest (Helm's release manifest, or a kustomize build) holds, with
// their full content, keyed by group, kind, namespace and name: the identity the API server
// gives an object, so a changed apiVersion within one group is the same object changed.
import { parseAllDocuments } from "yaml";
import { CLUSTER_SCOPED } from "../discovery/manifests.ts";
import { groupOf } from "../discovery/refs.ts";

/** A Kubernetes object as plain JSON. */
export type KubeObject = Readonly<Record<string, unknown>>;

export interface ObjectId {
  /** "" for the core group. */
  readonly group: string;
  readonly kind: string;
  /** "" for a cluster-scoped object. */
  readonly namespace: string;
  readonly name: string;
}

export interface RenderedObject {
  readonly id: ObjectId;
  readonly object: KubeObject;
}

export type ParseObjectsResult =
  | { readonly ok: true; readonly objects: readonly RenderedObject[] }
  | { readonly ok: false; readonly message: string };

export function objectKey(id: ObjectId): string {
  return `${id.group}/${id.kind}/${id.namespace}/${id.name}`;
}

/** "apps/Deployment demo/web", "Secret demo/creds", "CustomResourceDefinition x.y" (cluster). */
export function describeId(id: ObjectId): string {
  const kind = id.group === "" ? id.kind : `${id.kind}.${id.group}`;
  return id.namespace === "" ? `${kind} ${id.name}` : `${kind} ${id.namespace}/${id.name}`;
}

/** Orders by kind, namespace, name, then group: how a reader scans a list of objects. */
export function compareIds(a: ObjectId, b: ObjectId): number {
  const ka = [a.kind, a.namespace, a.name, a.group];
  const kb = [b.kind, b.namespace, b.name, b.group];
  for (let i = 0; i < ka.length; i++) {
    const x = ka[i] ?? "";
    const y = kb[i] ?? "";
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/** The identity of one object, its namespace defaulted as the API server would. */
export function idOf(object: KubeObject, defaultNamespace: string): ObjectId | undefined {
  const apiVersion = text(object["apiVersion"]);
  const kind = text(object["kind"]);
  const meta = isRecord(object["metadata"]) ? object["metadata"] : {};
  const name = text(meta["name"]);
  if (apiVersion === "" || kind === "" || name === "") return undefined;
  const namespace = CLUSTER_SCOPED.has(kind) ? "" : text(meta["namespace"]) || defaultNamespace;
  return { group: groupOf(apiVersion), kind, namespace, name };
}

/**
 * Parses multi-document YAML into objects (List kinds unwrapped); the first malformed document
 * fails the whole manifest, with its number, since a partial impact would understate it.
 */
export function parseObjects(
  manifest: string,
  defaultNamespace: string,
  maxAliasCount = 100,
): ParseObjectsResult {
  const objects: RenderedObject[] = [];
  let document = 0;
  const add = (value: unknown): string | undefined => {
    if (!isRecord(value)) return `document ${document} is not a YAML mapping`;
    if (value["kind"] === "List" && Array.isArray(value["items"])) {
      for (const item of value["items"]) {
        const problem = add(item);
        if (problem) return problem;
      }
      return undefined;
    }
    const id = idOf(value, defaultNamespace);
    if (!id) return `document ${document} has no apiVersion, kind or metadata.name`;
    objects.push({ id, object: value });
    return undefined;
  };
  for (const doc of parseAllDocuments(manifest)) {
    document++;
    const syntax = doc.errors[0];
    if (syntax) return { ok: false, message: `document ${document}: ${syntax.message}` };
    if (doc.contents === null) continue;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount });
    } catch (err) {
      return { ok: false, message: `document ${document}: ${(err as Error).message}` };
    }
    if (value === null || value === undefined) continue;
    const problem = add(value);
    if (problem) return { ok: false, message: problem };
  }
  return { ok: true, objects };
}
