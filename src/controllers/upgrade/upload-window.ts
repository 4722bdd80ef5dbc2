// runWhileUploading (spec.volumeSnapshots.runWhileUploading): the app runs at its old version
// between the cut and readyToUse, so the outage does not grow with the upload. The Snapshot step
// opens the window once every snapshot is cut and closes it once every snapshot is ready. The
// opening is written to status.uploadWindow before the workloads are started, so a restarted
// controller knows they should be running; closing needs no such record, since readiness does
// not go back, and its time is written with the step's success.
import type { PlannedVolume, PlannedWorkload, RequestStatus } from "../../api/index.ts";
import type { KubeApi, KubeObject } from "../../kube/client.ts";
import { getIfExists } from "../../kube/get-if-exists.ts";
import { freshCutProblems } from "../request/fresh-cut.ts";
import { specReplicas, workloadRef } from "../request/workloads.ts";

/** Cut: the driver took the snapshot (creationTime set), whether or not it is uploaded yet. */
export function isCut(obj: KubeObject | undefined): boolean {
  const status = obj?.["status"] as { creationTime?: string; readyToUse?: boolean } | undefined;
  return status?.readyToUse === true || (status?.creationTime ?? "") !== "";
}

/** Workloads the window should have running that the cache shows at 0: the opening scale did
 *  not happen (a crash between the status write and the scale) or the cache has not seen it. */
export function stillStopped(
  status: Pick<RequestStatus, "replicas">,
  live: (r: { kind: string; namespace: string; name: string }) => KubeObject | undefined,
): boolean {
  return (status.replicas ?? []).some((r) => r.original > 0 && specReplicas(live(r)) === 0);
}

/**
 * Closing the window: every planned workload to 0 again, from fresh reads (the cache may not
 * have seen the opening scale), then the same fresh check as at the cut. Returns what still
 * runs or mounts a planned PVC; empty once the writers are stopped again.
 */
export async function stopAfterUpload(
  client: KubeApi,
  volumes: readonly PlannedVolume[],
  workloads: readonly PlannedWorkload[],
): Promise<string[]> {
  for (const w of workloads) {
    const obj = await getIfExists(client, workloadRef(w));
    if (obj && (specReplicas(obj) ?? 0) > 0) await client.patchScale(workloadRef(w), 0);
  }
  return freshCutProblems(client, volumes, workloads);
}
