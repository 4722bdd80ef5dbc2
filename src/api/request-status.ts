// The status shared by UpgradeRequest and RollbackRequest (docs/architecture.md): conditions,
// the derived phase, the current step and its deadline, and everything a crash must not lose
// (the plan, what Cairn suspended, the original replica counts, the snapshots, the commit).
// Status is written by the controller only, so its checks are light: lengths and closed sets,
// never a rule that could make a status write fail on a value the world legitimately holds.
import { z } from "zod";
import { Conditions } from "./conditions.ts";
import {
  CommitSha,
  Count,
  DNS_LABEL_MAX,
  DNS_SUBDOMAIN_MAX,
  Text,
  Timestamp,
  VersionValue,
} from "./fields.ts";

const Namespace = Text(DNS_LABEL_MAX);
const Name = Text(DNS_SUBDOMAIN_MAX);

export const FluxKind = z.enum(["Kustomization", "HelmRelease"]);
export type FluxKind = z.infer<typeof FluxKind>;

export const WorkloadKind = z.enum(["Deployment", "StatefulSet"]);
export type WorkloadKind = z.infer<typeof WorkloadKind>;

export const AccessMode = z.enum([
  "ReadWriteOnce",
  "ReadOnlyMany",
  "ReadWriteMany",
  "ReadWriteOncePod",
]);
export type AccessMode = z.infer<typeof AccessMode>;

export const VolumeMode = z.enum(["Filesystem", "Block"]);
export type VolumeMode = z.infer<typeof VolumeMode>;

/** A Flux object, in plan order (suspend order) or as recorded when Cairn suspended it. */
export const FluxObjectRef = z.object({ kind: FluxKind, namespace: Namespace, name: Name });
export type FluxObjectRef = z.infer<typeof FluxObjectRef>;

/** One image an image bump changes. */
export const PlannedImage = z.object({ name: Text(512), from: Text(128), to: Text(128) });
export type PlannedImage = z.infer<typeof PlannedImage>;

/** The Git side of a plan: which file, which value, from what to what, on which base. */
export const PlanGit = z.object({
  branch: Text(255),
  path: Text(1024),
  versionPath: Text(512),
  /** The value at the version path when planned, and the value the commit writes. */
  from: VersionValue,
  to: VersionValue,
  baseCommit: CommitSha.optional(),
  /** The one-line diff the commit makes. */
  diff: Text(4096).optional(),
  /** The remote, without credentials. */
  url: Text(2048).optional(),
  /**
   * The value is the tag of the OCIRepository the HelmRelease's spec.chartRef names: the chart
   * version helm-controller releases, as spec.chart.spec.version is for a chart from a
   * HelmRepository.
   */
  ociChartTag: z.boolean().optional(),
  /** An image bump: every image the commit changes (from/to above are the first one's tags). */
  images: z.array(PlannedImage).max(32).optional(),
  /** A rollback: the upgrade's commit that the revert undoes. */
  revertOf: CommitSha.optional(),
});
export type PlanGit = z.infer<typeof PlanGit>;

/**
 * A PVC as planned: everything needed to recreate it from a snapshot under the same name
 * (the restore needs it after the original is gone), recorded before anything is changed.
 */
export const PlannedVolume = z.object({
  namespace: Namespace,
  name: Name,
  accessModes: z.array(AccessMode).max(4).optional(),
  /** May be "" (explicitly no class), which differs from absent (the default class). */
  storageClassName: Text(DNS_SUBDOMAIN_MAX).optional(),
  volumeMode: VolumeMode.optional(),
  /** The original storage request, a quantity such as "10Gi". */
  size: Text(64).optional(),
  /** The VolumeSnapshot name, in the PVC's namespace. */
  snapshot: Name.optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type PlannedVolume = z.infer<typeof PlannedVolume>;

export const PlannedWorkload = z.object({
  kind: WorkloadKind,
  namespace: Namespace,
  name: Name,
  /** spec.replicas at plan time. */
  replicas: Count,
});
export type PlannedWorkload = z.infer<typeof PlannedWorkload>;

/** The GitRepository Flux reads the app from; AwaitFlux waits for its artifact. */
export const SourceRef = z.object({ namespace: Namespace, name: Name });
export type SourceRef = z.infer<typeof SourceRef>;

export const ImpactChange = z.enum(["Added", "Changed", "Removed"]);
export type ImpactChange = z.infer<typeof ImpactChange>;

/** One object the target version adds, changes or removes. */
export const ImpactObject = z.object({
  change: ImpactChange,
  /** "" for the core group. */
  group: Text(DNS_SUBDOMAIN_MAX),
  kind: Text(63),
  /** "" for a cluster-scoped object. */
  namespace: Text(DNS_LABEL_MAX),
  name: Name,
});
export type ImpactObject = z.infer<typeof ImpactObject>;

export const IMPACT_OBJECTS_MAX = 64;

/**
 * The impact preview, bounded: counts, the first objects (dangers first), and the ConfigMap
 * holding the full per-object diff.
 */
export const PlanImpact = z.object({
  added: Count,
  changed: Count,
  removed: Count,
  unchanged: Count,
  objects: z.array(ImpactObject).max(IMPACT_OBJECTS_MAX),
  /** More objects changed than objects lists. */
  truncated: z.boolean().optional(),
  /** In the request's namespace, owned by the request: the gzipped JSON of every change. */
  detailConfigMap: Name.optional(),
});
export type PlanImpact = z.infer<typeof PlanImpact>;

export const Plan = z.object({
  git: PlanGit,
  flux: z.array(FluxObjectRef).max(16),
  volumes: z.array(PlannedVolume).max(256),
  workloads: z.array(PlannedWorkload).max(128),
  source: SourceRef.optional(),
  /** The VolumeSnapshotClass of the snapshots ("" or absent: the driver's default class). */
  volumeSnapshotClassName: Text(DNS_SUBDOMAIN_MAX).optional(),
  /** A rollback without data: the upgrade skipped snapshots, only Git is reverted. */
  gitOnly: z.boolean().optional(),
  /** An upgrade of a HelmRelease app with a rendering helper: what the new version does. */
  impact: PlanImpact.optional(),
  /** The app's volumeSnapshots.runWhileUploading when planned: the workloads run while the
   *  snapshots upload. */
  runWhileUploading: z.boolean().optional(),
});
export type Plan = z.infer<typeof Plan>;

/** A workload's spec.replicas before Cairn scaled it to 0; never overwritten once recorded. */
export const RecordedReplicas = z.object({
  kind: WorkloadKind,
  namespace: Namespace,
  name: Name,
  original: Count,
});
export type RecordedReplicas = z.infer<typeof RecordedReplicas>;

export const SnapshotRecord = z.object({
  namespace: Namespace,
  name: Name,
  pvcName: Name,
});
export type SnapshotRecord = z.infer<typeof SnapshotRecord>;

export const CommitRecord = z.object({
  sha: CommitSha,
  /** True when the commit already existed (ours from an earlier attempt, or someone else's). */
  adopted: z.boolean(),
});
export type CommitRecord = z.infer<typeof CommitRecord>;

/** runWhileUploading: when the workloads were started again after the cut (written before that
 *  scale), and when they were found stopped again once every snapshot was ready. */
export const UploadWindow = z.object({
  openedAt: Timestamp,
  closedAt: Timestamp.optional(),
});
export type UploadWindow = z.infer<typeof UploadWindow>;

/** Upgrade: who approved the plan (the cairn.dev/approved-by annotation) and when Cairn saw it. */
export const ApprovalRecord = z.object({
  approvedBy: Text(253),
  approvedAt: Timestamp,
});
export type ApprovalRecord = z.infer<typeof ApprovalRecord>;

export const StepRecord = z.object({
  name: Text(64),
  startedAt: Timestamp,
  /** Absolute; written before the step's first run, so a crash does not restart it. */
  deadline: Timestamp.optional(),
});
export type StepRecord = z.infer<typeof StepRecord>;

/** One preflight check of a plan (dry runs list every check, passed or not). */
export const PreflightCheck = z.object({
  name: Text(64),
  passed: z.boolean(),
  message: Text(1024),
});
export type PreflightCheck = z.infer<typeof PreflightCheck>;

/** A finished step, for durations and downtime in displays. */
export const StepHistoryEntry = z.object({
  name: Text(64),
  startedAt: Timestamp,
  completedAt: Timestamp,
  /** The step's condition reason when it ended (Succeeded, NotNeeded, DeadlineExceeded …). */
  reason: Text(64),
});
export type StepHistoryEntry = z.infer<typeof StepHistoryEntry>;

export const RequestStatus = z.object({
  conditions: Conditions.optional(),
  /** Derived from the conditions on every write, for display; never read back. */
  phase: Text(64).optional(),
  observedGeneration: Count.optional(),
  startedAt: Timestamp.optional(),
  completedAt: Timestamp.optional(),
  step: StepRecord.optional(),
  plan: Plan.optional(),
  /** Only what Cairn flipped to suspended, in the order it did. */
  suspended: z.array(FluxObjectRef).max(16).optional(),
  replicas: z.array(RecordedReplicas).max(128).optional(),
  snapshots: z.array(SnapshotRecord).max(256).optional(),
  uploadWindow: UploadWindow.optional(),
  approval: ApprovalRecord.optional(),
  commit: CommitRecord.optional(),
  preflight: z.array(PreflightCheck).max(32).optional(),
  history: z.array(StepHistoryEntry).max(32).optional(),
  /** Upgrade: the RollbackRequest Cairn created after a failure past the commit. */
  rollbackRef: z.object({ name: Name }).optional(),
});
export type RequestStatus = z.infer<typeof RequestStatus>;
