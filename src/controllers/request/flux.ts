// Talking to Flux: suspend and resume by merge patch with field manager
// cairn, the requestedAt / lastHandledReconcileAt handshake, and the pure checks that say whether
// Flux has applied a commit.
import type { FluxObjectRef } from "../../api/index.ts";
import { revisionSha } from "../../git/revision.ts";
import {
  classifyHelmRelease,
  classifyKustomization,
  HelmRelease,
  Kustomization,
  type FluxState,
} from "../../health/flux.ts";
import type { KubeApi, KubeObject, ObjectRef } from "../../kube/client.ts";

export const FLUX_API = {
  Kustomization: "kustomize.toolkit.fluxcd.io/v1",
  HelmRelease: "helm.toolkit.fluxcd.io/v2",
  GitRepository: "source.toolkit.fluxcd.io/v1",
} as const;

export const REQUESTED_AT = "reconcile.fluxcd.io/requestedAt";

export function fluxRef(o: {
  kind: keyof typeof FLUX_API;
  namespace: string;
  name: string;
}): ObjectRef {
  return { apiVersion: FLUX_API[o.kind], kind: o.kind, namespace: o.namespace, name: o.name };
}

export function isSuspended(obj: KubeObject | undefined): boolean {
  return (obj?.["spec"] as { suspend?: unknown } | undefined)?.suspend === true;
}

export async function setSuspend(
  client: KubeApi,
  ref: FluxObjectRef,
  suspend: boolean,
): Promise<KubeObject> {
  return client.mergePatch(fluxRef(ref), { spec: { suspend } });
}

/** Asks Flux to reconcile now; the same token twice is a no-op for Flux. */
export async function requestReconcile(
  client: KubeApi,
  ref: { kind: keyof typeof FLUX_API; namespace: string; name: string },
  token: string,
): Promise<void> {
  await client.mergePatch(fluxRef(ref), { metadata: { annotations: { [REQUESTED_AT]: token } } });
}

interface FluxCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
}

function conditionsOf(obj: KubeObject | undefined): FluxCondition[] {
  const list = (obj?.["status"] as { conditions?: unknown } | undefined)?.conditions;
  return Array.isArray(list) ? (list as FluxCondition[]) : [];
}

function statusField(obj: KubeObject | undefined, field: string): unknown {
  return (obj?.["status"] as Record<string, unknown> | undefined)?.[field];
}

export function artifactSha(gitRepository: KubeObject | undefined): string | undefined {
  const artifact = statusField(gitRepository, "artifact") as { revision?: unknown } | undefined;
  return revisionSha(artifact?.revision);
}

export function readyNow(obj: KubeObject | undefined): {
  ready: boolean;
  reason: string;
  message: string;
} {
  if (!obj) return { ready: false, reason: "NotFound", message: "not found" };
  const generation = obj.metadata.generation;
  const observed = statusField(obj, "observedGeneration");
  const ready = conditionsOf(obj).find((c) => c.type === "Ready");
  if (generation !== undefined && observed !== generation)
    return {
      ready: false,
      reason: "Progressing",
      message: `generation ${String(generation)} not observed yet`,
    };
  if (!ready) return { ready: false, reason: "Progressing", message: "no Ready condition yet" };
  return {
    ready: ready.status === "True",
    reason: ready.reason ?? "",
    message: ready.message ?? "",
  };
}

/**
 * Pure: a Kustomization or HelmRelease in a routine reconcile of what it already applied (Ready
 * Unknown while it works, at an observed generation, on the same revision, chart and values):
 * health.ts's classification, so that Plan reads Flux exactly as the app's health does. Such a
 * reconcile is no change in flight, so Plan treats it as Ready instead of waiting it out.
 */
export function routineReconcile(kind: string, obj: KubeObject): FluxState | undefined {
  let state: FluxState | undefined;
  if (kind === "Kustomization") {
    const k = Kustomization.safeParse(obj);
    state = k.success ? classifyKustomization(k.data) : undefined;
  } else if (kind === "HelmRelease") {
    const hr = HelmRelease.safeParse(obj);
    state = hr.success ? classifyHelmRelease(hr.data) : undefined;
  }
  return state?.phase === "settled" && state.reason === "ReconcilingUnchanged" ? state : undefined;
}

/**
 * Pure: a Flux object that is not Ready only because a reconcile is in flight (a generation not
 * observed yet, no Ready condition yet, or Ready=Unknown while it works): a state to wait out, not
 * a failure. Ready=False (a failed apply, a failed release) is a failure.
 */
export function fluxSettling(obj: KubeObject | undefined): boolean {
  if (!obj) return false;
  const now = readyNow(obj);
  if (now.ready) return false;
  const ready = conditionsOf(obj).find((c) => c.type === "Ready");
  return now.reason === "Progressing" && (ready === undefined || ready.status !== "False");
}

/** The Kustomization's view of the commit: applied, failed on it, or not there yet. */
export type KustomizationApply =
  | { readonly state: "applied"; readonly revision: string }
  | { readonly state: "failed"; readonly message: string }
  | { readonly state: "pending"; readonly message: string };

/**
 * Pure. `contains(sha)` answers whether a revision's commit contains ours (the Git layer knows
 * ancestry); the Kustomization may already have moved past our commit to a later one.
 */
export function kustomizationApply(
  k: KubeObject | undefined,
  contains: (revisionSha: string) => boolean,
): KustomizationApply {
  if (!k) return { state: "pending", message: "Kustomization not found" };
  const applied = revisionSha(statusField(k, "lastAppliedRevision"));
  const attempted = revisionSha(statusField(k, "lastAttemptedRevision"));
  const ready = readyNow(k);
  if (applied !== undefined && contains(applied) && ready.ready)
    return { state: "applied", revision: applied };
  const readyCondition = conditionsOf(k).find((c) => c.type === "Ready");
  if (
    attempted !== undefined &&
    contains(attempted) &&
    readyCondition?.status === "False" &&
    readyCondition.reason !== "Progressing" &&
    readyCondition.reason !== "DependencyNotReady" &&
    (readyCondition.observedGeneration === undefined ||
      readyCondition.observedGeneration === k.metadata.generation)
  ) {
    return {
      state: "failed",
      message: `${readyCondition.reason ?? "Failed"}: ${readyCondition.message ?? ""}`,
    };
  }
  return {
    state: "pending",
    message: `Kustomization has applied ${applied ?? "nothing"} (${ready.reason}${ready.message ? `: ${ready.message}` : ""})`,
  };
}

/** Which Kustomization applies an object: Flux labels what it applies with its own name. */
export function appliedBy(obj: KubeObject): { namespace: string; name: string } | undefined {
  const labels = obj.metadata.labels ?? {};
  const name = labels["kustomize.toolkit.fluxcd.io/name"];
  const namespace = labels["kustomize.toolkit.fluxcd.io/namespace"];
  return name && namespace ? { namespace, name } : undefined;
}

/** Whether kustomize-controller's apply owns the object's spec.suspend (managedFields). */
export function applierOwnsSuspend(obj: KubeObject): boolean {
  const entries = obj.metadata["managedFields"];
  if (!Array.isArray(entries)) return false;
  return entries.some(
    (e: { manager?: string; fieldsV1?: { "f:spec"?: Record<string, unknown> } }) =>
      e.manager === "kustomize-controller" && e.fieldsV1?.["f:spec"]?.["f:suspend"] !== undefined,
  );
}
