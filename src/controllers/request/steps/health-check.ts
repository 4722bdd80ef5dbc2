// HealthCheck: the shared CheckHealth (health/check.ts) over the app's Flux objects, workloads,
// pods and planned PVCs, expecting the recorded replicas and, for a chart bump, the target chart.
// Only reads the informers, so it is idempotent; it waits (never fails) until its deadline.
import { refsOf } from "../../../discovery/app-refs.ts";
import { inventoryOf } from "../../../discovery/inventory.ts";
import { workloadRefs } from "../../../discovery/refs.ts";
import { checkHealth } from "../../../health/check.ts";
import type { KubeObject } from "../../../kube/client.ts";
import type { RequestObject, StepHandler } from "../runner.ts";
import { planOf, type StepDeps } from "../step-deps.ts";
import { bumpsChart } from "./await-flux.ts";

export type HealthCheckDeps<R> = Pick<StepDeps<R>, "world" | "requireApp">;

export function healthCheckStep<R extends RequestObject<unknown>>(
  deps: HealthCheckDeps<R>,
): StepHandler<R> {
  const { world } = deps;
  return (ctx) => {
    const p = planOf(ctx);
    const app = deps.requireApp(ctx);
    const refs = refsOf(app);
    const k = world.kustomizationOf(app);
    const hr = refs.helmRelease
      ? world.flux("HelmRelease", refs.helmRelease.namespace, refs.helmRelease.name)
      : undefined;
    const inventory = inventoryOf(refs.helmRelease ? hr : k);
    const inventoried = inventory.found ? workloadRefs(inventory.inventory.refs) : [];
    const expected = new Map<
      string,
      { kind: "Deployment" | "StatefulSet"; namespace: string; name: string; replicas: number }
    >();
    for (const w of inventoried) {
      const live = world.workload(w.kind, w.namespace, w.name);
      const replicas = (live?.["spec"] as { replicas?: number } | undefined)?.replicas ?? 1;
      expected.set(`${w.kind}/${w.namespace}/${w.name}`, { ...w, replicas: Math.max(1, replicas) });
    }
    for (const r of ctx.status().replicas ?? [])
      if (r.original > 0)
        expected.set(`${r.kind}/${r.namespace}/${r.name}`, { ...r, replicas: r.original });
    const namespaces = [
      ...new Set([app.metadata.namespace ?? "", ...[...expected.values()].map((w) => w.namespace)]),
    ];
    const objects = world.objectsIn(namespaces);
    const workloads = [...expected.values()]
      .map((w) => world.workload(w.kind, w.namespace, w.name))
      .filter((o): o is KubeObject => o !== undefined);
    const planned = new Set(p.volumes.map((v) => `${v.namespace}/${v.name}`));
    const result = checkHealth({
      kustomization: k ? { found: true, object: k } : { found: false, ...refs.kustomization },
      ...(refs.helmRelease
        ? { helmRelease: hr ? { found: true, object: hr } : { found: false, ...refs.helmRelease } }
        : {}),
      workloads,
      replicaSets: objects.replicaSets,
      pods: objects.pods,
      // Every planned PVC must be Bound, including restored ones whose class waited for a pod.
      pvcs: (objects.pvcs as KubeObject[]).filter((o) =>
        planned.has(`${o.metadata.namespace ?? ""}/${o.metadata.name ?? ""}`),
      ),
      expected: {
        replicasByWorkload: [...expected.values()],
        // Only a chart bump names the chart version to expect; a value (spec.values.image.tag)
        // leaves the chart where it was.
        ...(bumpsChart(p.git) && refs.helmRelease ? { chartVersion: p.git.to } : {}),
        pvcs: p.volumes.map((v) => ({ namespace: v.namespace, name: v.name })),
      },
    });
    return Promise.resolve(
      result.healthy
        ? { kind: "succeeded", message: result.message }
        : { kind: "waiting", reason: "InProgress", message: result.message, afterMs: 5_000 },
    );
  };
}
