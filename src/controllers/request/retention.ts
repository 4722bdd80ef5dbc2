// Snapshot retention after a successful upgrade. The rule: per PVC, keep the newest maxCount
// snapshots Cairn made (0 keeps all), and never delete one that a possible rollback still needs:
// the snapshots of the upgrade that just succeeded (it is the one a user would roll back), and
// those of every request of the app that has not finished. Only snapshots labelled with the app
// are considered; a user's own snapshots are never touched.
import { Label, type ManagedApp } from "../../api/index.ts";
import type { KubeApi, KubeObject } from "../../kube/client.ts";
import { isKubeError } from "../../kube/errors.ts";
import { NAMESPACE_INDEX } from "../../runtime/store.ts";
import { SNAPSHOT_API } from "./snapshots.ts";
import type { World } from "./world.ts";

function createdAt(obj: KubeObject): string {
  const value = obj.metadata["creationTimestamp"];
  return typeof value === "string" ? value : "";
}

/** Pure: the snapshots to delete. `protectedUids` are request uids whose snapshots stay. */
export function snapshotsToPrune(
  snapshots: readonly KubeObject[],
  maxCount: number,
  protectedUids: ReadonlySet<string>,
): KubeObject[] {
  if (maxCount === 0) return [];
  const byPvc = new Map<string, KubeObject[]>();
  for (const s of snapshots) {
    const pvc =
      (s["spec"] as { source?: { persistentVolumeClaimName?: string } } | undefined)?.source
        ?.persistentVolumeClaimName ?? "";
    byPvc.set(pvc, [...(byPvc.get(pvc) ?? []), s]);
  }
  const doomed: KubeObject[] = [];
  for (const list of byPvc.values()) {
    const newestFirst = [...list].sort((a, b) => createdAt(b).localeCompare(createdAt(a)));
    newestFirst.slice(maxCount).forEach((s) => {
      if (!protectedUids.has(s.metadata.labels?.[Label.RequestUid] ?? "")) doomed.push(s);
    });
  }
  return doomed;
}

function inFlight(obj: KubeObject): boolean {
  const complete = (
    obj["status"] as { conditions?: { type: string; status: string }[] } | undefined
  )?.conditions?.find((c) => c.type === "Complete");
  return !complete || complete.status === "Unknown";
}

export async function pruneSnapshots(
  client: KubeApi,
  world: World,
  app: ManagedApp,
  keepUid: string,
): Promise<string[]> {
  const ns = app.metadata.namespace ?? "";
  const name = app.metadata.name;
  const ours = world.snapshots
    .byIndex(NAMESPACE_INDEX, ns)
    .filter((s) => s.metadata.labels?.[Label.ManagedApp] === name);
  const protectedUids = new Set<string>([keepUid]);
  for (const r of [
    ...world.upgrades.byIndex(NAMESPACE_INDEX, ns),
    ...world.rollbacks.byIndex(NAMESPACE_INDEX, ns),
  ]) {
    if (r.metadata.labels?.[Label.ManagedApp] === name && inFlight(r) && r.metadata.uid)
      protectedUids.add(r.metadata.uid);
    // A rollback restores from its upgrade's snapshots: an unfinished one protects them.
    const upgradeName = (r["spec"] as { upgradeRequestRef?: { name?: string } } | undefined)
      ?.upgradeRequestRef?.name;
    if (upgradeName && inFlight(r)) {
      const upgrade = world.upgrades.get(`${ns}/${upgradeName}`);
      if (upgrade?.metadata.uid) protectedUids.add(upgrade.metadata.uid);
    }
  }
  const doomed = snapshotsToPrune(
    ours,
    app.spec.volumeSnapshots.retentionPolicy.maxCount,
    protectedUids,
  );
  const deleted: string[] = [];
  for (const s of doomed) {
    try {
      await client.delete({
        apiVersion: SNAPSHOT_API,
        kind: "VolumeSnapshot",
        namespace: ns,
        name: s.metadata.name ?? "",
      });
      deleted.push(s.metadata.name ?? "");
    } catch (err) {
      if (!isKubeError(err, "NotFound")) throw err;
    }
  }
  return deleted;
}
