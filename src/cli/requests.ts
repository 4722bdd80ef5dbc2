// What the plugin reads from requests, as pure functions over the parsed objects: whether one is
// finished and how, which app it belongs to, and the order people expect to see them in.
import { ConditionType } from "../api/conditions.ts";
import { Kind, Label } from "../api/group.ts";
import type { RequestStatus } from "../api/request-status.ts";
import type { RollbackRequest } from "../api/rollbackrequest.ts";
import type { UpgradeRequest } from "../api/upgraderequest.ts";

export type AnyRequest = UpgradeRequest | RollbackRequest;

export type Outcome =
  | { readonly state: "pending" }
  | { readonly state: "running"; readonly phase: string | undefined }
  | {
      readonly state: "succeeded" | "failed";
      readonly reason: string;
      readonly message: string;
    };

/** A request is finished when it has a Complete condition; True is success, False failure. */
export function outcomeOf(status: RequestStatus | undefined): Outcome {
  const complete = status?.conditions?.find((c) => c.type === ConditionType.Complete);
  if (complete && complete.status !== "Unknown") {
    return {
      state: complete.status === "True" ? "succeeded" : "failed",
      reason: complete.reason,
      message: complete.message,
    };
  }
  if (status?.startedAt === undefined && status?.step === undefined && !status?.phase) {
    return { state: "pending" };
  }
  return { state: "running", phase: status.phase };
}

export function isFinished(request: AnyRequest): boolean {
  const state = outcomeOf(request.status).state;
  return state === "succeeded" || state === "failed";
}

/** An upgrade that planned and waits for a person to approve its plan (Approved=False). */
export function awaitingApproval(request: AnyRequest): boolean {
  if (request.kind !== Kind.UpgradeRequest || isFinished(request)) return false;
  const approved = request.status?.conditions?.find((c) => c.type === ConditionType.Approved);
  return approved?.status === "False" && approved.reason === "AwaitingApproval";
}

/** Aborting=True: a step failed for good and the controller is undoing what it did. */
export function abortingMessage(status: RequestStatus | undefined): string | undefined {
  const aborting = status?.conditions?.find((c) => c.type === ConditionType.Aborting);
  return aborting?.status === "True" ? aborting.message || aborting.reason : undefined;
}

/** "upgraderequest", as kubectl names resources in messages. */
export function resourceName(request: AnyRequest): string {
  return request.kind.toLowerCase();
}

/** "upgrade", "rollback", with what sets the request apart. */
export function requestLabel(request: AnyRequest): string {
  if (request.kind === Kind.UpgradeRequest)
    return request.spec.dryRun ? "upgrade/dry-run" : "upgrade";
  if (request.spec.dryRun) return "rollback/dry-run";
  return request.spec.autoTriggered ? "rollback/auto" : "rollback";
}

/**
 * The app a request belongs to: an upgrade names it, a rollback carries the label (the
 * controller sets it on admission, the plugin at creation) or is found through its upgrade.
 */
export function appOf(
  request: AnyRequest,
  upgrades: ReadonlyMap<string, UpgradeRequest>,
): string | undefined {
  if (request.kind === Kind.UpgradeRequest) return request.spec.managedAppRef.name;
  return (
    request.metadata.labels?.[Label.ManagedApp] ??
    upgrades.get(request.spec.upgradeRequestRef.name)?.spec.managedAppRef.name
  );
}

/** The requests of one app, newest first. */
export function requestsOfApp(
  app: string,
  upgrades: readonly UpgradeRequest[],
  rollbacks: readonly RollbackRequest[],
): AnyRequest[] {
  const byName = new Map(upgrades.map((u) => [u.metadata.name, u]));
  return newestFirst([...upgrades, ...rollbacks].filter((r) => appOf(r, byName) === app));
}

/**
 * Newest first by when a request started (creation for one that has not): creation times have
 * one-second resolution, and a request created later may be admitted later still.
 */
export function newestFirst<T extends AnyRequest>(requests: readonly T[]): T[] {
  const key = (r: AnyRequest) => r.status?.startedAt ?? r.metadata.creationTimestamp ?? "";
  return [...requests].sort(
    (a, b) =>
      Date.parse(key(b)) - Date.parse(key(a)) ||
      (b.metadata.creationTimestamp ?? "").localeCompare(a.metadata.creationTimestamp ?? "") ||
      b.metadata.name.localeCompare(a.metadata.name),
  );
}
