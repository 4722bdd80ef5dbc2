// RollbackRequest: undo one UpgradeRequest, data included (restore the PVCs from its snapshots,
// revert the Git change). The spec is immutable once created.
import { z } from "zod";
import { DnsLabel } from "./fields.ts";
import { API_VERSION, Kind } from "./group.ts";
import { ObjectMeta } from "./meta.ts";
import { RequestStatus } from "./request-status.ts";

/** An UpgradeRequest in the rollback's own namespace. */
export const UpgradeRequestRef = z.object({ name: DnsLabel });
export type UpgradeRequestRef = z.infer<typeof UpgradeRequestRef>;

export const RollbackRequestSpec = z.object({
  upgradeRequestRef: UpgradeRequestRef,
  /** Set by Cairn when an upgrade with autoRollback failed after its commit. */
  autoTriggered: z.boolean().default(false),
  /** Plan only: no suspend, no scaling, no lock, no restore, no commit. */
  dryRun: z.boolean().default(false),
});
export type RollbackRequestSpec = z.infer<typeof RollbackRequestSpec>;

export const RollbackRequestStatus = RequestStatus;
export type RollbackRequestStatus = z.infer<typeof RollbackRequestStatus>;

export const RollbackRequest = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal(Kind.RollbackRequest),
  metadata: ObjectMeta,
  spec: RollbackRequestSpec,
  status: RollbackRequestStatus.optional(),
});
export type RollbackRequest = z.infer<typeof RollbackRequest>;
