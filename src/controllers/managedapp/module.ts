// The ManagedApp controller: keeps each app's Ready condition, current version and discovery
// summary up to date, woken by changes of the app, its Flux objects and its namespaces' workloads,
// pods and PVCs (no polling).
import {
  API_VERSION,
  ConditionReason,
  ConditionType,
  Kind,
  ManagedApp,
  parseWithMessage,
} from "../../api/index.ts";
import type { Config } from "../../config.ts";
import type { NamespaceObjects } from "../../discovery/pvcs.ts";
import type { KubeClient, KubeObject } from "../../kube/client.ts";
import { isKubeError } from "../../kube/errors.ts";
import type { ControllerModule } from "../../manager.ts";
import type { Metrics } from "../../metrics.ts";
import type { Clock } from "../../runtime/clock.ts";
import { setCondition, type Condition } from "../../runtime/conditions.ts";
import { Controller } from "../../runtime/controller.ts";
import type { EventRecorder } from "../../runtime/events.ts";
import type { Informer } from "../../runtime/informer.ts";
import type { InformerFactory } from "../../runtime/informer-factory.ts";
import { NAMESPACE_INDEX } from "../../runtime/store.ts";
import { objectKey } from "../../runtime/keys.ts";
import type { LogFn } from "../../runtime/log.ts";
import { done, retry, type Outcome } from "../../runtime/outcome.ts";
import { StatusPatcher } from "../../runtime/status-patcher.ts";
import { WorkQueue } from "../../runtime/workqueue.ts";
import { evaluate, refsOf } from "./evaluate.ts";

export const NAME = "managedapp";
const FLUX_INDEX = "fluxRef";
const WATCHED_NAMESPACES_INDEX = "watchedNamespaces";

export interface ManagedAppDeps {
  readonly client: KubeClient;
  readonly clock: Clock;
  readonly log: LogFn;
  readonly metrics: Metrics;
  readonly events: EventRecorder;
  readonly config: Pick<Config, "allowCrossNamespaceRefs" | "workers">;
  readonly informers: InformerFactory;
}

const KINDS = {
  app: [API_VERSION, Kind.ManagedApp],
  kustomization: ["kustomize.toolkit.fluxcd.io/v1", "Kustomization"],
  helmRelease: ["helm.toolkit.fluxcd.io/v2", "HelmRelease"],
  deployment: ["apps/v1", "Deployment"],
  statefulSet: ["apps/v1", "StatefulSet"],
  replicaSet: ["apps/v1", "ReplicaSet"],
  pod: ["v1", "Pod"],
  pvc: ["v1", "PersistentVolumeClaim"],
} as const;

export function buildManagedAppModule(deps: ManagedAppDeps): ControllerModule {
  const informers = new Map<string, Informer>();
  const informer = (name: keyof typeof KINDS) => {
    const [apiVersion, kind] = KINDS[name];
    const i = deps.informers.for(apiVersion, kind);
    informers.set(kind, i);
    return i;
  };
  const apps = informer("app");
  const kustomizations = informer("kustomization");
  const helmReleases = informer("helmRelease");
  const namespaced = [
    informer("deployment"),
    informer("statefulSet"),
    informer("replicaSet"),
    informer("pod"),
    informer("pvc"),
  ] as const;

  const parsedApp = (obj: KubeObject) => ManagedApp.safeParse(obj);
  // Which apps a Flux object or a namespace concerns, so a change wakes exactly those apps.
  apps.addIndex(FLUX_INDEX, (obj) => {
    const parsed = parsedApp(obj);
    if (!parsed.success) return [];
    const refs = refsOf(parsed.data);
    return [
      `Kustomization/${refs.kustomization.namespace}/${refs.kustomization.name}`,
      ...(refs.helmRelease
        ? [`HelmRelease/${refs.helmRelease.namespace}/${refs.helmRelease.name}`]
        : []),
    ];
  });
  apps.addIndex(WATCHED_NAMESPACES_INDEX, (obj) => {
    const ns = obj.metadata.namespace ?? "";
    const found = (
      obj["status"] as { discovery?: { workloads?: { namespace?: string }[] } } | undefined
    )?.discovery?.workloads;
    return [...new Set([ns, ...(found ?? []).map((w) => w.namespace ?? ns)])];
  });

  const queue = new WorkQueue({
    clock: deps.clock,
    workers: deps.config.workers,
    hooks: deps.metrics.queueHooks(NAME),
  });
  const controller = new Controller({
    name: NAME,
    queue,
    reconcile: (key) => reconcile(key),
    log: deps.log,
    onOutcome: deps.metrics.onOutcome(NAME),
  });

  apps.onChange((ev) => controller.enqueue(ev.key));
  for (const [flux, kind] of [
    [kustomizations, "Kustomization"],
    [helmReleases, "HelmRelease"],
  ] as const) {
    flux.onChange((ev) => {
      for (const app of apps.byIndex(FLUX_INDEX, `${kind}/${ev.key}`))
        controller.enqueue(objectKey(app.metadata));
    });
  }
  for (const i of namespaced) {
    i.onChange((ev) => {
      for (const app of apps.byIndex(
        WATCHED_NAMESPACES_INDEX,
        ev.object.metadata.namespace ?? "",
      )) {
        controller.enqueue(objectKey(app.metadata));
      }
    });
  }

  const objectsIn = (namespaces: readonly string[]): NamespaceObjects => {
    const pick = (i: Informer) => namespaces.flatMap((ns) => i.byIndex(NAMESPACE_INDEX, ns));
    const [deployments, statefulSets, replicaSets, pods, pvcs] = namespaced.map(pick) as [
      KubeObject[],
      KubeObject[],
      KubeObject[],
      KubeObject[],
      KubeObject[],
    ];
    return { deployments, statefulSets, replicaSets, pods, pvcs };
  };

  async function reconcile(key: string): Promise<Outcome> {
    const obj = apps.get(key);
    if (!obj) return done();
    const ref = {
      apiVersion: API_VERSION,
      kind: Kind.ManagedApp,
      namespace: obj.metadata.namespace,
      name: obj.metadata.name ?? "",
    };
    const generation = obj.metadata.generation ?? 0;
    const patcher = StatusPatcher.from(obj);
    const previous = (obj["status"] ?? {}) as { conditions?: Condition[] };
    const now = deps.clock.now();
    const parsed = parseWithMessage(ManagedApp, obj);
    let next: Record<string, unknown>;
    let readyChange: { status: string; reason: string; message: string };
    if (!parsed.success) {
      readyChange = {
        status: "False",
        reason: ConditionReason.InvalidSpec,
        message: parsed.message,
      };
      next = { ...previous, observedGeneration: generation };
    } else {
      const refs = refsOf(parsed.data);
      const result = evaluate({
        app: parsed.data,
        allowCrossNamespaceRefs: deps.config.allowCrossNamespaceRefs,
        kustomization: kustomizations.get(
          `${refs.kustomization.namespace}/${refs.kustomization.name}`,
        ),
        helmRelease: refs.helmRelease
          ? helmReleases.get(`${refs.helmRelease.namespace}/${refs.helmRelease.name}`)
          : undefined,
        objects: objectsIn,
      });
      readyChange = result.ready;
      next = {
        ...previous,
        observedGeneration: generation,
        ...(result.currentVersion !== undefined ? { currentVersion: result.currentVersion } : {}),
        ...(result.discovery ? { discovery: result.discovery } : {}),
      };
    }
    const before = previous.conditions?.find((c) => c.type === ConditionType.Ready);
    next["conditions"] = setCondition(
      previous.conditions,
      { type: ConditionType.Ready, ...readyChange } as Parameters<typeof setCondition>[1],
      now,
      generation,
    );
    try {
      await patcher.patch(deps.client, ref, next);
    } catch (err) {
      if (isKubeError(err, "NotFound")) return done();
      return retry(err);
    }
    if (before?.status !== readyChange.status && readyChange.status !== "Unknown") {
      await deps.events.record(
        {
          apiVersion: API_VERSION,
          kind: Kind.ManagedApp,
          namespace: ref.namespace ?? "",
          name: ref.name,
          uid: obj.metadata.uid ?? "",
        },
        readyChange.status === "True" ? "Normal" : "Warning",
        readyChange.status === "True" ? "Ready" : readyChange.reason,
        "CheckHealth",
        readyChange.message,
      );
    }
    return done();
  }

  return { name: NAME, informers, controller };
}
