// ScaleUp: put the recorded replicas back. Idempotent: only workloads still at 0 are scaled, each
// held against the informer's copy that shows it at 0 (or read fresh when the copy does not).
import { restoreReplicas } from "../freeze.ts";
import type { RequestObject, StepHandler } from "../runner.ts";
import type { StepDeps } from "../step-deps.ts";

export type ScaleUpDeps<R> = Pick<StepDeps<R>, "client" | "world">;

export function scaleUpStep<R extends RequestObject<unknown>>(
  deps: ScaleUpDeps<R>,
): StepHandler<R> {
  return async (ctx) => {
    const restored = await restoreReplicas(deps.client, ctx.status(), (r) =>
      deps.world.workload(r.kind, r.namespace, r.name),
    );
    if (restored.length === 0)
      return {
        kind: "succeeded",
        reason: "NotNeeded",
        message: "every workload already runs its recorded replicas",
      };
    return { kind: "succeeded", message: `restored replicas: ${restored.join(", ")}` };
  };
}
