// The API references of a planned volume's PVC and of the upgrade's snapshot of it.
import type { PlannedVolume } from "../../api/index.ts";
import type { ObjectRef } from "../../kube/client.ts";
import { SNAPSHOT_API } from "../request/snapshots.ts";

export const pvcRef = (v: { namespace: string; name: string }): ObjectRef => ({
  apiVersion: "v1",
  kind: "PersistentVolumeClaim",
  namespace: v.namespace,
  name: v.name,
});

export const snapshotRef = (v: PlannedVolume): ObjectRef => ({
  apiVersion: SNAPSHOT_API,
  kind: "VolumeSnapshot",
  namespace: v.namespace,
  name: v.snapshot ?? "",
});
