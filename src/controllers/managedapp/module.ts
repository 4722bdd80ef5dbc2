// The ManagedApp controller: keeps each app's Ready condition, current version, discovery summary
// and FluxSuspended condition up to date, and starts its automatic upgrades (auto-update.ts),
// woken by changes of the app, its Flux objects, its namespaces' workloads, pods and PVCs, and
// its UpgradeRequests and RollbackRequests (no polling; a requeue only when a suspension will have
// lasted too long, or a maintenance window opens). Each pass gathers what the
// informers hold (plus Helm's storage for a HelmRelease without an inventory), evaluates it purely,
// and writes the difference.
import {
  API_VERSION,
  ConditionReason,
  ConditionType,
  Kind,
  Label,
  ManagedApp,
  type FluxObjectRef,
  parseWithMessage,
} from "../../api/index.ts";
import type { Config } from "../../config.ts";
import type { NamespaceObjects } from "../../discovery/pvcs.ts";
import { ReleaseCache } from "../../helm/cache.ts";
import type { KubeClient, KubeObject } from "../../kube/client.ts";
import { isKubeError } from "../../kube/errors.ts";
import type { ControllerModule } from "../../manager.ts";
import type { Metrics } from "../../metrics.ts";
import type { Clock } from "../../runtime/clock.ts";
import { setCondition, type Condition } from "../../runtime/conditions.ts";
import { Controller } from "../../runtime/controller.ts";
import type { EventRecorder } from "../../runtime/events.ts";
import { DEFAULT_RESYNC_MS, type ChangeEvent, type Informer } from "../../runtime/informer.ts";
import type { InformerFactory } from "../../runtime/informer-factory.ts";
import { NAMESPACE_INDEX } from "../../runtime/store.ts";
import { objectKey } from "../../runtime/keys.ts";
import type { LogFn } from "../../runtime/log.ts";
import { done, requeueAfter, retry, type Outcome } from "../../runtime/outcome.ts";
import { OwnVersions } from "../../runtime/own-versions.ts";
import { StatusPatcher } from "../../runtime/status-patcher.ts";
import { WorkQueue } from "../../runtime/workqueue.ts";
import {
  applyUpdateOutcome,
  newUpdateEvent,
  UPDATE_AVAILABLE,
  UpdateChecker,
} from "../../updates/checker.ts";
import type { WorkspacePool } from "../../git/workspace-pool.ts";
import { refsOf } from "../../discovery/app-refs.ts";
import { frozenApps } from "../../health/frozen-apps.ts";
import { appInfo } from "./app-info.ts";
import {
  AUTO_UPDATE,
  AUTO_UPDATE_LABEL_VALUE,
  autoRequest,
  AutoUpdateReason,
  completeOf,
  decideAutoUpdate,
  isAutoRequest,
  type AutoCondition,
} from "./auto-update.ts";
import { evaluate, type ReadyCondition } from "./evaluate.ts";
import { GitVersionCache, gitVersionReader } from "./git-version.ts";
import { readyEvent } from "./ready-event.ts";
import { holdingOperation, operationReady, operationSuspension } from "./operation-ready.ts";
import { ReleaseStorage, type ReleaseStorageView } from "../../helm/release-storage.ts";
import { appChanged, appRoutes, objectRoutes, routesChanged } from "./routing.ts";
import { pruneRequests } from "./prune-requests.ts";
import { needsReleaseStorage } from "./sources.ts";
import {
  decideSuspension,
  FLUX_SUSPENDED,
  holdingRequests,
  isSuspended,
  requestAppKey,
  runningOperations,
  SuspensionReason,
  type FluxObject,
  type SuspensionDecision,
} from "./suspension.ts";
import {
  readingInProgress,
  VERSION_RESOLVED,
  versionSourceOf,
  type VersionCondition,
  type VersionReading,
} from "./version.ts";

export const NAME = "managedapp";
const FLUX_INDEX = "fluxRef";
const WATCHED_NAMESPACES_INDEX = "watchedNamespaces";
const APP_INDEX = "managedApp";
const ROUTE_INDEX = "routes";

export interface ManagedAppDeps {
  readonly client: KubeClient;
  readonly clock: Clock;
  readonly log: LogFn;
  readonly metrics: Metrics;
  readonly events: EventRecorder;
  readonly config: Pick<
    Config,
    | "allowCrossNamespaceRefs"
    | "workers"
    | "suspendedWarningAfterMs"
    | "gitCacheDir"
    | "maxAutoUpgrades"
  >;
  readonly informers: InformerFactory;
  /** The process's Git workspaces, shared with the request controllers. */
  readonly gitWorkspaces: WorkspacePool;
}

// A Git read that failed for a reason outside the file (network, credentials) is retried this
// often; one read is bounded by GIT_READ_TIMEOUT_MS.
const GIT_RETRY_MS = 60_000;
const GIT_READ_TIMEOUT_MS = 30_000;

const KINDS = {
  app: [API_VERSION, Kind.ManagedApp],
  kustomization: ["kustomize.toolkit.fluxcd.io/v1", "Kustomization"],
  helmRelease: ["helm.toolkit.fluxcd.io/v2", "HelmRelease"],
  deployment: ["apps/v1", "Deployment"],
  statefulSet: ["apps/v1", "StatefulSet"],
  replicaSet: ["apps/v1", "ReplicaSet"],
  pod: ["v1", "Pod"],
  pvc: ["v1", "PersistentVolumeClaim"],
  upgradeRequest: [API_VERSION, Kind.UpgradeRequest],
  rollbackRequest: [API_VERSION, Kind.RollbackRequest],
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

  const requests = [informer("upgradeRequest"), informer("rollbackRequest")] as const;
  // Decoded Helm releases, shared by every app, and the last Secret list per HelmRelease.
  // A stuck release nothing announces (a person running helm) shows once the last list is a
  // resync period old, at the app's next pass: within two periods at most. Plan reads afresh.
  const releaseStorage = new ReleaseStorage(deps.client, new ReleaseCache(), {
    maxAgeMs: DEFAULT_RESYNC_MS,
    now: () => deps.clock.now().getTime(),
  });

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
      ...(refs.suspend
        ? [`${refs.suspend.kind}/${refs.suspend.namespace}/${refs.suspend.name}`]
        : []),
    ];
  });
  // A request names its app by label; an app's running operations are one index lookup.
  for (const r of requests) {
    r.addIndex(APP_INDEX, (obj) => {
      const app = requestAppKey(obj);
      return app ? [app] : [];
    });
  }
  apps.addIndex(ROUTE_INDEX, appRoutes);
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

  // The apps' own resync re-evaluates every app once per period, the safety net for anything
  // missed; the other kinds' resyncs would only repeat that, once per kind.
  const resync = (ev: ChangeEvent) => ev.type === "updated" && ev.resync;
  // The version of an app without a HelmRelease, read from Git when its applied commit moves.
  const gitVersions = new GitVersionCache({
    read: gitVersionReader({
      client: deps.client,
      pool: deps.gitWorkspaces,
      cacheDir: deps.config.gitCacheDir,
      allowCrossNamespaceRefs: deps.config.allowCrossNamespaceRefs,
      timeoutMs: GIT_READ_TIMEOUT_MS,
    }),
    clock: deps.clock,
    onSettled: (key) => controller.enqueue(key),
    retryAfterMs: GIT_RETRY_MS,
  });

  // The newest chart version the app's HelmRepository offers, woken by HelmRepository changes.
  const updateChecker = new UpdateChecker({
    client: deps.client,
    clock: deps.clock,
    informers: deps.informers,
    allowCrossNamespaceRefs: deps.config.allowCrossNamespaceRefs,
    enqueue: (key) => controller.enqueue(key),
  });
  for (const informer of updateChecker.informers) informers.set(informer.kind, informer);

  apps.onChange((ev) => {
    if (ev.type === "deleted") {
      gitVersions.forget(ev.key);
      updateChecker.forget(ev.key);
    }
    if (ev.type === "updated" && !ev.resync && !appChanged(ev.old, ev.object)) {
      // A status echo needs a pass only when it moved the app's wake routes (routesChanged).
      if (!routesChanged(ev.old, ev.object)) return;
    }
    controller.enqueue(ev.key);
  });
  for (const [flux, kind] of [
    [kustomizations, "Kustomization"],
    [helmReleases, "HelmRelease"],
  ] as const) {
    flux.onChange((ev) => {
      if (resync(ev)) return;
      if (kind === "HelmRelease" && ev.type === "deleted") {
        releaseStorage.forget(ev.object.metadata.namespace ?? "", ev.object.metadata.name ?? "");
      }
      for (const app of apps.byIndex(FLUX_INDEX, `${kind}/${ev.key}`))
        controller.enqueue(objectKey(app.metadata));
    });
  }
  // Apps whose automatic upgrade waits for a cluster-wide slot (--max-auto-upgrades): an
  // automatic request that ends, or goes, wakes them.
  const waitingForSlot = new Set<string>();
  requests[0].onChange((ev) => {
    if (resync(ev) || !isAutoRequest(ev.object)) return;
    const ended =
      ev.type === "deleted" ||
      (ev.type === "updated" &&
        completeOf(ev.old) === undefined &&
        completeOf(ev.object) !== undefined);
    if (!ended) return;
    for (const key of waitingForSlot) controller.enqueue(key);
    waitingForSlot.clear();
  });
  for (const r of requests) {
    r.onChange((ev) => {
      if (resync(ev)) return;
      // Both the app the request belongs to now and the one it belonged to (a relabel).
      const keys = [ev.object, ...(ev.type === "updated" ? [ev.old] : [])].map(requestAppKey);
      for (const key of new Set(keys)) if (key) controller.enqueue(key);
      // A request that ends (or goes) while it still holds a Flux object other apps share (the
      // freeze after a partial restore): those apps no longer count it as running
      // (holdingRequests), and no change of the object itself would tell them.
      const ended =
        ev.type === "deleted" ||
        (ev.type === "updated" &&
          runningOperations([ev.old]).length > 0 &&
          runningOperations([ev.object]).length === 0);
      if (ended)
        for (const f of suspendedBy(ev.object))
          for (const app of apps.byIndex(FLUX_INDEX, `${f.kind}/${f.namespace}/${f.name}`))
            controller.enqueue(objectKey(app.metadata));
    });
  }
  /** The Flux objects a request recorded as suspended by it (the CRD validates the list). */
  const suspendedBy = (request: KubeObject): readonly FluxObjectRef[] =>
    (request["status"] as { suspended?: FluxObjectRef[] } | undefined)?.suspended ?? [];
  const replicaSets = namespaced[2];
  const replicaSet = (ns: string, name: string) => replicaSets.get(`${ns}/${name}`);
  const wake = (obj: KubeObject) => {
    const routes = objectRoutes(obj, replicaSet);
    const found = routes
      ? routes.flatMap((r) => apps.byIndex(ROUTE_INDEX, r))
      : apps.byIndex(WATCHED_NAMESPACES_INDEX, obj.metadata.namespace ?? "");
    for (const app of found) controller.enqueue(objectKey(app.metadata));
  };
  for (const i of namespaced) {
    i.onChange((ev) => {
      if (resync(ev)) return;
      wake(ev.object);
      // What the object was matters too: a template that stopped mounting an app's PVC.
      if (ev.type === "updated") wake(ev.old);
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

  const fluxObject = (
    kind: FluxObject["kind"],
    target: { namespace: string; name: string },
  ): FluxObject => ({
    kind,
    ...target,
    object: (kind === "Kustomization" ? kustomizations : helmReleases).get(
      `${target.namespace}/${target.name}`,
    ),
  });

  // A rollback of the app that ended RestoreIncomplete while a Flux object it suspended is still
  // suspended: the same rule as the rollback controller's frozen-apps gauge.
  const isFrozen = (key: string): boolean =>
    frozenApps(requests[1].byIndex(APP_INDEX, key), (f) =>
      isSuspended(fluxObject(f.kind, f).object),
    ).apps.size > 0;

  // The app as our last status write left it: while the informer's copy is one we read or wrote
  // ourselves, a pass starts from our latest answer instead, or a change back to what that
  // lagging copy shows would look like nothing to write while the API holds our newer verdict.
  const versions = new OwnVersions();

  // Counting the automatic upgrades that run and creating one more is one step at a time in this
  // process (the leader's), on a fresh list: two apps' passes never both take the last slot.
  let slotQueue: Promise<unknown> = Promise.resolve();
  function startAuto(key: string, app: ManagedApp, name: string, version: string) {
    const run = slotQueue.then(async (): Promise<AutoCondition> => {
      const limit = deps.config.maxAutoUpgrades;
      const listed = await deps.client.list(API_VERSION, Kind.UpgradeRequest, {
        labelSelector: `${Label.AutoUpdate}=${AUTO_UPDATE_LABEL_VALUE}`,
      });
      // This app's own request, if an earlier pass made it, is no other upgrade's slot.
      const mine = (r: KubeObject) =>
        r.metadata.namespace === app.metadata.namespace && r.metadata.name === name;
      const running = listed.items.filter((r) => completeOf(r) === undefined && !mine(r));
      if (running.length >= limit) {
        waitingForSlot.add(key);
        const names = running
          .slice(0, 5)
          .map((r) => `${r.metadata.namespace ?? ""}/${r.metadata.name ?? ""}`);
        return {
          status: "False",
          reason: AutoUpdateReason.LimitReached,
          message:
            limit === 0
              ? `${version} waits: automatic upgrades are off in this controller (--max-auto-upgrades=0)`
              : `${version} waits for a slot: ${running.length} automatic upgrade(s) run (--max-auto-upgrades=${limit}): ${names.join(", ")}`,
        };
      }
      try {
        await deps.client.create(autoRequest(app, name, version));
      } catch (err) {
        // Made by an earlier pass whose answer this process did not get: it is the one.
        if (!isKubeError(err, "AlreadyExists")) throw err;
      }
      waitingForSlot.delete(key);
      return {
        status: "True",
        reason: AutoUpdateReason.UpgradeStarted,
        message: `started UpgradeRequest ${name} to ${version} (autoUpdate: ${app.spec.versionPolicy.autoUpdate})`,
      };
    });
    slotQueue = run.catch(() => undefined);
    return run;
  }

  async function reconcile(key: string): Promise<Outcome> {
    const cached = apps.get(key);
    const obj = versions.startFrom(key, cached) ?? cached;
    if (obj && obj === cached) versions.read(key, obj);
    if (!obj) {
      versions.forget(key);
      const [namespace = "", name = ""] = key.split("/");
      deps.metrics.setAppInfo({ namespace, name }, undefined);
      return done();
    }
    const ref = {
      apiVersion: API_VERSION,
      kind: Kind.ManagedApp,
      namespace: obj.metadata.namespace,
      name: obj.metadata.name ?? "",
    };
    const generation = obj.metadata.generation ?? 0;
    const patcher = StatusPatcher.from(obj);
    const previous = (obj["status"] ?? {}) as {
      conditions?: Condition[];
      fluxSuspendedSince?: string;
      currentVersion?: string;
      availableUpdate?: string;
    };
    const now = deps.clock.now();
    const parsed = parseWithMessage(ManagedApp, obj);
    const next: Record<string, unknown> = { ...previous, observedGeneration: generation };
    let ready: ReadyCondition;
    let suspension: SuspensionDecision | undefined;
    let version: VersionReading | undefined;
    let versionRequeueMs: number | undefined;
    let update: ReturnType<UpdateChecker["check"]> | undefined;
    let operationRunning = false;
    /** undefined: leave the AutoUpdate condition as it is; null: remove it. */
    let auto: AutoCondition | null | undefined;
    let autoRequeueMs: number | undefined;
    let autoStarted = false;
    let autoFailure: unknown;
    if (!parsed.success) {
      ready = { status: "False", reason: ConditionReason.InvalidSpec, message: parsed.message };
    } else {
      // Gather: the informers' objects, and Helm's storage for every HelmRelease (sources.ts).
      const refs = refsOf(parsed.data);
      const appRequests = requests.flatMap((r) => r.byIndex(APP_INDEX, key));
      const holder = holdingOperation(appRequests);
      const kustomization = fluxObject("Kustomization", refs.kustomization);
      const helmRelease = refs.helmRelease
        ? fluxObject("HelmRelease", refs.helmRelease)
        : undefined;
      let storage: ReleaseStorageView | undefined;
      if (!holder && helmRelease?.object && needsReleaseStorage(refs, helmRelease.object)) {
        try {
          storage = await releaseStorage.read(helmRelease.object);
        } catch (err) {
          return retry(err);
        }
      }
      const result = evaluate({
        app: parsed.data,
        allowCrossNamespaceRefs: deps.config.allowCrossNamespaceRefs,
        kustomization: kustomization.object,
        helmRelease: helmRelease?.object,
        releaseStorage: storage,
        objects: objectsIn,
      });
      ready = holder ? operationReady(holder) : result.ready;
      // While the app's own request holds it, the version stays as it was: the request records
      // the version it brought (Finish) and its outcome Event says so, and the first pass after
      // it reads the version again.
      const versionSource = holder
        ? undefined
        : versionSourceOf({
            app: parsed.data,
            refs,
            referencesAllowed: result.ready.reason !== ConditionReason.ReferenceDenied,
            kustomization: kustomization.object,
            helmRelease: helmRelease?.object,
          });
      if (versionSource?.from === "known") {
        version = versionSource.reading;
        if (versionSource.check && kustomization.object) {
          // A HelmRelease app's version is its HelmRelease's; its Git settings are still
          // checked, and a failure (naming the field) is what VersionResolved shows.
          const checked = gitVersions.lookup(
            key,
            parsed.data,
            kustomization.object,
            versionSource.check,
          );
          if (checked.reading?.condition.status === "False") {
            version = { ...versionSource.reading, condition: checked.reading.condition };
          }
          versionRequeueMs = checked.requeueAfterMs;
        }
      } else if (versionSource && kustomization.object) {
        const cached = gitVersions.lookup(
          key,
          parsed.data,
          kustomization.object,
          versionSource.query,
        );
        // While the first read runs, the last answer stands (or InProgress when there is none);
        // the read's end runs another pass.
        if (cached.reading) version = cached.reading;
        else if (!previous.conditions?.some((c) => c.type === VERSION_RESOLVED)) {
          version = readingInProgress(versionSource.query);
        }
        versionRequeueMs = cached.requeueAfterMs;
      }
      if (version?.value !== undefined) next["currentVersion"] = version.value;
      update = updateChecker.check(key, parsed.data, helmRelease?.object, {
        current: next["currentVersion"] as string | undefined,
        reported: previous.conditions?.some((c) => c.type === UPDATE_AVAILABLE) ?? false,
      });
      if (update.outcome) applyUpdateOutcome(next, update.outcome);
      // While a request holds the app, its summary stays the one from before (operation-ready.ts).
      if (result.discovery && !holder) next["discovery"] = result.discovery;
      const flux = [kustomization, ...(helmRelease ? [helmRelease] : [])];
      // The suspendRef is what Cairn suspends instead, so a forgotten suspend may sit there.
      if (
        refs.suspend &&
        !flux.some(
          (f) =>
            f.kind === refs.suspend?.kind &&
            f.namespace === refs.suspend.namespace &&
            f.name === refs.suspend.name,
        )
      ) {
        flux.push(fluxObject(refs.suspend.kind, refs.suspend));
      }
      const own = runningOperations(appRequests);
      // Another app's request holding a Flux object this app shares explains its suspend too
      // (and the Ready changes it brings are not worth a Warning on this app either).
      const operations = [
        ...own,
        ...holdingRequests(
          flux,
          (kind, namespace, name) =>
            requests[kind === Kind.UpgradeRequest ? 0 : 1].get(`${namespace}/${name}`),
          obj.metadata.namespace ?? "",
        ).filter((h) => !own.some((o) => o.kind === h.kind && o.name === h.name)),
      ].sort((a, b) => `${a.kind}/${a.name}`.localeCompare(`${b.kind}/${b.name}`));
      operationRunning = operations.length > 0;
      // While the app's own request holds it, its suspends and resumes are the request's to
      // tell (operation-ready.ts).
      suspension = holder
        ? operationSuspension(holder)
        : decideSuspension({
            flux,
            operations,
            since: previous.fluxSuspendedSince,
            now,
            warnAfterMs: deps.config.suspendedWarningAfterMs,
          });
      if (suspension.since !== undefined) next["fluxSuspendedSince"] = suspension.since;
      else delete next["fluxSuspendedSince"];
      // Automatic upgrades, once the versions are read (auto-update.ts).
      if (update.outcome) {
        const namespace = obj.metadata.namespace ?? "";
        const decision = decideAutoUpdate({
          app: parsed.data,
          current: next["currentVersion"] as string | undefined,
          availableUpdate: next["availableUpdate"] as string | undefined,
          autoTarget: update.outcome.autoTarget,
          ready: ready.status === "True",
          frozen: isFrozen(key),
          running: own[0],
          requestNamed: (name) => requests[0].get(`${namespace}/${name}`),
          now,
        });
        if (decision.kind === "off") {
          auto = null;
          waitingForSlot.delete(key);
        } else if (decision.kind === "hold") {
          auto = decision.condition;
          autoRequeueMs = decision.requeueAfterMs;
          if (decision.condition.reason !== AutoUpdateReason.LimitReached)
            waitingForSlot.delete(key);
        } else {
          try {
            auto = await startAuto(key, parsed.data, decision.name, decision.version);
            autoStarted = auto.reason === AutoUpdateReason.UpgradeStarted;
          } catch (err) {
            // Said on the app, and tried again with backoff once the status is written.
            autoFailure = err;
            auto = {
              status: "False",
              reason: AutoUpdateReason.StartFailed,
              message:
                `could not start UpgradeRequest ${decision.name} to ${decision.version}: ${err instanceof Error ? err.message : String(err)}`.slice(
                  0,
                  4_000,
                ),
            };
          }
        }
      }
    }
    const before = previous.conditions?.find((c) => c.type === ConditionType.Ready);
    const suspendedBefore = previous.conditions?.find((c) => c.type === FLUX_SUSPENDED);
    const versionBefore = previous.conditions?.find((c) => c.type === VERSION_RESOLVED);
    // Ready always; the others only when this pass decided them.
    const updates = [
      { type: ConditionType.Ready, ...ready },
      ...(suspension ? [{ type: FLUX_SUSPENDED, ...suspension.condition }] : []),
      ...(version ? [{ type: VERSION_RESOLVED, ...version.condition }] : []),
      ...(update?.outcome ? [{ type: UPDATE_AVAILABLE, ...update.outcome.condition }] : []),
    ];
    if (auto) updates.push({ type: AUTO_UPDATE, ...auto });
    const conditions = updates.reduce<Condition[] | undefined>(
      (list, update) => setCondition(list, update, now, generation),
      auto === null
        ? previous.conditions?.filter((c) => c.type !== AUTO_UPDATE)
        : previous.conditions,
    );
    next["conditions"] = conditions;
    try {
      const sent = await patcher.patch(deps.client, ref, next);
      if (sent.object) versions.wrote(key, sent.object);
    } catch (err) {
      if (isKubeError(err, "NotFound")) return done();
      return retry(err);
    }
    deps.metrics.setAppInfo(
      { namespace: ref.namespace ?? "", name: ref.name },
      appInfo(next, isFrozen(key)),
    );
    const regarding = {
      apiVersion: API_VERSION,
      kind: Kind.ManagedApp,
      namespace: ref.namespace ?? "",
      name: ref.name,
      uid: obj.metadata.uid ?? "",
    };
    // Events are best effort and never throw; the worker does not wait for them.
    const event = readyEvent({ before, ready, operationRunning });
    if (event) {
      void deps.events.record(regarding, event.type, event.reason, "CheckHealth", ready.message);
    }
    if (
      suspension?.condition.reason === SuspensionReason.SuspendedTooLong &&
      suspendedBefore?.reason !== SuspensionReason.SuspendedTooLong
    ) {
      void deps.events.record(
        regarding,
        "Warning",
        SuspensionReason.SuspendedTooLong,
        "CheckSuspension",
        suspension.condition.message,
      );
    }
    recordVersionEvents(regarding, versionBefore, version, previous.currentVersion);
    if (autoStarted && auto)
      void deps.events.record(
        regarding,
        "Normal",
        "AutoUpgradeStarted",
        "AutoUpdate",
        auto.message,
      );
    const offered = update?.outcome && newUpdateEvent(previous.availableUpdate, update.outcome);
    if (offered)
      void deps.events.record(regarding, "Normal", offered.reason, "CheckUpdates", offered.message);
    if (parsed.success) {
      // Finished requests beyond the app's spec.requestHistory limits (prune-requests.ts).
      try {
        const pruned = await pruneRequests(
          deps.client,
          { upgrades: requests[0], rollbacks: requests[1] },
          parsed.data,
        );
        if (pruned.length > 0) {
          const names = pruned.map((r) => `${r.kind} ${r.name}`).join(", ");
          void deps.events.record(
            regarding,
            "Normal",
            "RequestsPruned",
            "PruneRequests",
            `deleted ${pruned.length} finished request(s) beyond spec.requestHistory: ${names}`,
          );
        }
      } catch (err) {
        return retry(err);
      }
    }
    if (autoFailure !== undefined) return retry(autoFailure);
    const requeues = [
      suspension?.requeueAfterMs,
      versionRequeueMs,
      update?.requeueAfterMs,
      autoRequeueMs,
    ].filter((ms): ms is number => ms !== undefined);
    return requeues.length > 0 ? requeueAfter(Math.min(...requeues)) : done();
  }

  // A version that cannot be read is worth a Warning once per new reason; a version that
  // moved (Flux applied a new commit) is worth a Normal Event.
  function recordVersionEvents(
    regarding: Parameters<EventRecorder["record"]>[0],
    before: Condition | undefined,
    version: VersionReading | undefined,
    previousVersion: string | undefined,
  ): void {
    if (!version) return;
    const c: VersionCondition = version.condition;
    if (c.status === "False" && (before?.status !== "False" || before.reason !== c.reason)) {
      void deps.events.record(regarding, "Warning", c.reason, "ReadVersion", c.message);
    }
    if (
      version.value !== undefined &&
      previousVersion !== undefined &&
      version.value !== previousVersion
    ) {
      void deps.events.record(
        regarding,
        "Normal",
        "VersionChanged",
        "ReadVersion",
        `current version ${previousVersion} → ${version.value} (${c.message})`,
      );
    }
  }

  return { name: NAME, informers, controller };
}
