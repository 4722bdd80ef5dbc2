// ManagedApp: an app Cairn may upgrade. Spec field names follow FluxUp's, so its users migrate by
// changing apiVersion; `git` and `timeouts` are Cairn's own. Mirrors crds/cairn.dev_managedapps.yaml.
import { z } from "zod";
import { Conditions } from "./conditions.ts";
import {
  DnsLabel,
  DnsSubdomain,
  CheckInterval,
  Duration,
  GIT_PATH_MAX,
  GIT_PATH_MESSAGE,
  GitBranch,
  GitUrl,
  ImageName,
  DOT_SEGMENT_PATTERN,
  PLAIN_PATH_PATTERN,
  Count,
  Text,
  Timestamp,
  uniqueBy,
  VERSION_PATH_MAX,
  WindowDuration,
  VersionValue,
} from "./fields.ts";
import { API_VERSION, Kind } from "./group.ts";
import { ObjectMeta } from "./meta.ts";
import { FluxObjectRef, WorkloadKind } from "./request-status.ts";
import { constraintProblem } from "./version-constraint.ts";

const plainPath = new RegExp(PLAIN_PATH_PATTERN);
const dotSegment = new RegExp(DOT_SEGMENT_PATTERN);

/** A file's path inside the Git repository; never absolute, never climbing out with "..". */
export const GitPath = z
  .string()
  .min(1)
  .max(GIT_PATH_MAX)
  // An empty path is min(1)'s error alone.
  .refine((p) => p === "" || (plainPath.test(p) && !dotSegment.test(p)), {
    error: GIT_PATH_MESSAGE,
  });

/** A namespaced reference; the namespace defaults to the ManagedApp's. */
export const NamespacedRef = z.object({
  name: DnsSubdomain,
  namespace: DnsLabel.optional(),
});
export type NamespacedRef = z.infer<typeof NamespacedRef>;

export const SuspendRef = z.object({
  /** What to suspend during upgrades and rollbacks instead of kustomizationRef. */
  kind: z.enum(["Kustomization", "HelmRelease"]).default("Kustomization"),
  name: DnsSubdomain,
  namespace: DnsLabel.optional(),
});
export type SuspendRef = z.infer<typeof SuspendRef>;

/** A PVC by name; the namespace defaults to the ManagedApp's. Used by pvcs and excludePVCs. */
export const PvcRef = NamespacedRef;
export type PvcRef = z.infer<typeof PvcRef>;

export const RetentionPolicy = z.object({
  /** Snapshots kept per PVC after a successful upgrade; 0 keeps all. */
  maxCount: z.number().int().min(0).default(3),
});
export type RetentionPolicy = z.infer<typeof RetentionPolicy>;

export const VolumeSnapshots = z.object({
  enabled: z.boolean().default(false),
  volumeSnapshotClassName: DnsSubdomain.optional(),
  /** PVCs to snapshot; when set, they replace auto-discovery (excludePVCs still applies). */
  pvcs: z.array(PvcRef).max(64).optional(),
  /** Discovered PVCs not to snapshot. */
  excludePVCs: z.array(PvcRef).max(64).optional(),
  retentionPolicy: RetentionPolicy.prefault({}),
  /**
   * Bring the workloads back at the old version as soon as every snapshot is cut, while the
   * snapshots upload, and stop them again only for the commit and Flux's apply. A rollback
   * restores the data as of the cut: what the app wrote while it ran during the upload is lost.
   */
  runWhileUploading: z.boolean().default(false),
});
export type VolumeSnapshots = z.infer<typeof VolumeSnapshots>;

/** Finished requests kept per app, dry runs and real ones counted apart; older ones are deleted. */
export const RequestHistoryLimits = z.object({
  /** Finished real requests (upgrades and rollbacks) kept per app. */
  maxCount: z.number().int().min(1).max(1000).default(10),
  /** Finished dry runs (plans) kept per app. */
  maxDryRunCount: z.number().int().min(1).max(1000).default(3),
});
export type RequestHistoryLimits = z.infer<typeof RequestHistoryLimits>;

/** A semver range an available update must satisfy; checked by the `semver` package. */
export const VersionConstraint = z
  .string()
  .min(1)
  .max(256)
  .superRefine((range, ctx) => {
    const problem = constraintProblem(range);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

/** How far an automatic upgrade may go from the running version. */
export const AutoUpdateLevel = z.enum(["none", "patch", "minor", "major"]);
export type AutoUpdateLevel = z.infer<typeof AutoUpdateLevel>;

export const Weekday = z.enum(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]);
export type Weekday = z.infer<typeof Weekday>;

export const WINDOW_START_PATTERN = "^([01][0-9]|2[0-3]):[0-5][0-9]$";

/** An IANA time zone name the runtime knows ("UTC", "Europe/Berlin"). */
export const TimeZone = z
  .string()
  .min(1)
  .max(64)
  .refine(
    (zone) => {
      try {
        new Intl.DateTimeFormat("en-US", { timeZone: zone });
        return true;
      } catch {
        return false;
      }
    },
    { error: "must be an IANA time zone such as UTC or Europe/Berlin" },
  );

/** When automatic upgrades may start: on these days, from start, for duration, in timeZone. */
export const MaintenanceWindow = z.object({
  days: z
    .array(Weekday)
    .min(1)
    .max(7)
    .superRefine(uniqueBy((day) => day, "day")),
  /** The local time the window opens, "HH:MM" (24-hour clock). */
  start: z.string().regex(new RegExp(WINDOW_START_PATTERN), { error: "must be HH:MM" }),
  duration: WindowDuration,
  timeZone: TimeZone.default("UTC"),
});
export type MaintenanceWindow = z.infer<typeof MaintenanceWindow>;

/** The image whose tags an app's versions are, and how to reach its registry. */
export const VersionImage = z.object({
  name: ImageName,
  /** Registry credentials in the app's namespace (dockerconfigjson, or username/password). */
  secretRef: z.object({ name: DnsSubdomain }).optional(),
  /** Plain HTTP to the registry. */
  insecure: z.boolean().default(false),
  /** A Flux ImagePolicy in the app's namespace whose status.latestRef is the candidate tag. */
  policyRef: z.object({ name: DnsSubdomain }).optional(),
});
export type VersionImage = z.infer<typeof VersionImage>;

export const VersionPolicy = z.object({
  /** Where the version sits in the file at gitPath, e.g. "spec.chart.spec.version". */
  versionPath: z.string().min(1).max(VERSION_PATH_MAX).optional(),
  /** Only versions in this range are offered as status.availableUpdate. */
  constraint: VersionConstraint.optional(),
  /** Offer pre-release versions (1.2.0-rc.1) as status.availableUpdate too. */
  prereleases: z.boolean().default(false),
  /**
   * How often the tags of an OCI HelmRepository or of spec.chartRef's OCIRepository, or of
   * `image`, are listed. An HTTP HelmRepository's index is read again whenever
   * source-controller fetches a new one, so this does not apply to it.
   */
  checkInterval: CheckInterval.default("1h"),
  /** An app versioned by an image tag: the image whose tags are its versions. */
  image: VersionImage.optional(),
  /**
   * Upgrade to status.availableUpdate's kind of version by itself: none (default), patch (same
   * major.minor), minor (same major) or major (any newer version the policy offers).
   */
  autoUpdate: AutoUpdateLevel.default("none"),
  /** Automatic upgrades start only inside one of these windows; none: at any time. */
  maintenanceWindows: z.array(MaintenanceWindow).max(16).optional(),
});
export type VersionPolicy = z.infer<typeof VersionPolicy>;

export const Approval = z.enum(["Automatic", "Manual"]);
export type Approval = z.infer<typeof Approval>;

export const HealthCheck = z.object({
  timeout: Duration.default("5m"),
});
export type HealthCheck = z.infer<typeof HealthCheck>;

/** A write credential and where to push; absent fields come from the Kustomization's source. */
export const GitSettings = z.object({
  url: GitUrl.optional(),
  branch: GitBranch.optional(),
  secretRef: z.object({ name: DnsSubdomain }).optional(),
});
export type GitSettings = z.infer<typeof GitSettings>;

/** Per-step timeouts; absent ones take the controller's defaults. */
export const Timeouts = z.object({
  suspend: Duration.optional(),
  scaleDown: Duration.optional(),
  snapshot: Duration.optional(),
  commit: Duration.optional(),
  fluxApply: Duration.optional(),
  scaleUp: Duration.optional(),
  /** Takes precedence over healthCheck.timeout when set. */
  health: Duration.optional(),
  volumeRestore: Duration.optional(),
  /** How long an upgrade waits for approval (spec.approval: Manual) before it fails. */
  approval: Duration.optional(),
});
export type Timeouts = z.infer<typeof Timeouts>;

export const IMAGE_VERSIONING_RULE =
  "!has(self.helmReleaseRef) || !has(self.versionPolicy) || !has(self.versionPolicy.image)";
export const IMAGE_VERSIONING_MESSAGE =
  "spec.versionPolicy.image is for an app whose version is an image tag; an app with spec.helmReleaseRef is versioned by its chart";

export const ManagedAppSpec = z
  .object({
    gitPath: GitPath,
    kustomizationRef: NamespacedRef,
    suspendRef: SuspendRef.optional(),
    helmReleaseRef: NamespacedRef.optional(),
    volumeSnapshots: VolumeSnapshots.prefault({}),
    versionPolicy: VersionPolicy.prefault({}),
    healthCheck: HealthCheck.prefault({}),
    requestHistory: RequestHistoryLimits.prefault({}),
    autoRollback: z.boolean().default(false),
    /**
     * Manual: every upgrade plans, then waits with no side effect until a person approves the plan
     * (`kubectl cairn approve`); dry runs never wait.
     */
    approval: Approval.default("Automatic"),
    git: GitSettings.optional(),
    timeouts: Timeouts.optional(),
  })
  .refine((spec) => spec.helmReleaseRef === undefined || spec.versionPolicy.image === undefined, {
    error: IMAGE_VERSIONING_MESSAGE,
  });
export type ManagedAppSpec = z.infer<typeof ManagedAppSpec>;

export const UpgradeOutcome = z.enum(["Succeeded", "Failed", "RolledBack"]);
export type UpgradeOutcome = z.infer<typeof UpgradeOutcome>;

export const LastUpgrade = z.object({
  /** The UpgradeRequest's name (same namespace). */
  name: DnsLabel,
  version: VersionValue.optional(),
  outcome: UpgradeOutcome,
  completedAt: Timestamp.optional(),
});
export type LastUpgrade = z.infer<typeof LastUpgrade>;

export const DiscoveryVia = z.enum(["Inventory", "HelmReleaseSecrets"]);
export type DiscoveryVia = z.infer<typeof DiscoveryVia>;

/** What discovery found for the app, as a preview of what an upgrade would touch. */
export const DiscoverySummary = z.object({
  pvcs: z
    .array(z.object({ namespace: Text(63), name: Text(253) }))
    .max(256)
    .optional(),
  workloads: z
    .array(
      z.object({
        kind: WorkloadKind,
        namespace: Text(63),
        name: Text(253),
        /** Why it is listed: in the source's objects, or mounting one of the PVCs from outside. */
        reason: Text(512).optional(),
      }),
    )
    .max(128)
    .optional(),
  /** The Flux object whose inventory (or rendered manifests) discovery read. */
  source: FluxObjectRef.optional(),
  /** What of the source was read: its status.inventory, or its Helm release's storage Secrets. */
  via: DiscoveryVia.optional(),
});
export type DiscoverySummary = z.infer<typeof DiscoverySummary>;

/** Where the app's newer versions were looked for, and when. */
export const UpdateCheck = z.object({
  /** The image whose tags were listed (versionPolicy.image). */
  image: Text(255).optional(),
  source: z
    .object({
      kind: z.enum(["HelmRepository", "OCIRepository", "ImagePolicy"]),
      namespace: Text(63),
      name: Text(253),
    })
    .optional(),
  /** The repository's URL, without credentials. */
  url: Text(2048),
  chart: Text(253).optional(),
  /** source-controller's artifact revision of the index, when it had one. */
  revision: Text(256).optional(),
  /** When the index was read. */
  checkedAt: Timestamp,
});
export type UpdateCheck = z.infer<typeof UpdateCheck>;

export const ManagedAppStatus = z.object({
  conditions: Conditions.optional(),
  observedGeneration: Count.optional(),
  /**
   * The version the app runs: the HelmRelease's chart, or versionPath at the applied commit (no
   * HelmRelease, or a chart from an OCIRepository through spec.chartRef).
   */
  currentVersion: VersionValue.optional(),
  /**
   * The newest chart version in the HelmRelease's HelmRepository or OCIRepository (or tag of
   * versionPolicy.image) newer than currentVersion that versionPolicy allows; an UpgradeRequest
   * without target uses it.
   */
  availableUpdate: VersionValue.optional(),
  updateCheck: UpdateCheck.optional(),
  lastUpgrade: LastUpgrade.optional(),
  discovery: DiscoverySummary.optional(),
  /**
   * When Cairn first saw the app's Flux objects suspended while no Cairn operation ran (Flux does
   * not record when it was suspended); cleared once they are resumed or an operation starts.
   */
  fluxSuspendedSince: Timestamp.optional(),
});
export type ManagedAppStatus = z.infer<typeof ManagedAppStatus>;

export const ManagedApp = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal(Kind.ManagedApp),
  metadata: ObjectMeta,
  spec: ManagedAppSpec,
  status: ManagedAppStatus.optional(),
});
export type ManagedApp = z.infer<typeof ManagedApp>;
