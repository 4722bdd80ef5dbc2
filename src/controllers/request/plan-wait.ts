// A real request plans only while no other live request holds its app: the holder is changing
// what a plan reads (Flux suspended, workloads at 0, the version in Git), so a plan made now
// would fail on its freeze or be stale by the time this request is admitted. An auto-triggered
// rollback already holds the app, handed over by its upgrade.
import { ConditionReason } from "../../api/index.ts";
import type { KubeApi } from "../../kube/client.ts";
import { holderIsLive, lockHolder } from "./lock.ts";
import type { StepResult } from "./result.ts";

export async function waitWhileHeld(
  client: KubeApi,
  namespace: string,
  appUid: string,
  myUid: string | undefined,
): Promise<StepResult | undefined> {
  const holder = await lockHolder(client, namespace, appUid);
  if (!holder || holder.uid === myUid || !(await holderIsLive(client, namespace, holder)))
    return undefined;
  return {
    kind: "waiting",
    reason: ConditionReason.Waiting,
    message: `waiting for ${holder.kind} ${holder.name}, which holds the app; planning once it lets go`,
    afterMs: 10_000,
    // Bounded by the holder's own deadlines: Plan's deadline is for Flux to settle.
    progressed: true,
  };
}
