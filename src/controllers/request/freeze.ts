// Freezing an app and thawing it again: the Flux objects a request suspended and the replicas it
// recorded, checked before an irreversible step and undone by compensation and deletion. Each
// helper reads the world fresh (or from the informers where a lag only repeats a no-op) and acts
// only where something is still to do, so running it twice is harmless.
import {
  describeHolder,
  type FluxObjectRef,
  type RecordedReplicas,
  type RequestStatus,
  type SuspensionHolder,
} from "../../api/index.ts";
import type { KubeApi, KubeObject } from "../../kube/client.ts";
import { isKubeError } from "../../kube/errors.ts";
import { getIfExists } from "../../kube/get-if-exists.ts";
import { fluxRef, isSuspended } from "./flux.ts";
import { releaseSuspension } from "./suspension.ts";
import { specReplicas, workloadRef } from "./workloads.ts";

export const describeRef = (f: { kind: string; namespace: string; name: string }): string =>
  `${f.kind} ${f.namespace}/${f.name}`;

/** The Flux object fresh from the API; undefined once it is gone. */
export function freshFlux(client: KubeApi, f: FluxObjectRef): Promise<KubeObject | undefined> {
  return getIfExists(client, fluxRef(f));
}

/** Whether every planned Flux object is still suspended: checked before an irreversible step. */
export async function stillSuspended(
  client: KubeApi,
  flux: readonly FluxObjectRef[],
): Promise<string | undefined> {
  // Read side by side; the first in plan order that is not suspended is named.
  const objects = await Promise.all(flux.map((f) => freshFlux(client, f)));
  const thawed = flux.find((_, i) => !isSuspended(objects[i]));
  return thawed && `${describeRef(thawed)} was resumed by someone else during the operation`;
}

/**
 * Lets go of what the request suspended (never anything else), in the given order: an object is
 * resumed only when no other request still holds it (suspension.ts).
 */
export async function resumeRecorded(
  client: KubeApi,
  suspended: readonly FluxObjectRef[],
  me: SuspensionHolder,
): Promise<{ resumed: string[]; kept: string[] }> {
  const resumed: string[] = [];
  const kept: string[] = [];
  for (const f of suspended) {
    const outcome = await releaseSuspension(client, f, me);
    if (outcome.kind === "resumed") resumed.push(describeRef(f));
    if (outcome.kind === "kept")
      kept.push(`${describeRef(f)} (still held by ${outcome.by.map(describeHolder).join(", ")})`);
  }
  return { resumed, kept };
}

/**
 * Puts recorded replica counts back on workloads that are still at 0. With the informer's copy
 * of a workload at 0, the scale is held against that copy's resourceVersion, so it lands only on
 * the object the copy shows and costs no read; a copy that is stale (a Conflict) or shows
 * another count is checked fresh: an informer that has not seen our scale-down yet would show
 * the old count, and the workload would stay at 0.
 */
export async function restoreReplicas(
  client: KubeApi,
  status: Pick<RequestStatus, "replicas">,
  cached?: (ref: RecordedReplicas) => KubeObject | undefined,
): Promise<string[]> {
  const restored: string[] = [];
  for (const r of status.replicas ?? []) {
    if (r.original <= 0) continue;
    const copy = cached?.(r);
    const resourceVersion = copy?.metadata.resourceVersion;
    if (copy && specReplicas(copy) === 0 && resourceVersion !== undefined) {
      try {
        await client.patchScale(workloadRef(r), r.original, { resourceVersion });
        restored.push(`${describeRef(r)}=${r.original}`);
        continue;
      } catch (err) {
        if (isKubeError(err, "NotFound")) continue;
        if (!isKubeError(err, "Conflict")) throw err;
      }
    }
    const obj = await getIfExists(client, workloadRef(r));
    if (obj && specReplicas(obj) === 0) {
      await client.patchScale(workloadRef(r), r.original);
      restored.push(`${describeRef(r)}=${r.original}`);
    }
  }
  return restored;
}

/**
 * Flux resumed (in reverse order of suspension, each object once no other request holds it)
 * and replicas back, whatever point the request failed at; only safe while every PVC exists
 * (see the rollback's freeze).
 */
export async function undoFreeze(
  client: KubeApi,
  status: Pick<RequestStatus, "suspended" | "replicas">,
  me: SuspensionHolder,
): Promise<string> {
  const { resumed, kept } = await resumeRecorded(
    client,
    [...(status.suspended ?? [])].reverse(),
    me,
  );
  const restored = await restoreReplicas(client, status);
  return [
    resumed.length > 0 ? `resumed ${resumed.join(", ")}` : "Flux not suspended by this request",
    ...(kept.length > 0 ? [`left suspended for other requests: ${kept.join(", ")}`] : []),
    restored.length > 0 ? `restored ${restored.join(", ")}` : "replicas as recorded",
  ].join("; ");
}
