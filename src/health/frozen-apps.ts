// Which apps a failed rollback left frozen on purpose (RestoreIncomplete: Flux suspended, the
// workloads at 0, because a PVC may be missing). The count feeds the frozen-apps gauge; it is
// recomputed from the informers, so a human resuming the objects by hand clears it too.
import { ConditionType, Label, type FluxObjectRef } from "../api/index.ts";
import type { KubeObject } from "../kube/client.ts";
import { getCondition, type Conditions } from "../runtime/conditions.ts";

export const RESTORE_INCOMPLETE = "RestoreIncomplete";

export interface FrozenApps {
  /** Distinct apps ("namespace/app") still frozen. */
  readonly apps: ReadonlySet<string>;
  /**
   * Every Flux object ("Kind/namespace/name") such a rollback suspended, thawed or not: a change
   * to one may thaw an app (or, seen first at startup, show it is still frozen).
   */
  readonly objects: ReadonlySet<string>;
}

export const fluxKey = (f: FluxObjectRef) => `${f.kind}/${f.namespace}/${f.name}`;

/**
 * Pure: apps with a RollbackRequest that ended RestoreIncomplete while an object it suspended is
 * still suspended. `suspended` answers from the informers.
 */
export function frozenApps(
  rollbacks: readonly KubeObject[],
  suspended: (ref: FluxObjectRef) => boolean,
): FrozenApps {
  const apps = new Set<string>();
  const objects = new Set<string>();
  for (const r of rollbacks) {
    const status = r["status"] as { conditions?: unknown; suspended?: FluxObjectRef[] } | undefined;
    const complete = getCondition(status?.conditions as Conditions, ConditionType.Complete);
    if (complete?.status !== "False" || complete.reason !== RESTORE_INCOMPLETE) continue;
    const recorded = status?.suspended ?? [];
    for (const f of recorded) objects.add(fluxKey(f));
    if (!recorded.some(suspended)) continue;
    const app = r.metadata.labels?.[Label.ManagedApp] ?? r.metadata.name ?? "";
    apps.add(`${r.metadata.namespace ?? ""}/${app}`);
  }
  return { apps, objects };
}
