// Condition types and reasons of Cairn's kinds, and the Condition schema (metav1.Condition).
// Conditions are the truth; a phase is only a summary derived from them (docs/architecture.md).
import { z } from "zod";
import { Count, Timestamp, uniqueBy } from "./fields.ts";

export const ConditionType = {
  /** ManagedApp: the app's references resolve and its discovery summary is current. */
  Ready: "Ready",
  // Request steps, in the order the phase machine walks them (docs/architecture.md).
  Admitted: "Admitted",
  Planned: "Planned",
  /** Upgrade only: a person approved the plan, or the request needs no approval. */
  Approved: "Approved",
  Suspended: "Suspended",
  WorkloadsStopped: "WorkloadsStopped",
  /** Upgrade only. */
  SnapshotsReady: "SnapshotsReady",
  /** Upgrade only. */
  Committed: "Committed",
  /** Rollback only. */
  VolumesRestored: "VolumesRestored",
  /** Rollback only: the revert commit is pushed. */
  Reverted: "Reverted",
  Resumed: "Resumed",
  FluxApplied: "FluxApplied",
  WorkloadsStarted: "WorkloadsStarted",
  Healthy: "Healthy",
  /** True: finished as asked. False: finished otherwise; the reason says why. */
  Complete: "Complete",
  /** A step failed for good; compensation runs until Complete is set. */
  Aborting: "Aborting",
} as const;
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

export const ConditionReason = {
  /** The step did what it had to. */
  Succeeded: "Succeeded",
  /** The step has started and is not finished yet. */
  InProgress: "InProgress",
  /** Waiting for something outside Cairn's control, e.g. another request holding the app lock. */
  Waiting: "Waiting",
  /** Approve: the plan waits for a person (`kubectl cairn approve`). */
  AwaitingApproval: "AwaitingApproval",
  /** Approve: the plan planned again on approval differs from the one that was approved. */
  PlanChanged: "PlanChanged",
  /** The step had nothing to do (no PVCs to snapshot, workloads already at 0 …). */
  NotNeeded: "NotNeeded",
  /** The spec cannot be acted on; the message names the field. */
  InvalidSpec: "InvalidSpec",
  /** The API refused a status the request wrote (a value the CRD does not allow); the message names the field. */
  StatusRejected: "StatusRejected",
  /** The referenced ManagedApp does not exist. */
  AppNotFound: "AppNotFound",
  /** The referenced UpgradeRequest does not exist. */
  UpgradeNotFound: "UpgradeNotFound",
  /** Planning found problems; the message lists every one. */
  PlanFailed: "PlanFailed",
  /** A dry run planned everything and changed nothing. */
  DryRunSucceeded: "DryRunSucceeded",
  /** Someone asked to abort the request (annotation cairn.dev/abort); compensation ran. */
  Aborted: "Aborted",
  /** The step's deadline passed. */
  DeadlineExceeded: "DeadlineExceeded",
  /** The Git file holds neither the planned current value nor the target. */
  GitChanged: "GitChanged",
  /** The app is not healthy. */
  Unhealthy: "Unhealthy",
  /** A failure after the commit, without autoRollback: a human must ask for a rollback. */
  RollbackRequired: "RollbackRequired",
  /** A failure after the commit, with autoRollback: a RollbackRequest was created. */
  RollbackTriggered: "RollbackTriggered",
  /** A rollback failed after deleting a PVC: the app stays frozen until a human decides. */
  RestoreIncomplete: "RestoreIncomplete",
  /** A reference leaves the object's namespace and the controller does not allow that. */
  ReferenceDenied: "ReferenceDenied",
  /** A referenced object (Kustomization, HelmRelease) does not exist. */
  ReferenceNotFound: "ReferenceNotFound",
} as const;
export type ConditionReason = (typeof ConditionReason)[keyof typeof ConditionReason];

export const ConditionStatus = z.enum(["True", "False", "Unknown"]);
export type ConditionStatus = z.infer<typeof ConditionStatus>;

// The validation of metav1.Condition, as controller-gen renders it.
export const CONDITION_TYPE_PATTERN =
  "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$";
export const CONDITION_REASON_PATTERN = "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$";

export const Condition = z.object({
  type: z
    .string()
    .max(316)
    .regex(new RegExp(CONDITION_TYPE_PATTERN), { error: "must be a CamelCase condition type" }),
  status: ConditionStatus,
  reason: z
    .string()
    .min(1)
    .max(1024)
    .regex(new RegExp(CONDITION_REASON_PATTERN), { error: "must be a CamelCase reason" }),
  message: z.string().max(32768),
  lastTransitionTime: Timestamp,
  observedGeneration: Count.optional(),
});
export type Condition = z.infer<typeof Condition>;

/** A list of conditions; the CRDs make it a map keyed by type, so a type appears once. */
export const Conditions = z
  .array(Condition)
  .max(32)
  .superRefine(uniqueBy((condition) => condition.type, "condition type"));
export type Conditions = z.infer<typeof Conditions>;
