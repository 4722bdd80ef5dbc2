// The external-provisioner's decisions as a pure function: given a claim and what it refers to,
// wait, fail (a Warning event, the claim stays Pending) or create the PersistentVolume.
import type { KubeObject } from "../../../src/kube/client.ts";
import {
  ANN_BETA_STORAGE_PROVISIONER,
  ANN_FAULT_PROVISION,
  ANN_PROVISIONED_BY,
  ANN_SELECTED_NODE,
  ANN_STORAGE_PROVISIONER,
  ATTR_PATH,
  DRIVER,
} from "./constants.ts";
import { parseQuantity } from "./quantity.ts";
import type { Pv, Pvc, StorageClass, VolumeSnapshot, VolumeSnapshotContent } from "./schemas.ts";

export type DataSource =
  | { readonly kind: "none" }
  | {
      readonly kind: "snapshot";
      readonly name: string;
      readonly snapshot?: VolumeSnapshot;
      readonly content?: VolumeSnapshotContent;
    }
  | { readonly kind: "pvc"; readonly name: string; readonly pvc?: Pvc; readonly pv?: Pv }
  | { readonly kind: "unsupported"; readonly description: string };

export interface ProvisionInput {
  readonly pvc: Pvc;
  readonly storageClass: StorageClass | undefined;
  readonly source: DataSource;
  /** Folder under which volumes live; the PV records its own folder in volumeAttributes. */
  readonly volumesDir: string;
}

export type ProvisionDecision =
  | { readonly kind: "ignore" }
  | { readonly kind: "wait"; readonly reason: string }
  | { readonly kind: "fail"; readonly message: string }
  | {
      readonly kind: "create";
      readonly pv: KubeObject;
      readonly volumeHandle: string;
      /** Data to copy into the new volume first. */
      readonly copyFrom?: { readonly kind: "snapshot" | "volume"; readonly handle: string };
    };

/** The claim's data source, read from dataSourceRef or dataSource (the API server mirrors them). */
export function dataSourceOf(pvc: Pvc): Pvc["spec"]["dataSource"] {
  return pvc.spec.dataSourceRef ?? pvc.spec.dataSource;
}

export function volumeHandleFor(pvc: Pvc): string {
  return `vol-${pvc.metadata.uid}`;
}

export function decideProvision(input: ProvisionInput): ProvisionDecision {
  const { pvc, storageClass } = input;
  if (pvc.spec.volumeName || pvc.metadata.deletionTimestamp) return { kind: "ignore" };
  if (!storageClass || storageClass.provisioner !== DRIVER) return { kind: "ignore" };
  const annotations = pvc.metadata.annotations ?? {};
  // KCM's binder decides when a claim needs an external provisioner; act only after it says so.
  const asked = annotations[ANN_STORAGE_PROVISIONER] ?? annotations[ANN_BETA_STORAGE_PROVISIONER];
  if (asked !== DRIVER)
    return { kind: "wait", reason: "waiting for the PV controller to hand the claim over" };
  const selectedNode = annotations[ANN_SELECTED_NODE];
  if (storageClass.volumeBindingMode === "WaitForFirstConsumer" && !selectedNode) {
    return { kind: "wait", reason: "waiting for a consumer to be scheduled" };
  }
  const fault = annotations[ANN_FAULT_PROVISION];
  if (fault) return { kind: "fail", message: fault };

  const requestText = pvc.spec.resources?.requests?.["storage"];
  const request = requestText === undefined ? undefined : parseQuantity(requestText);
  if (requestText === undefined || request === undefined) {
    return {
      kind: "fail",
      message: `claim has no valid storage request (${requestText ?? "none"})`,
    };
  }

  let copyFrom: { kind: "snapshot" | "volume"; handle: string } | undefined;
  const source = input.source;
  switch (source.kind) {
    case "none":
      break;
    case "unsupported":
      return { kind: "fail", message: `unsupported data source ${source.description}` };
    case "snapshot": {
      const snap = source.snapshot;
      if (!snap)
        return {
          kind: "fail",
          message: `VolumeSnapshot ${pvc.metadata.namespace ?? ""}/${source.name} not found`,
        };
      if (snap.status?.readyToUse !== true || !source.content?.status?.snapshotHandle) {
        return { kind: "fail", message: `VolumeSnapshot ${source.name} is not ready to use` };
      }
      if (source.content.spec.driver !== DRIVER) {
        return {
          kind: "fail",
          message: `VolumeSnapshot ${source.name} belongs to driver ${source.content.spec.driver}`,
        };
      }
      const restoreSize = source.content.status.restoreSize ?? 0;
      if (request < restoreSize) {
        return {
          kind: "fail",
          message: `requested volume size ${request} is less than the size ${restoreSize} of the snapshot ${source.name}`,
        };
      }
      copyFrom = { kind: "snapshot", handle: source.content.status.snapshotHandle };
      break;
    }
    case "pvc": {
      const sourcePv = source.pv;
      if (!source.pvc || source.pvc.status?.phase !== "Bound" || !sourcePv?.spec.csi) {
        return { kind: "fail", message: `source claim ${source.name} is not Bound` };
      }
      if (source.pvc.spec.storageClassName !== pvc.spec.storageClassName) {
        return { kind: "fail", message: `source claim ${source.name} has another storage class` };
      }
      copyFrom = { kind: "volume", handle: sourcePv.spec.csi.volumeHandle };
      break;
    }
  }

  const volumeHandle = volumeHandleFor(pvc);
  const pv: KubeObject = {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: {
      name: `pvc-${pvc.metadata.uid}`,
      annotations: { [ANN_PROVISIONED_BY]: DRIVER },
    },
    spec: {
      capacity: { storage: requestText },
      accessModes: pvc.spec.accessModes,
      volumeMode: pvc.spec.volumeMode ?? "Filesystem",
      storageClassName: storageClass.metadata.name,
      persistentVolumeReclaimPolicy: storageClass.reclaimPolicy ?? "Delete",
      ...(storageClass.mountOptions ? { mountOptions: storageClass.mountOptions } : {}),
      claimRef: {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        namespace: pvc.metadata.namespace,
        name: pvc.metadata.name,
        uid: pvc.metadata.uid,
      },
      csi: {
        driver: DRIVER,
        volumeHandle,
        volumeAttributes: { [ATTR_PATH]: `${input.volumesDir}/${volumeHandle}` },
      },
      ...(selectedNode
        ? {
            nodeAffinity: {
              required: {
                nodeSelectorTerms: [
                  {
                    matchExpressions: [
                      { key: "kubernetes.io/hostname", operator: "In", values: [selectedNode] },
                    ],
                  },
                ],
              },
            },
          }
        : {}),
    },
  };
  return { kind: "create", pv, volumeHandle, ...(copyFrom ? { copyFrom } : {}) };
}

/** A released volume of ours with reclaim policy Delete is deleted (KCM leaves that to us). */
export function shouldDeleteVolume(pv: Pv): boolean {
  return (
    pv.spec.csi?.driver === DRIVER &&
    pv.status?.phase === "Released" &&
    (pv.spec.persistentVolumeReclaimPolicy ?? "Delete") === "Delete" &&
    !pv.metadata.deletionTimestamp
  );
}
