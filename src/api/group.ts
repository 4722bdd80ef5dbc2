// The API group, version and kind names of Cairn's custom resources (crds/cairn.dev_*.yaml).

export const GROUP = "cairn.dev";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;

/** The category every Cairn CRD belongs to: `kubectl get cairn` lists them all. */
export const CATEGORY = "cairn";

export const Kind = {
  ManagedApp: "ManagedApp",
  UpgradeRequest: "UpgradeRequest",
  RollbackRequest: "RollbackRequest",
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

/** Plural resource names, as they appear in URLs, RBAC rules and CRD names. */
export const Plural = {
  ManagedApp: "managedapps",
  UpgradeRequest: "upgraderequests",
  RollbackRequest: "rollbackrequests",
} as const satisfies Record<Kind, string>;

/** The name of a kind's CustomResourceDefinition, e.g. "managedapps.cairn.dev". */
export function crdName(kind: Kind): string {
  return `${Plural[kind]}.${GROUP}`;
}

/** Labels and annotations Cairn writes; other tools may select on them. */
export const Label = {
  /** On requests and snapshots: the ManagedApp (same namespace) they belong to. */
  ManagedApp: `${GROUP}/managed-app`,
  /** On snapshots and restored PVCs: the request that made them. */
  RequestUid: `${GROUP}/request-uid`,
  /** On snapshots: the request's name. */
  RequestName: `${GROUP}/request`,
  /** On snapshots: the PVC they were taken from. */
  Pvc: `${GROUP}/pvc`,
  /** On an UpgradeRequest Cairn created by itself (versionPolicy.autoUpdate): "true". */
  AutoUpdate: `${GROUP}/auto-update`,
} as const;

export const Annotation = {
  /** On a restored PVC: the VolumeSnapshot it was recreated from. */
  RestoredFrom: `${GROUP}/restored-from`,
  /**
   * On a Flux object Cairn suspended: the requests that hold its suspension (JSON, see
   * suspension-holders.ts). Shared by every request that needs it; the last one out resumes it.
   */
  SuspendedBy: `${GROUP}/suspended-by`,
  /**
   * On a request in flight: someone asked to abort it (`kubectl cairn abort`; the value says
   * who and when). The step at work fails with reason Aborted, Compensate undoes what a failure
   * there would undo, and the request stays, finished, in the app's history.
   */
  Abort: `${GROUP}/abort`,
  /**
   * On an UpgradeRequest that waits for approval: the user who approved its plan
   * (`kubectl cairn approve`). The shipped ValidatingAdmissionPolicy
   * (deploy/approval-policy.yaml) refuses a value other than the name of the user who sets it.
   */
  ApprovedBy: `${GROUP}/approved-by`,
} as const;

/** The finalizer on requests that are in flight: deleting one runs its compensation first. */
export const REQUEST_FINALIZER = `${GROUP}/request-cleanup`;
