// A real request plans only while it holds its app's lock: another holder is changing what a
// plan reads (Flux suspended, workloads at 0, the version in Git), so a plan made beside it would
// be stale by the time this request acts on it. Admit, the step before Plan, took the lock
// already and taking it again is a no-op; Plan makes sure of it anyway, because Admit passes
// without a lock when it found no ManagedApp (Plan then says why the request cannot run), and an
// app that appeared in between must not be planned unlocked.
import { ConditionReason, type ManagedApp } from "../../api/index.ts";
import type { KubeApi } from "../../kube/client.ts";
import { acquireLock, type Holder } from "./lock.ts";
import type { StepResult } from "./result.ts";

/** Takes (or keeps) the app's lock; a "waiting" result while another live request holds it. */
export async function holdAppToPlan(
  client: KubeApi,
  app: ManagedApp,
  me: Holder,
  now: Date,
): Promise<StepResult | undefined> {
  const result = await acquireLock(
    client,
    app.metadata.namespace ?? "",
    app.metadata.uid ?? "",
    me,
    now,
    app.metadata.name,
    true,
  );
  if (result.acquired) return undefined;
  return {
    kind: "waiting",
    reason: ConditionReason.Waiting,
    message: `waiting for ${result.holder.kind} ${result.holder.name}, which holds the app; planning once it lets go`,
    afterMs: 10_000,
    // Bounded by the holder's own deadlines: Plan's deadline is for Flux to settle.
    progressed: true,
  };
}
