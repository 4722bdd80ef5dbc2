// The frozen-apps gauge, recomputed from the informers whenever a rollback changes (its
// finishing status write included) or a Flux object that keeps an app frozen changes (a human
// resuming it by hand thaws the app).
import type { FluxObjectRef } from "../../api/index.ts";
import type { Metrics } from "../../metrics.ts";
import { isSuspended } from "../request/flux.ts";
import type { World } from "../request/world.ts";
import { fluxKey, frozenApps } from "./frozen.ts";

export function watchFrozenApps(world: World, metrics: Pick<Metrics, "setFrozenApps">): void {
  let frozenCandidates: ReadonlySet<string> = new Set();
  const recomputeFrozen = () => {
    const frozen = frozenApps(world.rollbacks.list(), (f) =>
      isSuspended(world.flux(f.kind, f.namespace, f.name)),
    );
    frozenCandidates = frozen.objects;
    metrics.setFrozenApps(frozen.apps.size);
  };
  world.rollbacks.onChange(recomputeFrozen);
  for (const informer of [world.kustomizations, world.helmReleases]) {
    informer.onChange((ev) => {
      const key = fluxKey({
        kind: informer.kind as FluxObjectRef["kind"],
        namespace: ev.object.metadata.namespace ?? "",
        name: ev.object.metadata.name ?? "",
      });
      if (frozenCandidates.has(key)) recomputeFrozen();
    });
  }
}
