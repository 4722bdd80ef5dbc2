// UpgradeRequest: one upgrade of one ManagedApp. The spec is immutable once created (a CEL rule
// in crds/cairn.dev_upgraderequests.yaml); a new attempt is a new request.
import { z } from "zod";
import { ChartVersion, DnsLabel, ImageName, ImageTag, uniqueBy } from "./fields.ts";
import { Annotation, API_VERSION, Kind } from "./group.ts";
import { ObjectMeta } from "./meta.ts";
import { RequestStatus } from "./request-status.ts";

export const TARGET_VERSION_RULE = "has(self.chart) || (has(self.images) && size(self.images) > 0)";
export const TARGET_VERSION_MESSAGE = "spec.targetVersion must set chart or at least one image";

/** A ManagedApp in the request's own namespace: there is no namespace field to misuse. */
export const ManagedAppRef = z.object({ name: DnsLabel });
export type ManagedAppRef = z.infer<typeof ManagedAppRef>;

export const ImageVersion = z.object({ name: ImageName, tag: ImageTag });
export type ImageVersion = z.infer<typeof ImageVersion>;

export const TargetVersion = z
  .object({
    chart: ChartVersion.optional(),
    /** Keyed by name in the CRD: an image appears once. */
    images: z
      .array(ImageVersion)
      .max(32)
      .superRefine(uniqueBy((image) => image.name, "image"))
      .optional(),
  })
  .refine((t) => t.chart !== undefined || (t.images !== undefined && t.images.length > 0), {
    error: TARGET_VERSION_MESSAGE,
  });
export type TargetVersion = z.infer<typeof TargetVersion>;

/** The impact preview's danger checks (src/impact/dangers.ts names the same list). */
export const DANGER_CHECK_NAMES = [
  "ReferencedConfigRemoved",
  "VolumeDataRemoved",
  "ImmutableFieldChanged",
  "CustomResourceDefinitionRemoved",
  "OwnershipChanged",
] as const;
export const DangerCheckName = z.enum(DANGER_CHECK_NAMES);
export type DangerCheckName = z.infer<typeof DangerCheckName>;

export const UpgradeRequestSpec = z.object({
  managedAppRef: ManagedAppRef,
  /** Omitted: the app's status.availableUpdate, pinned in the plan. */
  targetVersion: TargetVersion.optional(),
  /** Upgrade without snapshots even when the app enables them (not recommended). */
  skipSnapshot: z.boolean().default(false),
  /** Plan only: no suspend, no scaling, no lock, no commit. */
  dryRun: z.boolean().default(false),
  /** Danger checks of the impact preview this upgrade proceeds despite, by name. */
  acknowledgeDangers: z.array(DangerCheckName).max(DANGER_CHECK_NAMES.length).optional(),
  /** Allow a chart target older than the version the app runs. */
  allowDowngrade: z.boolean().default(false),
  /**
   * Manual: wait for approval after planning even when the app's spec.approval is Automatic.
   * Absent: the app's spec.approval decides (a request cannot waive an app's Manual).
   */
  approval: z.enum(["Manual"]).optional(),
});
export type UpgradeRequestSpec = z.infer<typeof UpgradeRequestSpec>;

export const UpgradeRequestStatus = RequestStatus;
export type UpgradeRequestStatus = z.infer<typeof UpgradeRequestStatus>;

export const UpgradeRequest = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal(Kind.UpgradeRequest),
  metadata: ObjectMeta,
  spec: UpgradeRequestSpec,
  status: UpgradeRequestStatus.optional(),
});
export type UpgradeRequest = z.infer<typeof UpgradeRequest>;

/**
 * Who approved the request's plan (the cairn.dev/approved-by annotation, trimmed), or undefined
 * while nobody has: an empty value approves nothing.
 */
export function approverOf(request: Pick<UpgradeRequest, "metadata">): string | undefined {
  const value = request.metadata.annotations?.[Annotation.ApprovedBy]?.trim();
  return value === undefined || value === "" ? undefined : value.slice(0, 253);
}
