// The imperative half of the re-check at the moment of the cut: the pods of the volumes'
// namespaces and each planned workload, read fresh from the API (never the informer, which may
// not have seen a scale-up yet), judged by cutProblems.
import type { PlannedVolume, PlannedWorkload } from "../../api/index.ts";
import type { KubeApi, KubeObject } from "../../kube/client.ts";
import { getIfExists } from "../../kube/get-if-exists.ts";
import { cutProblems, workloadRef } from "./workloads.ts";

export async function freshCutProblems(
  client: KubeApi,
  volumes: readonly PlannedVolume[],
  workloads: readonly PlannedWorkload[],
): Promise<string[]> {
  const pods: KubeObject[] = [];
  for (const ns of new Set(volumes.map((v) => v.namespace))) {
    pods.push(...(await client.list("v1", "Pod", { namespace: ns })).items);
  }
  const live = [];
  for (const w of workloads) live.push({ ref: w, live: await getIfExists(client, workloadRef(w)) });
  return cutProblems(pods, volumes, live);
}
