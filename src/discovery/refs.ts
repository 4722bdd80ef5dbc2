// References to the objects an app consists of, as discovery hands them on. Every reference carries
// its namespace ("" only for cluster-scoped objects), so nothing downstream guesses it.

export interface AppObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  /** "" for a cluster-scoped object. */
  readonly namespace: string;
  readonly name: string;
}

export type WorkloadKind = "Deployment" | "StatefulSet";

export interface WorkloadRef {
  readonly kind: WorkloadKind;
  readonly namespace: string;
  readonly name: string;
}

/** The API group of an apiVersion: "apps" for "apps/v1", "" (core) for "v1". */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}

/** The Deployments and StatefulSets (group apps) among an app's objects, deduplicated. */
export function workloadRefs(refs: readonly AppObjectRef[]): WorkloadRef[] {
  const seen = new Set<string>();
  const out: WorkloadRef[] = [];
  for (const ref of refs) {
    if (groupOf(ref.apiVersion) !== "apps") continue;
    if (ref.kind !== "Deployment" && ref.kind !== "StatefulSet") continue;
    const key = workloadKey(ref.kind, ref.namespace, ref.name);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ kind: ref.kind, namespace: ref.namespace, name: ref.name });
  }
  return out;
}

export function workloadKey(kind: string, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}
