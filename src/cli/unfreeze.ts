// The decisions of `kubectl cairn unfreeze`, as pure functions: what to resume and in which
// order, and when resuming is unsafe. A failed request leaves Flux suspended on purpose; resuming
// while a request runs would fight the controller, and resuming after a restore that deleted a
// PVC and never recreated it would let Flux create that PVC again, empty.
import { ConditionReason } from "../api/conditions.ts";
import { describeHolder, type SuspensionHolder } from "../api/suspension-holders.ts";
import { Kind } from "../api/group.ts";
import type { ManagedApp } from "../api/managedapp.ts";
import type { PlannedVolume } from "../api/request-status.ts";
import type { RollbackRequest } from "../api/rollbackrequest.ts";
import { isFinished, newestFirst, outcomeOf, type AnyRequest } from "./requests.ts";

export const FLUX_API = {
  HelmRelease: "helm.toolkit.fluxcd.io/v2",
  Kustomization: "kustomize.toolkit.fluxcd.io/v1",
} as const;

export interface FluxTarget {
  readonly apiVersion: string;
  readonly kind: keyof typeof FLUX_API;
  readonly namespace: string;
  readonly name: string;
}

/**
 * The HelmRelease first, then what the app suspends (suspendRef, else its Kustomization): the
 * inner object before the one that applies it, so the Kustomization never applies Git's version
 * of the HelmRelease over a release that is still frozen.
 */
export function resumeOrder(app: ManagedApp): FluxTarget[] {
  const own = app.metadata.namespace ?? "";
  const targets: FluxTarget[] = [];
  const add = (kind: FluxTarget["kind"], ref: { name: string; namespace?: string | undefined }) => {
    const target = {
      apiVersion: FLUX_API[kind],
      kind,
      namespace: ref.namespace ?? own,
      name: ref.name,
    };
    const same = (t: FluxTarget) =>
      t.kind === target.kind && t.namespace === target.namespace && t.name === target.name;
    if (!targets.some(same)) targets.push(target);
  };
  const suspend = app.spec.suspendRef ?? {
    kind: "Kustomization" as const,
    ...app.spec.kustomizationRef,
  };
  if (app.spec.helmReleaseRef) add("HelmRelease", app.spec.helmReleaseRef);
  if (suspend.kind === "HelmRelease") add("HelmRelease", suspend);
  else add("Kustomization", suspend);
  return targets.sort((a, b) => (a.kind === b.kind ? 0 : a.kind === "HelmRelease" ? -1 : 1));
}

export function describeTarget(target: FluxTarget): string {
  return `${target.kind} ${target.namespace}/${target.name}`;
}

/** The oldest unfinished request of the app: it holds the app, or waits for whoever does. */
export function runningRequest(requests: readonly AnyRequest[]): AnyRequest | undefined {
  return newestFirst(requests)
    .reverse()
    .find((r) => !isFinished(r));
}

/** The app's latest real rollback, when it ended RestoreIncomplete: the volumes to check. */
export function incompleteRestore(
  requests: readonly AnyRequest[],
): { rollback: RollbackRequest; volumes: readonly PlannedVolume[] } | undefined {
  const latest = newestFirst(requests).find(
    (r): r is RollbackRequest => r.kind === Kind.RollbackRequest && !r.spec.dryRun,
  );
  if (!latest) return undefined;
  const outcome = outcomeOf(latest.status);
  if (outcome.state !== "failed" || outcome.reason !== ConditionReason.RestoreIncomplete) {
    return undefined;
  }
  return { rollback: latest, volumes: latest.status?.plan?.volumes ?? [] };
}

export function runningMessage(app: string, request: AnyRequest): string {
  const phase = request.status?.phase ?? "Pending";
  return (
    `refusing to unfreeze "${app}": ${request.kind.toLowerCase()} "${request.metadata.name}" is ` +
    `still running (${phase}); Cairn resumes Flux itself when it finishes`
  );
}

export function missingVolumesMessage(
  app: string,
  rollback: string,
  missing: readonly { namespace: string; name: string }[],
): string {
  const names = missing.map((v) => `${v.namespace}/${v.name}`).join(", ");
  const them = missing.length === 1 ? "it" : "them";
  return (
    `refusing to unfreeze "${app}": rollbackrequest "${rollback}" ended RestoreIncomplete and ` +
    `PVC${missing.length === 1 ? "" : "s"} ${names} ${missing.length === 1 ? "is" : "are"} missing; ` +
    `resuming Flux now would recreate ${them} empty. Restore the data first, or pass --force to resume anyway`
  );
}

/**
 * A Flux object shared with other apps (a parent Kustomization) is held by every request that
 * suspended it; resuming it while one of them runs would undo that request's freeze.
 */
export function heldMessage(
  app: string,
  target: FluxTarget,
  live: readonly SuspensionHolder[],
): string {
  return (
    `refusing to unfreeze "${app}": ${describeTarget(target)} is held suspended by ` +
    `${live.map(describeHolder).join(", ")}, still running; Cairn resumes it when the last holder finishes`
  );
}
