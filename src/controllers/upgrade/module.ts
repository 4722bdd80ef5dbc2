// The UpgradeRequest controller: plan, take the app's lock, suspend Flux, stop the workloads
// that mount the app's single-writer PVCs, snapshot them, commit the version bump, resume Flux,
// wait until Flux applied the commit, scale back, check health, finish; or compensate. One
// idempotent handler per step, run by the shared phase-machine shell (request/runner.ts).
import {
  API_VERSION,
  ConditionReason,
  ConditionType,
  Kind,
  Label,
  UpgradeRequest,
  type FluxObjectRef,
  type ManagedApp,
  type PlannedWorkload,
} from "../../api/index.ts";
import { inventoryOf } from "../../discovery/inventory.ts";
import { discoverPvcs } from "../../discovery/pvcs.ts";
import { workloadRefs } from "../../discovery/refs.ts";
import { workloadsToStop } from "../../discovery/workloads.ts";
import { GitError } from "../../git/errors.ts";
import type { KubeObject } from "../../kube/client.ts";
import { isKubeError } from "../../kube/errors.ts";
import type { ControllerModule } from "../../manager.ts";
import { isTrue, rfc3339 } from "../../runtime/conditions.ts";
import { Controller } from "../../runtime/controller.ts";
import { splitKey } from "../../runtime/keys.ts";
import { WorkQueue } from "../../runtime/workqueue.ts";
import { parseLabelSelector } from "../../runtime/label-selector.ts";
import { done } from "../../runtime/outcome.ts";
import { refsOf } from "../managedapp/evaluate.ts";
import { timeoutsFromApp } from "../request/deadlines.ts";
import type { RequestDeps } from "../request/deps.ts";
import { fluxRef, isSuspended, applierOwnsSuspend, appliedBy } from "../request/flux.ts";
import { fluxSteps } from "../request/flux-steps.ts";
import { openRepo, type OpenedRepo } from "../request/git-access.ts";
import { commitChange, trailerOf } from "../request/git-change.ts";
import { handOverLock, holderIsLive, lockHolder, releaseLock } from "../request/lock.ts";
import type { StepResult } from "../request/result.ts";
import { runRequest, type RequestMachine, type StepContext } from "../request/runner.ts";
import { pruneSnapshots } from "../request/retention.ts";
import {
  admit,
  resumeRecorded,
  restoreReplicas,
  scaleDown,
  scaleUp,
  stillSuspended,
  suspendFlux,
} from "../request/shell-steps.ts";
import { isOurs, SNAPSHOT_API, snapshotObject, snapshotState } from "../request/snapshots.ts";
import { UPGRADE_STEPS, type UpgradeStepName } from "../request/steps.ts";
import { handlesRequest, wireWakeups, World } from "../request/world.ts";
import { OwnVersions } from "../request/own-versions.ts";
import { composePlan, failedChecks, snapshotsWanted } from "./plan.ts";
import { chooseSnapshotClass } from "./snapshot-class.ts";

export const NAME = "upgraderequest";
const SNAPSHOT_ERROR_GRACE_MS = 60_000;

type Ctx = StepContext<UpgradeRequest>;

/** The ManagedApp an UpgradeRequest names, read from the raw object. */
export function upgradeAppName(request: KubeObject): string | undefined {
  return (request["spec"] as { managedAppRef?: { name?: string } } | undefined)?.managedAppRef
    ?.name;
}

export function rollbackName(upgrade: string): string {
  const name = `${upgrade}-rollback`;
  return name.length <= 63 ? name : `${upgrade.slice(0, 54).replace(/-+$/, "")}-rollback`;
}

export function buildUpgradeModule(deps: RequestDeps): ControllerModule {
  const world = new World(deps.informers);
  const parsedSelector = deps.config.watchLabelSelector
    ? parseLabelSelector(deps.config.watchLabelSelector)
    : undefined;
  const selector = parsedSelector?.ok ? parsedSelector.requirements : undefined;
  const appVisible = (namespace: string, name: string) =>
    world.apps.get(`${namespace}/${name}`) !== undefined;
  const { client } = deps;
  const queue = new WorkQueue({
    clock: deps.clock,
    workers: deps.config.workers,
    hooks: deps.metrics.queueHooks(NAME),
  });
  const controller = new Controller({
    name: NAME,
    queue,
    reconcile: (key, signal) => {
      const { namespace, name } = splitKey(key);
      if (!handlesRequest(selector, world.upgrades.get(key), appVisible, upgradeAppName))
        return Promise.resolve(done());
      return runRequest(machine, runnerDeps, { namespace: namespace ?? "", name }, signal);
    },
    log: deps.log,
    onOutcome: deps.metrics.onOutcome(NAME),
  });
  const versions = new OwnVersions();
  wireWakeups(world, world.upgrades, (key) => controller.enqueue(key), versions);

  const runnerDeps = {
    client,
    cached: (key: string) => world.upgrades.get(key),
    versions,
    clock: deps.clock,
    log: deps.log,
    events: deps.events,
    ...(deps.afterEffect
      ? { afterEffect: (step: string) => deps.afterEffect?.(`UpgradeRequest/${step}`) }
      : {}),
    onStepEnd: deps.metrics.requestStepEnded,
    onFinished: deps.metrics.requestFinished,
  };

  const gitAccess = {
    client,
    cacheDir: deps.config.gitCacheDir,
    allowCrossNamespaceRefs: deps.config.allowCrossNamespaceRefs,
    pool: deps.gitWorkspaces,
  };
  const ns = (ctx: Ctx) => ctx.request.metadata.namespace ?? "";
  const appOf = (ctx: Ctx): ManagedApp | undefined =>
    world.app(ns(ctx), ctx.request.spec.managedAppRef.name);
  const requireApp = (ctx: Ctx): ManagedApp => {
    const app = appOf(ctx);
    if (!app)
      throw new Error(`ManagedApp ${ns(ctx)}/${ctx.request.spec.managedAppRef.name} not found`);
    return app;
  };
  const planOf = (ctx: Ctx) => {
    const plan = ctx.status().plan;
    if (!plan) throw new Error("status.plan is missing");
    return plan;
  };
  const kustomizationOf = (app: ManagedApp) => {
    const k = refsOf(app).kustomization;
    return world.flux("Kustomization", k.namespace, k.name);
  };
  const repoFor = async (ctx: Ctx): Promise<OpenedRepo> => {
    const app = requireApp(ctx);
    const k = kustomizationOf(app);
    if (!k) throw new Error("the app's Kustomization is gone");
    return openRepo(gitAccess, app, k);
  };
  const me = (ctx: Ctx) => ({
    kind: Kind.UpgradeRequest,
    name: ctx.request.metadata.name,
    uid: ctx.request.metadata.uid ?? "",
  });
  const appRegarding = (r: UpgradeRequest) => {
    const obj = world.apps.get(`${r.metadata.namespace ?? ""}/${r.spec.managedAppRef.name}`);
    return obj
      ? {
          apiVersion: API_VERSION,
          kind: Kind.ManagedApp,
          namespace: obj.metadata.namespace ?? "",
          name: obj.metadata.name ?? "",
          uid: obj.metadata.uid ?? "",
        }
      : undefined;
  };

  async function plan(ctx: Ctx): Promise<StepResult> {
    const dry = ctx.request.spec.dryRun;
    const end = (reason: string, message: string): StepResult => ({
      kind: "finished",
      complete: "False",
      reason: dry ? "DryRunFailed" : reason,
      message,
    });
    const app = appOf(ctx);
    if (!app)
      return end(
        ConditionReason.AppNotFound,
        `spec.managedAppRef.name: ManagedApp ${ns(ctx)}/${ctx.request.spec.managedAppRef.name} not found`,
      );
    if (ctx.request.metadata.labels?.[Label.ManagedApp] !== app.metadata.name)
      await client.mergePatch(
        {
          apiVersion: API_VERSION,
          kind: Kind.UpgradeRequest,
          namespace: ns(ctx),
          name: ctx.request.metadata.name,
        },
        { metadata: { labels: { [Label.ManagedApp]: app.metadata.name } } },
      );
    if (!dry) {
      // Another request holds the app and is changing what a plan reads (Flux suspended,
      // workloads at 0, the version in Git): plan once it lets go, or this plan would fail on
      // its freeze or be stale by the time this request is admitted.
      const holder = await lockHolder(client, ns(ctx), app.metadata.uid ?? "");
      if (
        holder &&
        holder.uid !== ctx.request.metadata.uid &&
        (await holderIsLive(client, ns(ctx), holder))
      )
        return {
          kind: "waiting",
          reason: ConditionReason.Waiting,
          message: `waiting for ${holder.kind} ${holder.name}, which holds the app; planning once it lets go`,
          afterMs: 10_000,
        };
    }
    const refs = refsOf(app);
    const own = app.metadata.namespace ?? "";
    if (!deps.config.allowCrossNamespaceRefs) {
      const away = [
        refs.kustomization.namespace !== own ? "spec.kustomizationRef.namespace" : undefined,
        refs.helmRelease && refs.helmRelease.namespace !== own
          ? "spec.helmReleaseRef.namespace"
          : undefined,
        app.spec.suspendRef?.namespace && app.spec.suspendRef.namespace !== own
          ? "spec.suspendRef.namespace"
          : undefined,
      ].filter((f): f is string => f !== undefined);
      if (away.length > 0)
        return end(
          ConditionReason.ReferenceDenied,
          `${away.join(", ")} of ManagedApp ${own}/${app.metadata.name}: references must stay in namespace ${own}`,
        );
    }
    const kustomization = world.flux(
      "Kustomization",
      refs.kustomization.namespace,
      refs.kustomization.name,
    );
    const helmRelease = refs.helmRelease
      ? world.flux("HelmRelease", refs.helmRelease.namespace, refs.helmRelease.name)
      : undefined;
    const target: FluxObjectRef = app.spec.suspendRef
      ? {
          kind: app.spec.suspendRef.kind,
          namespace: app.spec.suspendRef.namespace ?? own,
          name: app.spec.suspendRef.name,
        }
      : { kind: "Kustomization", ...refs.kustomization };
    const fluxRefs: FluxObjectRef[] = [target];
    if (
      refs.helmRelease &&
      !(
        target.kind === "HelmRelease" &&
        target.name === refs.helmRelease.name &&
        target.namespace === refs.helmRelease.namespace
      )
    )
      fluxRefs.push({ kind: "HelmRelease", ...refs.helmRelease });
    const flux = fluxRefs.map((ref) => ({
      ref,
      object: world.flux(ref.kind, ref.namespace, ref.name),
    }));
    const runningParents: string[] = [];
    // Fresh from the API: the informers drop managedFields, which say who owns spec.suspend.
    const target0 = flux[0]?.ref;
    const targetObj = target0
      ? await client.get(fluxRef(target0)).catch((err: unknown) => {
          if (isKubeError(err, "NotFound")) return undefined;
          throw err;
        })
      : undefined;
    const parent = targetObj ? appliedBy(targetObj) : undefined;
    if (targetObj && parent && applierOwnsSuspend(targetObj)) {
      const p = world.flux("Kustomization", parent.namespace, parent.name);
      if (p && !isSuspended(p))
        runningParents.push(`Kustomization ${parent.namespace}/${parent.name}`);
    }
    const sourceRef = (
      kustomization?.["spec"] as
        { sourceRef?: { kind?: string; name?: string; namespace?: string } } | undefined
    )?.sourceRef;
    const gitRepository =
      sourceRef?.kind === "GitRepository" && sourceRef.name
        ? { namespace: sourceRef.namespace ?? refs.kustomization.namespace, name: sourceRef.name }
        : undefined;

    let git: Parameters<typeof composePlan>[0]["git"];
    if (!kustomization) {
      git = {
        ok: false,
        message: `Kustomization ${refs.kustomization.namespace}/${refs.kustomization.name} not found`,
      };
    } else {
      try {
        const repo = await openRepo(gitAccess, app, kustomization);
        const head = await repo.ws.fetch();
        const content = await repo.ws.readFile(head, app.spec.gitPath);
        let canPush: { ok: boolean; message: string };
        try {
          // The head just fetched: a second fetch would only repeat the round trip.
          await repo.ws.canPush({ head });
          canPush = { ok: true, message: `the credentials may push to ${repo.branch}` };
        } catch (err) {
          canPush = {
            ok: false,
            message: `the credentials may not push to ${repo.branch}: ${err instanceof Error ? err.message : String(err)}`,
          };
        }
        git = { ok: true, url: repo.url, branch: repo.branch, head, content, canPush };
      } catch (err) {
        git = { ok: false, message: err instanceof Error ? err.message : String(err) };
      }
    }

    // Discovery, once: inventory → workloads → PVCs → every workload that mounts them.
    const source = refs.helmRelease ? helmRelease : kustomization;
    const inventory = inventoryOf(source);
    const discoveryProblems: string[] = [];
    if (source && !inventory.found)
      discoveryProblems.push(
        `${refs.helmRelease ? "HelmRelease" : "Kustomization"} has no status.inventory yet; cannot tell which workloads to stop`,
      );
    const workloads = inventory.found ? workloadRefs(inventory.inventory.refs) : [];
    const namespaces = [...new Set([own, ...workloads.map((w) => w.namespace)])];
    const objects = world.objectsIn(namespaces);
    const explicit = app.spec.volumeSnapshots.pvcs?.map((p) => ({
      namespace: p.namespace ?? own,
      name: p.name,
    }));
    const exclude = app.spec.volumeSnapshots.excludePVCs?.map((p) => ({
      namespace: p.namespace ?? own,
      name: p.name,
    }));
    const pvcs = discoverPvcs({ workloads, objects, explicit, exclude });
    const stop = workloadsToStop({ pvcs: pvcs.pvcs, objects });
    for (const u of stop.unstoppable) if (u.running) discoveryProblems.push(u.message);
    for (const u of stop.unsafe) discoveryProblems.push(u.message);
    const volumes: KubeObject[] = [];
    const missingVolumes: string[] = pvcs.missing.map((m) => `${m.namespace}/${m.name}`);
    for (const p of pvcs.pvcs) {
      const obj = world.pvcs.get(`${p.namespace}/${p.name}`);
      if (obj) volumes.push(obj);
      else missingVolumes.push(`${p.namespace}/${p.name}`);
    }
    const plannedWorkloads: PlannedWorkload[] = stop.workloads.map((w) => ({
      kind: w.kind,
      namespace: w.namespace,
      name: w.name,
      replicas: w.replicas,
    }));
    const snapshotClass =
      snapshotsWanted(ctx.request, app) && volumes.length > 0
        ? await chooseSnapshotClass(
            client,
            volumes,
            app.spec.volumeSnapshots.volumeSnapshotClassName,
          )
        : undefined;
    const { plan: composed, checks } = composePlan({
      request: ctx.request,
      app,
      flux,
      runningParents,
      gitRepository,
      git,
      volumes,
      missingVolumes: [...new Set(missingVolumes)],
      workloads: plannedWorkloads,
      discoveryProblems,
      snapshotClass,
    });
    const failed = failedChecks(checks);
    if (failed.length > 0 || !composed)
      return {
        kind: "finished",
        complete: "False",
        reason: dry ? "DryRunFailed" : ConditionReason.PlanFailed,
        message:
          `${failed.length} check(s) failed: ${failed.map((c) => `${c.name}: ${c.message}`).join("; ")}`.slice(
            0,
            32_000,
          ),
        facts: { preflight: checks, ...(composed ? { plan: composed } : {}) },
      };
    const summary = `${composed.git.from} → ${composed.git.to} in ${composed.git.path}; ${composed.volumes.length} PVC(s), ${composed.workloads.length} workload(s)`;
    if (dry)
      return {
        kind: "finished",
        complete: "True",
        reason: ConditionReason.DryRunSucceeded,
        message: `dry run: ${summary}; nothing was changed`,
        facts: { plan: composed, preflight: checks },
      };
    return {
      kind: "succeeded",
      message: `planned ${summary}`,
      facts: { plan: composed, preflight: checks },
    };
  }

  async function snapshot(ctx: Ctx): Promise<StepResult> {
    const p = planOf(ctx);
    const wanted = p.volumes.filter((v) => v.snapshot !== undefined);
    if (wanted.length === 0) {
      const why = ctx.request.spec.skipSnapshot
        ? "skipSnapshot is set on the request"
        : "the app does not enable volumeSnapshots";
      return { kind: "succeeded", reason: "NotNeeded", message: `no snapshots: ${why}` };
    }
    if (!ctx.status().snapshots)
      await ctx.save({
        snapshots: wanted.map((v) => ({
          namespace: v.namespace,
          name: v.snapshot ?? "",
          pvcName: v.name,
        })),
      });
    const uid = ctx.request.metadata.uid ?? "";
    let ready = 0;
    const problems: string[] = [];
    const pending: string[] = [];
    for (const v of wanted) {
      const name = v.snapshot ?? "";
      let obj = world.snapshots.get(`${v.namespace}/${name}`);
      if (!obj) {
        // Not cached: usually not made yet, so create first; an existing one (a cache that lags,
        // or a name someone else took) answers AlreadyExists and is read instead.
        try {
          obj = await client.create(
            snapshotObject({
              namespace: v.namespace,
              name,
              pvc: v.name,
              className: p.volumeSnapshotClassName,
              app: ctx.request.spec.managedAppRef.name,
              request: { name: ctx.request.metadata.name, uid },
            }),
          );
        } catch (err) {
          if (!isKubeError(err, "AlreadyExists")) throw err;
          obj = await client.get({
            apiVersion: SNAPSHOT_API,
            kind: "VolumeSnapshot",
            namespace: v.namespace,
            name,
          });
        }
      }
      if (!isOurs(obj, uid))
        return {
          kind: "failed",
          reason: "SnapshotConflict",
          message: `VolumeSnapshot ${v.namespace}/${name} exists and was not made by this request`,
        };
      const state = snapshotState(obj);
      if (state.state === "ready") ready++;
      else if (state.state === "error") {
        const since = state.since ? Date.parse(state.since) : NaN;
        if (!Number.isNaN(since) && ctx.now().getTime() - since > SNAPSHOT_ERROR_GRACE_MS)
          return {
            kind: "failed",
            reason: "SnapshotFailed",
            message: `VolumeSnapshot ${v.namespace}/${name} of PVC ${v.name} failed: ${state.message}`,
          };
        problems.push(`${name}: ${state.message}`);
      } else pending.push(name);
    }
    if (ready === wanted.length)
      return { kind: "succeeded", message: `${ready}/${wanted.length} snapshots ready` };
    const before = /^(\d+)\//.exec(
      ctx.status().conditions?.find((c) => c.type === ConditionType.SnapshotsReady)?.message ?? "",
    );
    const progressed = before !== null && Number(before[1]) < ready;
    return {
      kind: "waiting",
      message: `${ready}/${wanted.length} snapshots ready${problems.length > 0 ? `; error: ${problems.join("; ")}` : ""}${pending.length > 0 ? `; waiting for ${pending.slice(0, 5).join(", ")}` : ""}`,
      progressed,
      afterMs: 5_000,
    };
  }

  async function commit(ctx: Ctx): Promise<StepResult> {
    const p = planOf(ctx);
    const thawed = await stillSuspended(client, p.flux);
    if (thawed)
      return { kind: "failed", reason: "FluxResumed", message: `${thawed}; not committing` };
    const repo = await repoFor(ctx);
    const name = ctx.request.metadata.name;
    try {
      const result = await commitChange({
        ws: repo.ws,
        git: p.git,
        direction: "forward",
        trailer: trailerOf(ns(ctx), name, ctx.request.metadata.uid ?? ""),
        message: `Upgrade ${ctx.request.spec.managedAppRef.name} ${p.git.from} → ${p.git.to}\n\nRequested by UpgradeRequest ${ns(ctx)}/${name}.`,
        author: { name: deps.config.gitAuthorName, email: deps.config.gitAuthorEmail },
      });
      if (result.kind === "changed")
        return {
          kind: "failed",
          reason: ConditionReason.GitChanged,
          message: `${p.git.path} on ${p.git.branch} (${result.head.slice(0, 12)}) holds neither ${p.git.from} nor ${p.git.to} at ${p.git.versionPath}: Git changed since the plan`,
        };
      if (result.kind === "adopted")
        return {
          kind: "succeeded",
          message: result.ours
            ? `adopted this request's earlier commit ${result.sha.slice(0, 12)}`
            : `the branch already holds ${p.git.to}; adopted ${result.sha.slice(0, 12)} (not made by Cairn)`,
          facts: { commit: { sha: result.sha, adopted: true } },
        };
      return {
        kind: "succeeded",
        message: `pushed ${result.sha.slice(0, 12)} to ${p.git.branch}: ${p.git.from} → ${p.git.to}`,
        facts: { commit: { sha: result.sha, adopted: false } },
      };
    } catch (err) {
      if (
        err instanceof GitError &&
        (err.code === "auth" || err.code === "forbidden" || err.code === "invalid")
      )
        return {
          kind: "failed",
          reason: "PushRejected",
          message: `push to ${p.git.branch} refused: ${err.message}`,
        };
      throw err;
    }
  }

  async function finish(ctx: Ctx): Promise<StepResult> {
    const p = planOf(ctx);
    const app = requireApp(ctx);
    const now = rfc3339(ctx.now());
    await client.patchStatus(
      {
        apiVersion: API_VERSION,
        kind: Kind.ManagedApp,
        namespace: app.metadata.namespace,
        name: app.metadata.name,
      },
      {
        status: {
          currentVersion: p.git.to,
          lastUpgrade: {
            name: ctx.request.metadata.name,
            version: p.git.to,
            outcome: "Succeeded",
            completedAt: now,
          },
        },
      },
    );
    const pruned = await pruneSnapshots(client, world, app, ctx.request.metadata.uid ?? "");
    await releaseLock(client, ns(ctx), app.metadata.uid ?? "", me(ctx));
    return {
      kind: "finished",
      complete: "True",
      reason: ConditionReason.Succeeded,
      message: `upgraded ${app.metadata.name} ${p.git.from} → ${p.git.to}${pruned.length > 0 ? `; retention deleted ${pruned.length} old snapshot(s)` : ""}`,
      event: { type: "Normal", reason: "Upgraded", message: `${p.git.from} → ${p.git.to}` },
    };
  }

  /** Flux resumed and replicas back, whatever point the request failed at. */
  async function undoFreeze(ctx: Ctx): Promise<string> {
    const status = ctx.status();
    const resumed = await resumeRecorded(client, [...(status.suspended ?? [])].reverse());
    const restored = await restoreReplicas(client, world, status);
    return [
      resumed.length > 0 ? `resumed ${resumed.join(", ")}` : "Flux not suspended by this request",
      restored.length > 0 ? `restored ${restored.join(", ")}` : "replicas as recorded",
    ].join("; ");
  }

  async function compensate(ctx: Ctx): Promise<StepResult> {
    const status = ctx.status();
    const aborting = status.conditions?.find((c) => c.type === ConditionType.Aborting);
    const reason = aborting?.reason ?? "Failed";
    const why = aborting?.message ?? "the request failed";
    const undone = await undoFreeze(ctx);
    const app = appOf(ctx);
    const committed = isTrue(
      status.conditions as Parameters<typeof isTrue>[0],
      ConditionType.Committed,
    );
    const appRef = app
      ? {
          apiVersion: API_VERSION,
          kind: Kind.ManagedApp,
          namespace: app.metadata.namespace,
          name: app.metadata.name,
        }
      : undefined;
    if (!committed) {
      if (app) await releaseLock(client, ns(ctx), app.metadata.uid ?? "", me(ctx));
      return {
        kind: "finished",
        complete: "False",
        reason,
        message: `${why}. Before the commit: ${undone}; Git untouched`,
      };
    }
    const name = ctx.request.metadata.name;
    if (app?.spec.autoRollback) {
      const rollback = rollbackName(name);
      let created: KubeObject;
      try {
        created = await client.create({
          apiVersion: API_VERSION,
          kind: Kind.RollbackRequest,
          metadata: {
            name: rollback,
            namespace: ns(ctx),
            // The upgrade's labels travel along, so a controller that selects by label
            // (--watch-label-selector) also handles the rollback it asked for.
            labels: {
              ...ctx.request.metadata.labels,
              [Label.ManagedApp]: ctx.request.spec.managedAppRef.name,
            },
            ownerReferences: [
              {
                apiVersion: API_VERSION,
                kind: Kind.UpgradeRequest,
                name,
                uid: ctx.request.metadata.uid ?? "",
                blockOwnerDeletion: true,
                controller: false,
              },
            ],
          },
          spec: { upgradeRequestRef: { name }, autoTriggered: true },
        });
      } catch (err) {
        if (!isKubeError(err, "AlreadyExists")) throw err;
        created = await client.get({
          apiVersion: API_VERSION,
          kind: Kind.RollbackRequest,
          namespace: ns(ctx),
          name: rollback,
        });
      }
      await ctx.save({ rollbackRef: { name: rollback } });
      if (appRef)
        await client.patchStatus(appRef, {
          status: {
            lastUpgrade: {
              name,
              version: status.plan?.git.to,
              outcome: "Failed",
              completedAt: rfc3339(ctx.now()),
            },
          },
        });
      // The rollback gets the app straight from us: no other waiting request slips in between.
      await handOverLock(client, ns(ctx), app.metadata.uid ?? "", me(ctx), {
        kind: Kind.RollbackRequest,
        name: rollback,
        uid: created.metadata.uid ?? "",
      });
      return {
        kind: "finished",
        complete: "False",
        reason: ConditionReason.RollbackTriggered,
        message: `${reason}: ${why}. After the commit: ${undone}; RollbackRequest ${rollback} restores the data and reverts Git`,
        facts: { rollbackRef: { name: rollback } },
      };
    }
    if (appRef)
      await client.patchStatus(appRef, {
        status: {
          lastUpgrade: {
            name,
            version: status.plan?.git.to,
            outcome: "Failed",
            completedAt: rfc3339(ctx.now()),
          },
        },
      });
    if (app) await releaseLock(client, ns(ctx), app.metadata.uid ?? "", me(ctx));
    return {
      kind: "finished",
      complete: "False",
      reason: ConditionReason.RollbackRequired,
      message: `${reason}: ${why}. After the commit (${status.commit?.sha.slice(0, 12) ?? ""}): ${undone}. The new version is in Git; to restore the data and the old version run: kubectl cairn rollback ${name} -n ${ns(ctx)}`,
    };
  }

  async function onDelete(ctx: Ctx): Promise<StepResult> {
    const undone = await undoFreeze(ctx);
    const app = appOf(ctx);
    if (app) await releaseLock(client, ns(ctx), app.metadata.uid ?? "", me(ctx));
    return {
      kind: "succeeded",
      message: `deleted while in flight: ${undone}; Git is not reverted`,
    };
  }

  // Resume, AwaitFlux and HealthCheck are the same for both request kinds.
  const flux = fluxSteps<UpgradeRequest>({ client, world, appOf: requireApp, repoFor });

  const machine: RequestMachine<UpgradeRequest, UpgradeStepName> = {
    kind: "UpgradeRequest",
    steps: UPGRADE_STEPS,
    schema: UpgradeRequest,
    handlers: {
      Plan: plan,
      Admit: async (ctx) => {
        const app = appOf(ctx);
        if (!app)
          return {
            kind: "failed",
            reason: ConditionReason.AppNotFound,
            message: `ManagedApp ${ctx.request.spec.managedAppRef.name} is gone`,
          };
        return admit(client, ctx, app.metadata.uid ?? "", me(ctx));
      },
      Suspend: (ctx) => suspendFlux(client, ctx, planOf(ctx).flux),
      ScaleDown: (ctx) => scaleDown(client, world, ctx),
      Snapshot: snapshot,
      Commit: commit,
      Resume: flux.resume,
      AwaitFlux: flux.awaitFlux,
      ScaleUp: (ctx) => scaleUp(client, world, ctx),
      HealthCheck: flux.healthCheck,
      Finish: finish,
      Compensate: compensate,
    },
    timeoutMs: timeoutsFromApp(appOf),
    onDelete,
    alsoRegarding: appRegarding,
  };

  return { name: NAME, informers: world.informers(), controller };
}
