// The csi-snapshotter sidecar's decisions as a pure function over one VolumeSnapshotContent.
import {
  ANN_FAULT_SNAPSHOT,
  ANN_FAULT_SNAPSHOT_DELAY,
  CONTENT_FINALIZER,
  DRIVER,
} from "./constants.ts";
import { parseQuantity } from "./quantity.ts";
import type { Pv, Pvc, VolumeSnapshotContent } from "./schemas.ts";

export type ContentDecision =
  | { readonly kind: "ignore" }
  /** Copy the volume into a snapshot, then report it ready. */
  | {
      readonly kind: "cut";
      readonly volumeHandle: string;
      readonly snapshotHandle: string;
      readonly restoreSize: number;
    }
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
  if (content.status?.snapshotHandle) return { kind: "ignore" };
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
  };
}
