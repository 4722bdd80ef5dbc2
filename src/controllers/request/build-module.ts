// The wiring both request controllers share, once: the work queue and controller, the
// --watch-label-selector filter, the wake-ups from the informers, the runner's dependencies
// (own-version tracking, metrics, the crash hook), and the step dependencies (the request's app,
// its Git repository, its lock identity, its Events' second target). A request kind brings only
// what differs: its schema, its step table, how a raw request names its app, and its handlers.
import {
  API_VERSION,
  ConditionReason,
  Kind,
  Label,
  type ManagedApp,
  type RequestStatus,
} from "../../api/index.ts";
import type { KubeObject } from "../../kube/client.ts";
import type { ControllerModule } from "../../manager.ts";
import { Controller } from "../../runtime/controller.ts";
import type { Informer } from "../../runtime/informer.ts";
import { isKubeError } from "../../kube/errors.ts";
import { splitKey } from "../../runtime/keys.ts";
import { parseLabelSelector } from "../../runtime/label-selector.ts";
import { done } from "../../runtime/outcome.ts";
import { WorkQueue } from "../../runtime/workqueue.ts";
import type { z } from "zod";
import { CommitAncestry } from "./commit-ancestry.ts";
import { timeoutsFromApp } from "./deadlines.ts";
import type { RequestDeps } from "./deps.ts";
import { openRepo } from "./git-access.ts";
import { LockVersions } from "./lock.ts";
import { OwnVersions } from "../../runtime/own-versions.ts";
import { ProgressWrites } from "./progress-writes.ts";
import {
  runRequest,
  StepFailedError,
  type RequestMachine,
  type RequestObject,
  type StepContext,
} from "./runner.ts";
import { namespaceOf, releaseAppLock, type StepDeps } from "./step-deps.ts";
import type { StepDef, StepName } from "./step-table.ts";
import { judgeRequest, shardLabelPatch } from "./shard.ts";
import { wireWakeups, World } from "./world.ts";
import { echoingClient } from "./write-echoes.ts";

export interface RequestKind<R extends RequestObject<unknown>, N extends StepName> {
  /** The controller's name (queue metrics, logs). */
  readonly name: string;
  readonly kind: typeof Kind.UpgradeRequest | typeof Kind.RollbackRequest;
  readonly schema: z.ZodType<R>;
  readonly steps: readonly StepDef<N>[];
  /** The informer that holds this kind's requests. */
  readonly requests: (world: World) => Informer;
  /** The ManagedApp a raw request of this kind belongs to, when anything names one. */
  readonly appNameOf: (world: World) => (request: KubeObject) => string | undefined;
  /** The step handlers (one module per step) and the in-flight deletion handler. */
  readonly handlers: (deps: StepDeps<R>) => Pick<RequestMachine<R, N>, "handlers" | "onDelete">;
  /** Anything else the kind keeps up to date from the informers (the frozen-apps gauge). */
  readonly watch?: (world: World) => void;
  /** Called once a request of this kind has finished, after its final status is written. */
  readonly finished?: (world: World) => (request: R, reason: string, status: RequestStatus) => void;
}

export function buildRequestModule<R extends RequestObject<unknown>, N extends StepName>(
  deps: RequestDeps,
  kind: RequestKind<R, N>,
): ControllerModule {
  const world = new World(deps.informers);
  // The steps' writes of Flux objects are remembered until the informers show them (world.ts).
  const client = echoingClient(
    deps.client,
    world.echoes,
    (ref) => World.echoKey(ref),
    (key) => world.informed(key),
  );
  const requests = kind.requests(world);
  const rawAppName = kind.appNameOf(world);
  const parsedSelector = deps.config.watchLabelSelector
    ? parseLabelSelector(deps.config.watchLabelSelector)
    : undefined;
  const selector = parsedSelector?.ok ? parsedSelector.requirements : undefined;
  // Under --watch-label-selector another Cairn may own this request's app (shard.ts).
  const handles = async (request: KubeObject | undefined): Promise<boolean> => {
    if (!selector || !request) return true;
    const namespace = request.metadata.namespace ?? "";
    const appName = rawAppName(request);
    const app = appName !== undefined ? world.apps.get(`${namespace}/${appName}`) : undefined;
    const verdict = judgeRequest(selector, {
      labels: request.metadata.labels,
      appName,
      appSelected: app !== undefined,
    });
    if (verdict === "theirs") return false;
    if (verdict === "if-app-missing") {
      // Rare: the request carries this Cairn's labels but its app is not selected here. Only
      // the API can tell an app of another shard (or one this informer has not seen yet, whose
      // arrival wakes the request) from no app at all.
      const ref = {
        apiVersion: API_VERSION,
        kind: Kind.ManagedApp,
        namespace,
        name: appName ?? "",
      };
      return client.get(ref).then(
        () => false,
        (err: unknown) => {
          if (isKubeError(err, "NotFound")) return true;
          throw err;
        },
      );
    }
    // Only from an app: a request that names none is handled for its own labels (judgeRequest),
    // and taking them off would leave it to no controller.
    const patch = app
      ? shardLabelPatch(selector, app.metadata.labels, request.metadata.labels)
      : undefined;
    if (patch)
      await client
        .mergePatch(
          {
            apiVersion: API_VERSION,
            kind: kind.kind,
            namespace,
            name: request.metadata.name ?? "",
          },
          { metadata: { labels: patch } },
        )
        // The pass starts from the answer: the informer's copy is only behind this write.
        .then((labelled) => {
          const key = `${namespace}/${request.metadata.name ?? ""}`;
          versions.read(key, request);
          versions.wrote(key, labelled);
        })
        // A request deleted meanwhile: the runner's pass sees it gone.
        .catch((err: unknown) => {
          if (!isKubeError(err, "NotFound")) throw err;
        });
    return true;
  };

  const queue = new WorkQueue({
    clock: deps.clock,
    workers: deps.config.workers,
    hooks: deps.metrics.queueHooks(kind.name),
  });
  const controller = new Controller({
    name: kind.name,
    queue,
    reconcile: async (key, signal) => {
      const { namespace, name } = splitKey(key);
      if (!(await handles(requests.get(key)))) return done();
      return runRequest(machine, runnerDeps, { namespace: namespace ?? "", name }, signal);
    },
    log: deps.log,
    onOutcome: deps.metrics.onOutcome(kind.name),
  });
  const versions = new OwnVersions();
  wireWakeups(world, requests, (key) => controller.enqueue(key), versions);
  kind.watch?.(world);
  const onFinished = kind.finished?.(world);

  const runnerDeps = {
    client,
    cached: (key: string) => requests.get(key),
    versions,
    progress: new ProgressWrites(),
    clock: deps.clock,
    log: deps.log,
    events: deps.events,
    ...(deps.afterEffect
      ? { afterEffect: (step: string) => deps.afterEffect?.(`${kind.kind}/${step}`) }
      : {}),
    onStepEnd: deps.metrics.requestStepEnded,
    onFinished: (
      k: string,
      reason: string,
      status: RequestStatus,
      request: RequestObject<unknown>,
    ) => {
      deps.metrics.requestFinished(k, reason, status);
      onFinished?.(request as R, reason, status);
    },
  };

  const gitAccess = {
    client,
    cacheDir: deps.config.gitCacheDir,
    allowCrossNamespaceRefs: deps.config.allowCrossNamespaceRefs,
    pool: deps.gitWorkspaces,
    cachedGitRepository: (namespace: string, name: string) =>
      world.gitRepositories.get(`${namespace}/${name}`),
  };
  const appNameOf = (request: R) => rawAppName(request as unknown as KubeObject);
  const appOf = (ctx: StepContext<R>): ManagedApp | undefined => {
    const name = appNameOf(ctx.request);
    return name ? world.app(namespaceOf(ctx), name) : undefined;
  };
  const requireApp = (ctx: StepContext<R>): ManagedApp => {
    const app = appOf(ctx);
    // A deleted app does not come back: the request ends now (Compensate: resume Flux, restore
    // replicas; after the commit RollbackRequired), not at the step's deadline.
    if (!app)
      throw new StepFailedError(
        ConditionReason.AppNotFound,
        `ManagedApp ${namespaceOf(ctx)}/${appNameOf(ctx.request) ?? "?"} was deleted`,
      );
    return app;
  };
  const stepDeps: StepDeps<R> = {
    client,
    world,
    events: deps.events,
    config: deps.config,
    gitAccess,
    author: { name: deps.config.gitAuthorName, email: deps.config.gitAuthorEmail },
    ancestry: new CommitAncestry(),
    locks: new LockVersions(),
    appNameOf,
    appOf,
    requireApp,
    repoFor: async (ctx) => {
      const app = requireApp(ctx);
      const k = world.kustomizationOf(app);
      if (!k) throw new Error("the app's Kustomization is gone");
      return openRepo(gitAccess, app, k);
    },
    me: (ctx) => ({
      kind: kind.kind,
      name: ctx.request.metadata.name ?? "",
      uid: ctx.request.metadata.uid ?? "",
    }),
    regarding: (request) => {
      const name = appNameOf(request);
      const obj = name ? world.apps.get(`${request.metadata.namespace ?? ""}/${name}`) : undefined;
      return obj
        ? {
            apiVersion: API_VERSION,
            kind: Kind.ManagedApp,
            namespace: obj.metadata.namespace ?? "",
            name: obj.metadata.name ?? "",
            uid: obj.metadata.uid ?? "",
          }
        : undefined;
    },
  };

  const machine: RequestMachine<R, N> = {
    kind: kind.kind,
    steps: kind.steps,
    schema: kind.schema,
    ...kind.handlers(stepDeps),
    timeoutMs: timeoutsFromApp(appOf),
    release: async (ctx) => {
      const app = appOf(ctx);
      if (app) await releaseAppLock(stepDeps, ctx, app);
    },
    labelsOf: (request) => {
      const app = rawAppName(request);
      return app !== undefined && request.metadata.labels?.[Label.ManagedApp] !== app
        ? { [Label.ManagedApp]: app }
        : undefined;
    },
    alsoRegarding: stepDeps.regarding,
  };

  return { name: kind.name, informers: world.informers(), controller };
}
