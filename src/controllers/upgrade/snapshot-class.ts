// Which VolumeSnapshotClass the snapshots use: the app's choice, checked against the PVCs' CSI
// driver (a class of another driver cannot snapshot them), or the driver's default class.
import type { KubeApi, KubeObject } from "../../kube/client.ts";
import { isKubeError } from "../../kube/errors.ts";
import { SNAPSHOT_API } from "../request/snapshots.ts";

const DEFAULT_CLASS = "snapshot.storage.kubernetes.io/is-default-class";

export type ClassChoice =
  | { readonly ok: true; readonly name: string | undefined; readonly message: string }
  | { readonly ok: false; readonly message: string };

/** Pure: the class for a driver from the classes that exist. */
export function pickClass(
  classes: readonly KubeObject[],
  driver: string,
  wanted: string | undefined,
): ClassChoice {
  const driverOf = (c: KubeObject) => (c as { driver?: string }).driver;
  if (wanted !== undefined) {
    const named = classes.find((c) => c.metadata.name === wanted);
    if (!named)
      return {
        ok: false,
        message: `spec.volumeSnapshots.volumeSnapshotClassName: VolumeSnapshotClass ${wanted} not found`,
      };
    if (driverOf(named) !== driver)
      return {
        ok: false,
        message: `spec.volumeSnapshots.volumeSnapshotClassName: VolumeSnapshotClass ${wanted} is for driver ${driverOf(named) ?? "?"}, the PVCs use ${driver}`,
      };
    return { ok: true, name: wanted, message: `VolumeSnapshotClass ${wanted} (driver ${driver})` };
  }
  const forDriver = classes.filter((c) => driverOf(c) === driver);
  const defaults = forDriver.filter((c) => c.metadata.annotations?.[DEFAULT_CLASS] === "true");
  const chosen =
    defaults.length === 1 ? defaults[0] : forDriver.length === 1 ? forDriver[0] : undefined;
  if (!chosen)
    return {
      ok: false,
      message:
        forDriver.length === 0
          ? `no VolumeSnapshotClass exists for driver ${driver}`
          : `several VolumeSnapshotClasses exist for driver ${driver} and none is the default; set spec.volumeSnapshots.volumeSnapshotClassName`,
    };
  return {
    ok: true,
    name: chosen.metadata.name,
    message: `VolumeSnapshotClass ${chosen.metadata.name ?? ""} (driver ${driver})`,
  };
}

export async function chooseSnapshotClass(
  client: KubeApi,
  pvcs: readonly KubeObject[],
  wanted: string | undefined,
): Promise<ClassChoice> {
  const drivers = new Set<string>();
  for (const pvc of pvcs) {
    const what = `PVC ${pvc.metadata.namespace ?? ""}/${pvc.metadata.name ?? ""}`;
    const volumeName = (pvc["spec"] as { volumeName?: string } | undefined)?.volumeName;
    const phase = (pvc["status"] as { phase?: string } | undefined)?.phase;
    if (!volumeName || phase !== "Bound")
      return { ok: false, message: `${what} is not Bound; it cannot be snapshotted` };
    try {
      const pv = await client.get({ apiVersion: "v1", kind: "PersistentVolume", name: volumeName });
      const driver = (pv["spec"] as { csi?: { driver?: string } } | undefined)?.csi?.driver;
      if (!driver)
        return { ok: false, message: `${what} is not a CSI volume; it cannot be snapshotted` };
      drivers.add(driver);
    } catch (err) {
      if (isKubeError(err, "NotFound"))
        return { ok: false, message: `${what}: its PersistentVolume ${volumeName} is gone` };
      throw err;
    }
  }
  if (drivers.size > 1)
    return {
      ok: false,
      message: `the PVCs use several CSI drivers (${[...drivers].join(", ")}); one VolumeSnapshotClass cannot serve them`,
    };
  const driver = [...drivers][0];
  if (driver === undefined) return { ok: true, name: wanted, message: "no PVC to snapshot" };
  const classes = (await client.list(SNAPSHOT_API, "VolumeSnapshotClass")).items;
  return pickClass(classes, driver, wanted);
}
