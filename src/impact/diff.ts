// What a new version does to an app's objects: which are added, changed and removed, and for a
// changed one which fields. Two comparisons, as the two Flux appliers see them:
// - "manifest": Helm compares its stored release manifest with the new one, so every field of
//   either side counts;
// - "live": kustomize-controller server-side applies the build over the live objects, so only
//   the fields the build sets count (the server's defaults and status are not a change).
// Secret values never leave here: a changed data key is reported without its values.
import {
  type KubeObject,
  type ObjectId,
  type RenderedObject,
  compareIds,
  objectKey,
} from "./objects.ts";

export type CompareMode = "manifest" | "live";

export interface FieldChange {
  /** Like "spec.template.spec.containers[0].image"; a key with dots as ["a.b/c"]. */
  readonly path: string;
  /** Absent: the field is new. */
  readonly from?: unknown;
  /** Absent: the field is gone. */
  readonly to?: unknown;
  /** A Secret's value: from/to are left out. */
  readonly redacted?: true;
}

export interface ObjectChange {
  readonly id: ObjectId;
  readonly changes: readonly FieldChange[];
}

export interface AddedObject {
  readonly id: ObjectId;
  /** The rendered object, Secret values replaced by "<redacted>". */
  readonly object: KubeObject;
}

export interface Impact {
  readonly added: readonly AddedObject[];
  readonly changed: readonly ObjectChange[];
  readonly removed: readonly ObjectId[];
  readonly unchanged: number;
}

export const REDACTED = "<redacted>";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isSecret(id: ObjectId): boolean {
  return id.group === "" && id.kind === "Secret";
}

function childPath(parent: string, key: string): string {
  if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(key)) return parent === "" ? key : `${parent}.${key}`;
  return `${parent}[${JSON.stringify(key)}]`;
}

// Fields the API server owns or Helm and Flux stamp on every apply: never an impact.
const IGNORED_TOP = new Set(["status"]);
const IGNORED_METADATA = new Set([
  "managedFields",
  "resourceVersion",
  "uid",
  "generation",
  "creationTimestamp",
  "selfLink",
  "ownerReferences",
  "finalizers",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
]);

function ignored(path: string): boolean {
  const top = path.split(/[.[]/, 1)[0] ?? "";
  if (IGNORED_TOP.has(top)) return true;
  const meta = /^metadata\.([A-Za-z]+)/.exec(path);
  return meta !== null && IGNORED_METADATA.has(meta[1] ?? "");
}

function equal(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function walk(
  from: unknown,
  to: unknown,
  path: string,
  mode: CompareMode,
  out: FieldChange[],
): void {
  if (path !== "" && ignored(path)) return;
  if (isRecord(from) && isRecord(to)) {
    const keys = new Set([...Object.keys(to), ...(mode === "manifest" ? Object.keys(from) : [])]);
    for (const key of [...keys].sort()) {
      const next = childPath(path, key);
      const inFrom = key in from;
      const inTo = key in to;
      if (inFrom && inTo) walk(from[key], to[key], next, mode, out);
      else if (inTo) out.push({ path: next, to: to[key] });
      else out.push({ path: next, from: from[key] });
    }
    return;
  }
  if (Array.isArray(from) && Array.isArray(to) && from.length === to.length) {
    to.forEach((item, i) => walk(from[i], item, `${path}[${i}]`, mode, out));
    return;
  }
  if (mode === "live" && isRecord(to) && from === undefined) {
    out.push({ path, to });
    return;
  }
  if (!equal(from, to)) out.push({ path, from, to });
}

function redactChanges(changes: FieldChange[]): FieldChange[] {
  return changes.map((c) =>
    /^(data|stringData)([.[]|$)/.test(c.path) ? { path: c.path, redacted: true } : c,
  );
}

/** The object with every Secret value replaced, for display. */
export function redactObject(id: ObjectId, object: KubeObject): KubeObject {
  if (!isSecret(id)) return object;
  const copy: Record<string, unknown> = { ...object };
  for (const field of ["data", "stringData"]) {
    const values = copy[field];
    if (isRecord(values)) {
      copy[field] = Object.fromEntries(Object.keys(values).map((k) => [k, REDACTED]));
    }
  }
  return copy;
}

/** The fields that differ between two versions of one object. */
export function fieldChanges(
  id: ObjectId,
  from: KubeObject,
  to: KubeObject,
  mode: CompareMode,
): FieldChange[] {
  const out: FieldChange[] = [];
  walk(from, to, "", mode, out);
  return isSecret(id) ? redactChanges(out) : out;
}

/**
 * Compares the current objects (the stored release manifest, or the live objects of the
 * inventory) with the target version's rendered objects. Lists come out sorted by identity, so
 * the same inputs always give the same impact.
 */
export function computeImpact(
  current: readonly RenderedObject[],
  target: readonly RenderedObject[],
  mode: CompareMode,
): Impact {
  const before = new Map(current.map((o) => [objectKey(o.id), o]));
  const after = new Map(target.map((o) => [objectKey(o.id), o]));
  const added: AddedObject[] = [];
  const changed: ObjectChange[] = [];
  const removed: ObjectId[] = [];
  let unchanged = 0;
  for (const [key, next] of after) {
    const prev = before.get(key);
    if (!prev) {
      added.push({ id: next.id, object: redactObject(next.id, next.object) });
      continue;
    }
    const changes = fieldChanges(next.id, prev.object, next.object, mode);
    if (changes.length === 0) unchanged++;
    else changed.push({ id: next.id, changes });
  }
  for (const [key, prev] of before) if (!after.has(key)) removed.push(prev.id);
  return {
    added: added.sort((a, b) => compareIds(a.id, b.id)),
    changed: changed.sort((a, b) => compareIds(a.id, b.id)),
    removed: removed.sort(compareIds),
    unchanged,
  };
}
