// Freezing an app and thawing it again: the Flux objects a request suspended and the replicas it
// recorded, checked before an irreversible step and undone by compensation and deletion. Each
// helper reads the world fresh (or from the informers where a lag only repeats a no-op) and acts
// only where something is still to do, so running it twice is harmless.
import type { FluxObjectRef, RequestStatus } from "../../api/index.ts";
import type { KubeClient, KubeObject } from "../../kube/client.ts";
import { getIfExists } from "../../kube/get-if-exists.ts";
import { fluxRef, isSuspended, setSuspend } from "./flux.ts";
import { specReplicas, workloadRef } from "./workloads.ts";
import type { World } from "./world.ts";

export const describeRef = (f: { kind: string; namespace: string; name: string }): string =>
  `${f.kind} ${f.namespace}/${f.name}`;

/** The Flux object fresh from the API; undefined once it is gone. */
export function freshFlux(client: KubeClient, f: FluxObjectRef): Promise<KubeObject | undefined> {
  return getIfExists(client, fluxRef(f));
}

/** Whether every planned Flux object is still suspended: checked before an irreversible step. */
export async function stillSuspended(
  client: KubeClient,
  flux: readonly FluxObjectRef[],
): Promise<string | undefined> {
  for (const f of flux) {
    const obj = await freshFlux(client, f);
    if (!isSuspended(obj))
      return `${describeRef(f)} was resumed by someone else during the operation`;
  }
  return undefined;
}

/** Resumes what Cairn suspended (never anything else), in the given order. */
export async function resumeRecorded(
  client: KubeClient,
  suspended: readonly FluxObjectRef[],
): Promise<string[]> {
  const resumed: string[] = [];
  for (const f of suspended) {
    const obj = await freshFlux(client, f);
    if (obj && isSuspended(obj)) {
      await setSuspend(client, f, false);
      resumed.push(describeRef(f));
    }
  }
  return resumed;
}

/** Puts recorded replica counts back on workloads that are still at 0. */
export async function restoreReplicas(
  client: KubeClient,
  world: World,
  status: RequestStatus,
): Promise<string[]> {
  const restored: string[] = [];
  for (const r of status.replicas ?? []) {
    const obj = world.workload(r.kind, r.namespace, r.name);
    if (obj && specReplicas(obj) === 0 && r.original > 0) {
      await client.patchScale(workloadRef(r), r.original);
      restored.push(`${describeRef(r)}=${r.original}`);
    }
  }
  return restored;
}

/**
 * Flux resumed (in reverse order of suspension) and replicas back, whatever point the request
 * failed at; only safe while every PVC exists (see the rollback's freeze).
 */
export async function undoFreeze(
  client: KubeClient,
  world: World,
  status: RequestStatus,
): Promise<string> {
  const resumed = await resumeRecorded(client, [...(status.suspended ?? [])].reverse());
  const restored = await restoreReplicas(client, world, status);
  return [
    resumed.length > 0 ? `resumed ${resumed.join(", ")}` : "Flux not suspended by this request",
    restored.length > 0 ? `restored ${restored.join(", ")}` : "replicas as recorded",
  ].join("; ");
}
