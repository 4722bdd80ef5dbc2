// VolumeSnapshots of the planned PVCs: deterministic names from the request
// uid, labels that link each snapshot to its app and request, and the pure reading of a
// snapshot's state (ready, failing, or still being cut).
import { createHash } from "node:crypto";
import { Label } from "../../api/index.ts";
import type { KubeObject } from "../../kube/client.ts";

export const SNAPSHOT_API = "snapshot.storage.k8s.io/v1";
const NAME_MAX = 253;

/** `<pvc>-<uid8>`; a name that would be too long is cut and made unique with a hash. */
export function snapshotName(pvc: string, requestUid: string): string {
  const suffix = requestUid.replaceAll("-", "").slice(0, 8);
  const plain = `${pvc}-${suffix}`;
  if (plain.length <= NAME_MAX) return plain;
  const hash = createHash("sha256").update(pvc).digest("hex").slice(0, 8);
  return `${pvc.slice(0, NAME_MAX - 18).replace(/[-.]+$/, "")}-${hash}-${suffix}`;
}

export interface SnapshotSpec {
  readonly namespace: string;
  readonly name: string;
  readonly pvc: string;
  readonly className: string | undefined;
  readonly app: string;
  readonly request: { readonly name: string; readonly uid: string };
}

export function snapshotObject(s: SnapshotSpec): KubeObject {
  return {
    apiVersion: SNAPSHOT_API,
    kind: "VolumeSnapshot",
    metadata: {
      name: s.name,
      namespace: s.namespace,
      labels: {
        [Label.ManagedApp]: s.app,
        [Label.RequestUid]: s.request.uid,
        [Label.RequestName]: s.request.name,
        [Label.Pvc]:
          s.pvc.length <= 63
            ? s.pvc
            : createHash("sha256").update(s.pvc).digest("hex").slice(0, 16),
      },
    },
    spec: {
      source: { persistentVolumeClaimName: s.pvc },
      ...(s.className ? { volumeSnapshotClassName: s.className } : {}),
    },
  };
}

export type SnapshotState =
  | { readonly state: "ready"; readonly restoreSize: string | undefined }
  | { readonly state: "error"; readonly message: string; readonly since: string | undefined }
  | { readonly state: "pending"; readonly message: string }
  | { readonly state: "missing" };

export function snapshotState(obj: KubeObject | undefined): SnapshotState {
  if (!obj) return { state: "missing" };
  const status = obj["status"] as
    | { readyToUse?: boolean; restoreSize?: string; error?: { message?: string; time?: string } }
    | undefined;
  if (status?.readyToUse === true) return { state: "ready", restoreSize: status.restoreSize };
  if (status?.error?.message)
    return { state: "error", message: status.error.message, since: status.error.time };
  return {
    state: "pending",
    message: status ? "being cut (readyToUse is false)" : "waiting for the snapshot controller",
  };
}

/** Whether the snapshot belongs to this request (an AlreadyExists of ours counts as success). */
export function isOurs(obj: KubeObject, requestUid: string): boolean {
  return obj.metadata.labels?.[Label.RequestUid] === requestUid;
}

/** Quantity → bytes for the size comparisons a restore needs ("10Gi", "500M", "1073741824"). */
export function quantityBytes(q: string | undefined): number | undefined {
  if (q === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)([KMGTPE]i?|k|m)?$/.exec(q);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2] ?? "";
  const pow: Record<string, number> = {
    "": 1,
    m: 1e-3,
    k: 1e3,
    K: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    P: 1e15,
    E: 1e18,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    Pi: 2 ** 50,
    Ei: 2 ** 60,
  };
  const factor = pow[unit];
  return factor === undefined ? undefined : n * factor;
}
