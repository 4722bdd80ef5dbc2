// The csi-snapshotter sidecar's decisions as a pure function over one VolumeSnapshotContent.
import {
  ANN_FAULT_SNAPSHOT,
  ANN_FAULT_SNAPSHOT_DELAY,
  ANN_SNAPSHOT_UPLOAD_DELAY,
  CONTENT_FINALIZER,
  DRIVER,
} from "./constants.ts";
import { parseQuantity } from "./quantity.ts";
import type { Pv, Pvc, VolumeSnapshotContent } from "./schemas.ts";

export type ContentDecision =
  | { readonly kind: "ignore" }
  /** Copy the volume into a snapshot, then report it cut; ready too unless it still uploads. */
  | {
      readonly kind: "cut";
      readonly volumeHandle: string;
      readonly snapshotHandle: string;
      readonly restoreSize: number;
      /** Milliseconds of upload left after the cut; 0: ready at once. */
      readonly uploadMs: number;
    }
  /** Cut earlier and now uploaded: report it ready. */
  | { readonly kind: "uploaded" }
  /** Pre-provisioned content: the snapshot exists already; report it ready. */
  | { readonly kind: "adopt"; readonly snapshotHandle: string }
  | { readonly kind: "error"; readonly message: string }
  | { readonly kind: "delay"; readonly remainingMs: number }
  /** Being deleted: drop the data (deletionPolicy Delete) and the finalizer. */
  | {
      readonly kind: "release";
      readonly deleteData: boolean;
      readonly snapshotHandle: string | undefined;
    };

export interface ContentInput {
  readonly content: VolumeSnapshotContent;
  /** The source volume and its claim, found through spec.source.volumeHandle. */
  readonly sourcePv: Pv | undefined;
  readonly sourcePvc: Pvc | undefined;
  /** When the simulator first saw this content, for the delay fault. */
  readonly firstSeenMs: number;
  readonly nowMs: number;
}

export function snapshotHandleFor(content: VolumeSnapshotContent): string {
  return `snap-${content.metadata.uid}`;
}

export function decideContent(input: ContentInput): ContentDecision {
  const { content } = input;
  if (content.spec.driver !== DRIVER) return { kind: "ignore" };
  if (content.metadata.deletionTimestamp) {
    if (!content.metadata.finalizers?.includes(CONTENT_FINALIZER)) return { kind: "ignore" };
    return {
      kind: "release",
      deleteData: content.spec.deletionPolicy === "Delete",
      snapshotHandle: content.status?.snapshotHandle ?? content.spec.source.snapshotHandle,
    };
  }
  if (content.status?.readyToUse === true) return { kind: "ignore" };
  if (content.spec.source.snapshotHandle) {
    return { kind: "adopt", snapshotHandle: content.spec.source.snapshotHandle };
  }
  const volumeHandle = content.spec.source.volumeHandle;
  if (!volumeHandle) return { kind: "ignore" };
  if (content.status?.snapshotHandle) return uploadDecision(input);
  if (!input.sourcePv) return { kind: "error", message: `source volume ${volumeHandle} not found` };
  const annotations = input.sourcePvc?.metadata.annotations ?? {};
  const fault = annotations[ANN_FAULT_SNAPSHOT];
  if (fault) return { kind: "error", message: fault };
  const delaySeconds = Number(annotations[ANN_FAULT_SNAPSHOT_DELAY] ?? "0");
  const remainingMs = input.firstSeenMs + delaySeconds * 1000 - input.nowMs;
  if (remainingMs > 0) return { kind: "delay", remainingMs };
  const capacity = input.sourcePv.spec.capacity?.["storage"];
  return {
    kind: "cut",
    volumeHandle,
    snapshotHandle: snapshotHandleFor(content),
    restoreSize: (capacity === undefined ? undefined : parseQuantity(capacity)) ?? 0,
    uploadMs: uploadDelayMs(annotations),
  };
}

function uploadDelayMs(annotations: Record<string, string>): number {
  const seconds = Number(annotations[ANN_SNAPSHOT_UPLOAD_DELAY] ?? "0");
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 0;
}

/** A content cut but not ready: its upload ends a fixed time after the cut. The cut time comes
 *  from the content's status, so a restarted simulator keeps the schedule. */
function uploadDecision(input: ContentInput): ContentDecision {
  const cutNs = input.content.status?.creationTime;
  if (cutNs === undefined) return { kind: "uploaded" };
  const annotations = input.sourcePvc?.metadata.annotations ?? {};
  const remainingMs = Math.ceil(cutNs / 1_000_000 + uploadDelayMs(annotations) - input.nowMs);
  return remainingMs > 0 ? { kind: "delay", remainingMs } : { kind: "uploaded" };
}
