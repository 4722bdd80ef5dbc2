// A real request plans only while it holds its app's lock: another holder is changing what a
// plan reads (Flux suspended, workloads at 0, the version in Git), so a plan made beside it would
// be stale by the time this request acts on it. Admit, the step before Plan, took the lock
// already and taking it again is a no-op; Plan makes sure of it anyway, because Admit passes
// without a lock when it found no ManagedApp (Plan then says why the request cannot run), and an
// app that appeared in between must not be planned unlocked.
import { ConditionReason, ConditionType, type ManagedApp } from "../../api/index.ts";
import { getCondition, type Condition } from "../../runtime/conditions.ts";
import type { KubeApi } from "../../kube/client.ts";
import { acquireLock, type Holder, type LockVersions } from "./lock.ts";
import type { StepResult } from "./result.ts";
import type { StepContext } from "./runner.ts";

/**
 * Takes (or keeps) the app's lock; a "waiting" result while another live request holds it. Reads
 * nothing when Admit took the lock (not passed without one) earlier in the same pass: the app
 * that pass found is the one Admit locked a moment ago.
 */
export async function holdAppToPlan(
  client: KubeApi,
  app: ManagedApp,
  me: Holder,
  ctx: Pick<StepContext<unknown>, "earlier" | "status" | "now">,
  versions?: LockVersions,
): Promise<StepResult | undefined> {
  const admitted = getCondition(
    ctx.status().conditions as Condition[] | undefined,
    ConditionType.Admitted,
  );
  if (ctx.earlier.includes("Admit") && admitted?.reason === ConditionReason.Succeeded)
    return undefined;
  const now = ctx.now();
  const result = await acquireLock(
    client,
    app.metadata.namespace ?? "",
    app.metadata.uid ?? "",
    me,
    now,
    app.metadata.name,
    true,
    versions,
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
