export const DRIVER = "csi-sim.cairn.dev";
export const ANN_STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner";
export const ANN_BETA_STORAGE_PROVISIONER = "volume.beta.kubernetes.io/storage-provisioner";
export const ANN_SELECTED_NODE = "volume.kubernetes.io/selected-node";
export const ANN_PROVISIONED_BY = "pv.kubernetes.io/provisioned-by";
/** Faults a test sets on a PVC: provisioning fails with this message. */
export const ANN_FAULT_PROVISION = "csi-sim.cairn.dev/provision-error";
/** Faults a test sets on a snapshot's source PVC: cutting fails with this message, or waits. */
export const ANN_FAULT_SNAPSHOT = "csi-sim.cairn.dev/snapshot-error";
export const ANN_FAULT_SNAPSHOT_DELAY = "csi-sim.cairn.dev/snapshot-delay-seconds";
/** A slow upload on a snapshot's source PVC: the snapshot is cut at once (creationTime set, the
 *  data copied) and reported readyToUse only this many seconds after the cut, the way cloud
 *  disks upload a snapshot after cutting it. */
export const ANN_SNAPSHOT_UPLOAD_DELAY = "csi-sim.cairn.dev/upload-delay-seconds";
export const CONTENT_FINALIZER =
  "snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection";
/** Where the simulator keeps a volume's bytes, in the PV's volumeAttributes. */
export const ATTR_PATH = "path";
