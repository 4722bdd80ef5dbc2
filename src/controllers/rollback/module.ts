// The RollbackRequest controller: undo one UpgradeRequest, data included. Plan (validate the
// upgrade, pin the PVCs, snapshots, workloads and the Git change in status), take the app's
// lock, suspend Flux, stop the workloads, restore each PVC from the upgrade's snapshot (delete,
// wait until gone, recreate under the same name from the snapshot), revert the upgrade's commit,
// resume Flux, wait until it applied the revert, scale back, check health, finish; or
// compensate. One idempotent handler per step, run by the shared phase-machine shell.
//
// WHEN FLUX IS LEFT SUSPENDED (also in docs/rollback.md). status.snapshots is written right
// before the first PVC is deleted (or, if one is already missing, recreated): from that moment
// a PVC may be missing, and a missing PVC would come back EMPTY if anything recreated it: the
// StatefulSet controller once its replicas are above 0, Helm or the Kustomization once Flux
// runs. So a failure in RestoreVolumes, Revert or Resume after that moment does NOT resume Flux
// and does NOT scale up: the request ends Complete=False, reason RestoreIncomplete, with a
// Warning Event and the frozen-apps gauge raised. Its message lists what is still suspended,
// the replicas to restore, each PVC's state (restored, missing with the snapshot that holds its
// data, or not replaced yet) and whether Git was reverted. A human decides: create a new
// RollbackRequest for the same upgrade (it takes over the freeze and finishes the restore), or
// restore by hand. Before the first delete, compensation is the upgrade's: resume what Cairn
// suspended (in reverse order) and restore the recorded replicas; Git is not touched again.
// After Resume succeeded every PVC exists and Flux runs the reverted version: a later failure
// (AwaitFlux, ScaleUp, HealthCheck) restores replicas and says the app needs a look. A rollback
// never triggers another request, so an auto-triggered rollback that fails stays failed.
import {
  API_VERSION,
  ConditionReason,
  ConditionType,
  Kind,
  Label,
  parseWithMessage,
  RollbackRequest,
  UpgradeRequest,
  type FluxObjectRef,
  type ManagedApp,
  type PlannedVolume,
  type RecordedReplicas,
} from "../../api/index.ts";
import { workloadsToStop } from "../../discovery/workloads.ts";
import { isGitError } from "../../git/errors.ts";
import type { KubeClient, KubeObject, ObjectRef } from "../../kube/client.ts";
import { isKubeError } from "../../kube/errors.ts";
import type { ControllerModule } from "../../manager.ts";
import { isTrue, rfc3339, type Conditions } from "../../runtime/conditions.ts";
import { Controller } from "../../runtime/controller.ts";
import { splitKey } from "../../runtime/keys.ts";
import { parseLabelSelector } from "../../runtime/label-selector.ts";
import { done } from "../../runtime/outcome.ts";
import { WorkQueue } from "../../runtime/workqueue.ts";
import { refsOf } from "../managedapp/evaluate.ts";
import { timeoutsFromApp } from "../request/deadlines.ts";
import type { RequestDeps } from "../request/deps.ts";
import { isSuspended } from "../request/flux.ts";
import { openRepo, type OpenedRepo } from "../request/git-access.ts";
import { trailerOf } from "../request/git-change.ts";
import { holderIsLive, lockHolder, releaseLock } from "../request/lock.ts";
import type { StepResult } from "../request/result.ts";
import { runRequest, type RequestMachine, type StepContext } from "../request/runner.ts";
import {
  admit,
  resumeRecorded,
  restoreReplicas,
  scaleDown,
  scaleUp,
  stillSuspended,
  suspendFlux,
} from "../request/shell-steps.ts";
import { SNAPSHOT_API } from "../request/snapshots.ts";
import { ROLLBACK_STEPS, type RollbackStepName } from "../request/steps.ts";
import { specReplicas } from "../request/workloads.ts";
import { handlesRequest, wireWakeups, World } from "../request/world.ts";
import { OwnVersions } from "../request/own-versions.ts";
import { fluxKey, frozenApps, RESTORE_INCOMPLETE } from "./frozen.ts";
import {
  composeRollbackPlan,
  committedSha,
  frozenSiblings,
  isRestoredBy,
  laterUpgradeRefusal,
  mergeWorkloads,
  RefusalReason,
  replicasNow,
  restoredClaim,
  siblingOf,
  siblingRefusal,
  snapshotProblem,
  upgradeGitOf,
  upgradeRefusal,
  type GitProbe,
  type OtherUpgrade,
  type Refusal,
} from "./plan.ts";
import { fluxSteps } from "../request/flux-steps.ts";
import { probeRevert, revertUpgrade } from "./revert.ts";

export const NAME = "rollbackrequest";

type Ctx = StepContext<RollbackRequest>;

const describeRef = (f: { kind: string; namespace: string; name: string }) =>
  `${f.kind} ${f.namespace}/${f.name}`;

async function getOrUndefined(client: KubeClient, ref: ObjectRef): Promise<KubeObject | undefined> {
  try {
    return await client.get(ref);
  } catch (err) {
    if (isKubeError(err, "NotFound")) return undefined;
    throw err;
  }
}

const pvcRef = (v: { namespace: string; name: string }): ObjectRef => ({
  apiVersion: "v1",
  kind: "PersistentVolumeClaim",
  namespace: v.namespace,
  name: v.name,
});

const snapshotRef = (v: PlannedVolume): ObjectRef => ({
  apiVersion: SNAPSHOT_API,
  kind: "VolumeSnapshot",
  namespace: v.namespace,
  name: v.snapshot ?? "",
});

/** Pods (by name) whose volumes reference the claim: they hold it, terminating or not. */
function podsUsing(pods: readonly KubeObject[], claim: string): string[] {
  return pods
    .filter((pod) =>
      (
        (
          pod["spec"] as
            { volumes?: { persistentVolumeClaim?: { claimName?: string } }[] } | undefined
        )?.volumes ?? []
      ).some((v) => v.persistentVolumeClaim?.claimName === claim),
    )
    .map((pod) => pod.metadata.name ?? "");
}

export function buildRollbackModule(deps: RequestDeps): ControllerModule {
  const world = new World(deps.informers);
  const { client } = deps;
  const parsedSelector = deps.config.watchLabelSelector
    ? parseLabelSelector(deps.config.watchLabelSelector)
    : undefined;
  const selector = parsedSelector?.ok ? parsedSelector.requirements : undefined;
  const appVisible = (namespace: string, name: string) =>
    world.apps.get(`${namespace}/${name}`) !== undefined;
  /**
   * The app a raw RollbackRequest belongs to: its label, else its upgrade's reference (or, for
   * a refused rollback of a rollback, that rollback's label). Undefined when nothing names one:
   * under --watch-label-selector such a request is handled only if it carries the labels.
   */
  const rawAppName = (r: KubeObject): string | undefined => {
    const label = r.metadata.labels?.[Label.ManagedApp];
    if (label !== undefined) return label;
    const ref = (r["spec"] as { upgradeRequestRef?: { name?: string } } | undefined)
      ?.upgradeRequestRef?.name;
    const key = `${r.metadata.namespace ?? ""}/${ref ?? ""}`;
    const upgrade = world.upgrades.get(key);
    if (upgrade)
      return (upgrade["spec"] as { managedAppRef?: { name?: string } } | undefined)?.managedAppRef
        ?.name;
    return world.rollbacks.get(key)?.metadata.labels?.[Label.ManagedApp];
  };
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
      // Under --watch-label-selector another Cairn may own this rollback's app.
      if (!handlesRequest(selector, world.rollbacks.get(key), appVisible, rawAppName))
        return Promise.resolve(done());
      return runRequest(machine, runnerDeps, { namespace: namespace ?? "", name }, signal);
    },
    log: deps.log,
    onOutcome: deps.metrics.onOutcome(NAME),
  });
  const versions = new OwnVersions();
  wireWakeups(world, world.rollbacks, (key) => controller.enqueue(key), versions);

  const runnerDeps = {
    client,
    cached: (key: string) => world.rollbacks.get(key),
    versions,
    clock: deps.clock,
    log: deps.log,
    events: deps.events,
    ...(deps.afterEffect
      ? { afterEffect: (step: string) => deps.afterEffect?.(`RollbackRequest/${step}`) }
      : {}),
    onStepEnd: deps.metrics.requestStepEnded,
    onFinished: deps.metrics.requestFinished,
  };

  // The frozen-apps gauge, recomputed from the informers whenever a rollback changes (its
  // finishing status write included) or a Flux object that keeps an app frozen changes (a human
  // resuming it by hand thaws the app).
  let frozenCandidates: ReadonlySet<string> = new Set();
  const recomputeFrozen = () => {
    const frozen = frozenApps(world.rollbacks.list(), (f) =>
      isSuspended(world.flux(f.kind, f.namespace, f.name)),
    );
    frozenCandidates = frozen.objects;
    deps.metrics.setFrozenApps(frozen.apps.size);
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

  const ns = (ctx: Ctx) => ctx.request.metadata.namespace ?? "";
  const upgradeName = (ctx: Ctx) => ctx.request.spec.upgradeRequestRef.name;
  const upgradeObj = (ctx: Ctx) => world.upgrades.get(`${ns(ctx)}/${upgradeName(ctx)}`);
  /** The app: the label Plan puts on the request, else the upgrade's reference. */
  const appName = (r: RollbackRequest): string | undefined => rawAppName(r);
  const appOf = (ctx: Ctx): ManagedApp | undefined => {
    const name = appName(ctx.request);
    return name ? world.app(ns(ctx), name) : undefined;
  };
  const requireApp = (ctx: Ctx): ManagedApp => {
    const app = appOf(ctx);
    if (!app) throw new Error(`ManagedApp ${ns(ctx)}/${appName(ctx.request) ?? "?"} not found`);
    return app;
  };
  const planOf = (ctx: Ctx) => {
    const plan = ctx.status().plan;
    if (!plan) throw new Error("status.plan is missing");
    return plan;
  };
  const gitDeps = {
    client,
    cacheDir: deps.config.gitCacheDir,
    allowCrossNamespaceRefs: deps.config.allowCrossNamespaceRefs,
    pool: deps.gitWorkspaces,
  };
  const kustomizationOf = (app: ManagedApp) => {
    const k = refsOf(app).kustomization;
    return world.flux("Kustomization", k.namespace, k.name);
  };
  const repoFor = async (ctx: Ctx): Promise<OpenedRepo> => {
    const app = requireApp(ctx);
    const k = kustomizationOf(app);
    if (!k) throw new Error("the app's Kustomization is gone");
    return openRepo(gitDeps, app, k);
  };
  const me = (ctx: Ctx) => ({
    kind: Kind.RollbackRequest,
    name: ctx.request.metadata.name,
    uid: ctx.request.metadata.uid ?? "",
  });
  const appRegarding = (r: RollbackRequest) => {
    const name = appName(r);
    const obj = name ? world.apps.get(`${r.metadata.namespace ?? ""}/${name}`) : undefined;
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
  const author = { name: deps.config.gitAuthorName, email: deps.config.gitAuthorEmail };
  const upgradeTrailer = (ctx: Ctx): string => {
    const uid = upgradeObj(ctx)?.metadata.uid;
    // Without the upgrade's uid its commit cannot be told apart: the value-level fallback is used.
    return uid ? trailerOf(ns(ctx), upgradeName(ctx), uid) : `Cairn-Request: ${ns(ctx)}/-`;
  };
  const messages = (ctx: Ctx, app: string) => {
    const p = planOf(ctx);
    const by = `Requested by RollbackRequest ${ns(ctx)}/${ctx.request.metadata.name}.`;
    const of = `UpgradeRequest ${ns(ctx)}/${upgradeName(ctx)}`;
    return {
      revert: `Revert "Upgrade ${app} ${p.git.to} → ${p.git.from}"\n\nThis reverts commit ${p.git.revertOf ?? ""} of ${of}.\n${by}`,
      fallback: `Roll back ${app} ${p.git.from} → ${p.git.to}\n\nUndoes ${of} (commit ${p.git.revertOf?.slice(0, 12) ?? ""}) by writing the previous value as a new commit.\n${by}`,
    };
  };

  // ---- Plan -------------------------------------------------------------------------------

  async function plan(ctx: Ctx): Promise<StepResult> {
    const dry = ctx.request.spec.dryRun;
    const refuse = (r: Refusal | { reason: string; message: string }): StepResult => ({
      kind: "finished",
      complete: "False",
      reason: dry ? "DryRunFailed" : r.reason,
      message: r.message,
      facts: { preflight: [{ name: "Upgrade", passed: false, message: r.message.slice(0, 1024) }] },
    });
    const namespace = ns(ctx);
    const name = upgradeName(ctx);
    const found = await getOrUndefined(client, {
      apiVersion: API_VERSION,
      kind: Kind.UpgradeRequest,
      namespace,
      name,
    });
    if (!found) {
      const rollback = await getOrUndefined(client, {
        apiVersion: API_VERSION,
        kind: Kind.RollbackRequest,
        namespace,
        name,
      });
      if (rollback)
        return refuse({
          reason: RefusalReason.RollbackOfRollback,
          message: `spec.upgradeRequestRef.name: ${name} is a RollbackRequest; a rollback cannot be rolled back. To return to the version it left, create an UpgradeRequest`,
        });
      return refuse({
        reason: RefusalReason.UpgradeNotFound,
        message: `spec.upgradeRequestRef.name: UpgradeRequest ${namespace}/${name} not found`,
      });
    }
    const parsed = parseWithMessage(UpgradeRequest, found);
    if (!parsed.success)
      return refuse({
        reason: RefusalReason.UpgradeNotFound,
        message: `UpgradeRequest ${namespace}/${name} cannot be read: ${parsed.message}`,
      });
    const upgrade = parsed.data;
    if (upgrade.spec.dryRun) {
      const r = upgradeRefusal(upgrade);
      if (r) return refuse(r);
    }
    const upgradeConditions = upgrade.status?.conditions as Conditions;
    const upgradeComplete = upgradeConditions?.find((c) => c.type === ConditionType.Complete);
    if (!upgradeComplete || upgradeComplete.status === "Unknown")
      // An auto-triggered rollback is created by the upgrade's compensation, just before the
      // upgrade records its end: wait for that, as for any upgrade still in flight.
      return {
        kind: "waiting",
        reason: ConditionReason.Waiting,
        message: `waiting for UpgradeRequest ${name} to finish (phase ${upgrade.status?.phase ?? "Pending"})`,
        afterMs: 10_000,
      };
    const notCommitted = upgradeRefusal(upgrade);
    if (notCommitted) return refuse(notCommitted);
    const commit = committedSha(upgrade) ?? "";
    const upgradePlan = upgrade.status?.plan;
    if (!upgradePlan)
      return refuse({ reason: RefusalReason.UpgradeNotCommitted, message: "no plan" });

    const app = upgrade.spec.managedAppRef.name;
    if (ctx.request.metadata.labels?.[Label.ManagedApp] !== app)
      await client.mergePatch(
        {
          apiVersion: API_VERSION,
          kind: Kind.RollbackRequest,
          namespace,
          name: ctx.request.metadata.name,
        },
        { metadata: { labels: { [Label.ManagedApp]: app } } },
      );

    // One rollback per upgrade, and only of the app's latest upgrade (fresh lists: a sibling
    // created a moment ago must be seen).
    const rollbacks = (await client.list(API_VERSION, Kind.RollbackRequest, { namespace })).items;
    const refOf = (r: KubeObject) =>
      (r["spec"] as { upgradeRequestRef?: { name?: string } } | undefined)?.upgradeRequestRef?.name;
    const siblings = rollbacks.filter((r) => refOf(r) === name).map(siblingOf);
    const twice = siblingRefusal(
      {
        name: ctx.request.metadata.name,
        uid: ctx.request.metadata.uid ?? "",
        creationTimestamp: ctx.request.metadata.creationTimestamp,
      },
      name,
      siblings,
    );
    if (twice) return refuse(twice);
    const upgrades = (await client.list(API_VERSION, Kind.UpgradeRequest, { namespace })).items;
    const others: OtherUpgrade[] = upgrades.map((u) => {
      const uName = u.metadata.name ?? "";
      const status = u["status"] as { conditions?: unknown; commit?: { sha?: string } } | undefined;
      return {
        name: uName,
        app: (u["spec"] as { managedAppRef?: { name?: string } }).managedAppRef?.name ?? "",
        creationTimestamp: u.metadata["creationTimestamp"] as string | undefined,
        committed:
          isTrue(status?.conditions as Conditions, ConditionType.Committed) &&
          status?.commit?.sha !== undefined,
        dryRun: (u["spec"] as { dryRun?: boolean }).dryRun === true,
        rolledBack: rollbacks
          .filter((r) => refOf(r) === uName)
          .map(siblingOf)
          .some((s) => !s.dryRun && s.complete === "True"),
      };
    });
    const later = laterUpgradeRefusal(upgrade, others);
    if (later) return refuse(later);

    const managedApp = world.app(namespace, app);
    if (!managedApp)
      return refuse({
        reason: ConditionReason.AppNotFound,
        message: `ManagedApp ${namespace}/${app} of UpgradeRequest ${name} not found`,
      });
    if (!dry) {
      // Another request holds the app and is changing what this plan reads (Flux suspended,
      // workloads at 0, Git): plan once it lets go. An auto-triggered rollback already holds it,
      // handed over by its upgrade.
      const holder = await lockHolder(client, namespace, managedApp.metadata.uid ?? "");
      if (
        holder &&
        holder.uid !== ctx.request.metadata.uid &&
        (await holderIsLive(client, namespace, holder))
      )
        return {
          kind: "waiting",
          reason: ConditionReason.Waiting,
          message: `waiting for ${holder.kind} ${holder.name}, which holds the app; planning once it lets go`,
          afterMs: 10_000,
        };
    }

    // A rollback that ended RestoreIncomplete left the app frozen: take its freeze over, so that
    // this attempt resumes what it suspended and restores the replicas it recorded.
    const frozen = frozenSiblings(siblings);
    const adoptedSuspended: FluxObjectRef[] = [];
    const adoptedReplicas: RecordedReplicas[] = [];
    for (const s of frozen) {
      for (const f of s.suspended)
        if (
          isSuspended(world.flux(f.kind, f.namespace, f.name)) &&
          !adoptedSuspended.some((a) => fluxKey(a) === fluxKey(f))
        )
          adoptedSuspended.push(f);
      for (const r of s.replicas)
        if (
          !adoptedReplicas.some(
            (a) => a.kind === r.kind && a.namespace === r.namespace && a.name === r.name,
          )
        )
          adoptedReplicas.push(r);
    }
    const flux = upgradePlan.flux.map((ref) => ({
      ref,
      object: world.flux(ref.kind, ref.namespace, ref.name),
      adopted: adoptedSuspended.some((a) => fluxKey(a) === fluxKey(ref)),
    }));

    const wanted = upgradePlan.volumes.filter((v) => v.snapshot !== undefined);
    const snapshots: { volume: PlannedVolume; object: KubeObject | undefined }[] = [];
    const retainedVolumes: string[] = [];
    for (const v of wanted) {
      snapshots.push({ volume: v, object: await getOrUndefined(client, snapshotRef(v)) });
      const volumeName = (
        world.pvcs.get(`${v.namespace}/${v.name}`)?.["spec"] as { volumeName?: string } | undefined
      )?.volumeName;
      if (volumeName) {
        const pv = await getOrUndefined(client, {
          apiVersion: "v1",
          kind: "PersistentVolume",
          name: volumeName,
        });
        const policy = (pv?.["spec"] as { persistentVolumeReclaimPolicy?: string } | undefined)
          ?.persistentVolumeReclaimPolicy;
        if (policy === "Retain")
          retainedVolumes.push(`PV ${volumeName} of PVC ${v.namespace}/${v.name}`);
      }
    }

    // Workloads: the upgrade's, plus any that mount a planned PVC today; replicas as they are now.
    const namespaces = [
      ...new Set([
        ...wanted.map((v) => v.namespace),
        ...upgradePlan.workloads.map((w) => w.namespace),
      ]),
    ];
    const stop = workloadsToStop({ pvcs: wanted, objects: world.objectsIn(namespaces) });
    const recorded = [adoptedReplicas, upgrade.status?.replicas ?? []];
    const workloads = mergeWorkloads(
      upgradePlan.workloads,
      stop.workloads.map((w) => ({
        kind: w.kind,
        namespace: w.namespace,
        name: w.name,
        replicas: w.replicas,
      })),
    ).map((w) => ({
      ...w,
      replicas: replicasNow(w, world.workload(w.kind, w.namespace, w.name), recorded),
    }));
    const unstoppable = [
      ...stop.unstoppable.filter((u) => u.running || u.terminating).map((u) => u.message),
      ...stop.unsafe.map((u) => u.message),
    ];

    let git: GitProbe;
    const kustomization = kustomizationOf(managedApp);
    if (!kustomization) {
      const k = refsOf(managedApp).kustomization;
      git = { ok: false, message: `Kustomization ${k.namespace}/${k.name} not found` };
    } else {
      try {
        const repo = await openRepo(gitDeps, managedApp, kustomization);
        const head = await repo.ws.fetch();
        let canPush: { ok: boolean; message: string };
        try {
          await repo.ws.canPush();
          canPush = { ok: true, message: `the credentials may push to ${repo.branch}` };
        } catch (err) {
          canPush = {
            ok: false,
            message: `the credentials may not push to ${repo.branch}: ${err instanceof Error ? err.message : String(err)}`,
          };
        }
        const revert = await probeRevert(
          {
            ws: repo.ws,
            upgradeGit: upgradePlan.git,
            commit,
            upgradeTrailer: trailerOf(namespace, name, upgrade.metadata.uid ?? ""),
            messages: { revert: "probe", fallback: "probe" },
            author,
          },
          head,
        );
        git = { ok: true, url: repo.url, branch: repo.branch, head, canPush, revert };
      } catch (err) {
        git = { ok: false, message: err instanceof Error ? err.message : String(err) };
      }
    }

    const { plan: composed, checks } = composeRollbackPlan({
      upgrade,
      commit,
      flux,
      snapshots,
      retainedVolumes,
      workloads,
      unstoppable,
      git,
    });
    const failed = checks.filter((c) => !c.passed);
    if (failed.length > 0 || !composed)
      return {
        kind: "finished",
        complete: "False",
        reason: dry ? "DryRunFailed" : ConditionReason.PlanFailed,
        message:
          `${failed.length} check(s) failed; nothing was changed: ${failed.map((c) => `${c.name}: ${c.message}`).join("; ")}`.slice(
            0,
            32_000,
          ),
        facts: { preflight: checks.slice(0, 32), ...(composed ? { plan: composed } : {}) },
      };
    const summary = `${composed.gitOnly ? "Git only (no snapshots): " : `restore ${composed.volumes.length} PVC(s) from the snapshots of UpgradeRequest ${name}, `}${composed.git.from} → ${composed.git.to} in ${composed.git.path}`;
    if (dry)
      return {
        kind: "finished",
        complete: "True",
        reason: ConditionReason.DryRunSucceeded,
        message: `dry run: ${summary}; nothing was changed`,
        facts: { plan: composed, preflight: checks.slice(0, 32) },
      };
    return {
      kind: "succeeded",
      message: `planned: ${summary}`,
      facts: {
        plan: composed,
        preflight: checks.slice(0, 32),
        ...(adoptedSuspended.length > 0 ? { suspended: adoptedSuspended } : {}),
        ...(adoptedReplicas.length > 0 ? { replicas: adoptedReplicas } : {}),
      },
    };
  }

  // ---- RestoreVolumes ---------------------------------------------------------------------

  /** Whether a class binds only once a pod is scheduled (then Bound is checked in HealthCheck). */
  async function waitsForConsumer(className: string | undefined): Promise<boolean> {
    if (className === "") return false;
    let sc: KubeObject | undefined;
    if (className === undefined) {
      const classes = (await client.list("storage.k8s.io/v1", "StorageClass")).items;
      sc = classes.find(
        (c) => c.metadata.annotations?.["storageclass.kubernetes.io/is-default-class"] === "true",
      );
    } else {
      sc = await getOrUndefined(client, {
        apiVersion: "storage.k8s.io/v1",
        kind: "StorageClass",
        name: className,
      });
    }
    return (
      (sc as { volumeBindingMode?: string } | undefined)?.volumeBindingMode ===
      "WaitForFirstConsumer"
    );
  }

  /**
   * Each pass reads every planned PVC and its snapshot fresh, decides, then acts: PVCs still
   * holding the upgraded data are deleted, gone ones are recreated from their snapshots, ours are
   * waited on until Bound (or left to their first pod under WaitForFirstConsumer). Any blocker (a
   * snapshot not ready, a pod using a PVC, Flux resumed) stops the step before the first delete;
   * once the restore has begun, no further original is deleted, but every PVC already gone whose
   * snapshot is ready is still recreated before the step fails, so as little as possible is
   * missing.
   */
  async function restoreVolumes(ctx: Ctx): Promise<StepResult> {
    const p = planOf(ctx);
    if (p.gitOnly || p.volumes.length === 0)
      return {
        kind: "succeeded",
        reason: "NotNeeded",
        message: "Git-only rollback: the upgrade took no snapshots, no volume is restored",
      };
    const uid = ctx.request.metadata.uid ?? "";
    const seen = [];
    for (const v of p.volumes) {
      const live = await getOrUndefined(client, pvcRef(v));
      // Ours and staying: one of ours that someone is deleting is waited out and made again.
      const ours =
        live !== undefined && !live.metadata["deletionTimestamp"] && isRestoredBy(live, v, uid);
      seen.push({
        v,
        live,
        ours,
        // Never without a ready snapshot: checked fresh before each delete and each recreate.
        problem: ours
          ? undefined
          : snapshotProblem(await getOrUndefined(client, snapshotRef(v)), v, undefined),
      });
    }
    const toDelete = seen.filter((s) => s.live && !s.ours && !s.live.metadata["deletionTimestamp"]);
    const toCreate = seen.filter((s) => !s.live);
    const blockers = [...toDelete, ...toCreate]
      .map((s) => s.problem)
      .filter((x): x is string => x !== undefined);
    const podsByNs = new Map<string, readonly KubeObject[]>();
    for (const s of toDelete) {
      let pods = podsByNs.get(s.v.namespace);
      if (!pods) {
        pods = (await client.list("v1", "Pod", { namespace: s.v.namespace })).items;
        podsByNs.set(s.v.namespace, pods);
      }
      const users = podsUsing(pods, s.v.name);
      if (users.length > 0)
        blockers.push(`PVC ${s.v.namespace}/${s.v.name} is used by pod(s) ${users.join(", ")}`);
    }
    if (toDelete.length > 0) {
      const thawed = await stillSuspended(client, p.flux);
      if (thawed) blockers.push(thawed);
    }
    const started = ctx.status().snapshots !== undefined;
    if (blockers.length > 0 && !started)
      return {
        kind: "failed",
        reason: "RestoreBlocked",
        message: `no PVC was deleted: ${blockers.join("; ")}`,
      };
    if (toDelete.length > 0 || toCreate.length > 0) {
      // Persisted before the first delete: from here on a failure leaves the app frozen.
      if (!started)
        await ctx.save({
          snapshots: p.volumes.map((v) => ({
            namespace: v.namespace,
            name: v.snapshot ?? "",
            pvcName: v.name,
          })),
        });
    }
    const acted: string[] = [];
    if (blockers.length === 0)
      for (const s of toDelete) {
        try {
          await client.delete(pvcRef(s.v), { preconditions: { uid: s.live?.metadata.uid ?? "" } });
        } catch (err) {
          // NotFound: gone already. Conflict: replaced since the read; look again next pass.
          if (!isKubeError(err, "NotFound") && !isKubeError(err, "Conflict")) throw err;
        }
        acted.push(`deleted ${s.v.name}`);
      }
    for (const s of toCreate) {
      if (s.problem) continue;
      try {
        await client.create(restoredClaim(s.v, uid));
      } catch (err) {
        if (!isKubeError(err, "AlreadyExists")) throw err;
      }
      acted.push(`recreated ${s.v.name} from ${s.v.snapshot ?? ""}`);
    }
    if (blockers.length > 0)
      return {
        kind: "failed",
        reason: "RestoreBlocked",
        message: `the restore cannot finish: ${blockers.join("; ")}${acted.length > 0 ? `; ${acted.join(", ")}` : ""}`,
      };

    let restored = 0;
    const pending: string[] = [];
    const lateBinding: string[] = [];
    for (const s of seen) {
      if (!s.ours) {
        pending.push(
          s.live
            ? `${s.v.name} to be gone (its protection finalizer clears once no pod uses it)`
            : `${s.v.name} to be created`,
        );
        continue;
      }
      const phase = (s.live?.["status"] as { phase?: string } | undefined)?.phase;
      if (phase === "Bound") restored++;
      else if (await waitsForConsumer(s.v.storageClassName)) {
        restored++;
        lateBinding.push(s.v.name);
      } else pending.push(`${s.v.name} to bind (${phase ?? "Pending"})`);
    }
    const total = p.volumes.length;
    if (pending.length === 0)
      return {
        kind: "succeeded",
        message: `restored ${total} PVC(s): ${p.volumes.map((v) => `${v.name} ← ${v.snapshot ?? ""}`).join(", ")}${lateBinding.length > 0 ? `; ${lateBinding.join(", ")} bind(s) when the first pod is scheduled (WaitForFirstConsumer), checked in HealthCheck` : ""}`,
      };
    const before = /^restored (\d+)\//.exec(
      ctx.status().conditions?.find((c) => c.type === ConditionType.VolumesRestored)?.message ?? "",
    );
    return {
      kind: "waiting",
      message: `restored ${restored}/${total} PVC(s); waiting for ${pending.join(", ")}${acted.length > 0 ? ` (${acted.join(", ")})` : ""}`,
      progressed: acted.length > 0 || (before !== null && Number(before[1]) < restored),
      afterMs: acted.length > 0 ? 1_000 : 3_000,
    };
  }

  // ---- Revert -----------------------------------------------------------------------------

  async function revert(ctx: Ctx): Promise<StepResult> {
    const p = planOf(ctx);
    const thawed = await stillSuspended(client, p.flux);
    if (thawed)
      return { kind: "failed", reason: "FluxResumed", message: `${thawed}; not reverting` };
    const app = requireApp(ctx);
    const repo = await repoFor(ctx);
    const upgradeGit = upgradeGitOf(p.git);
    try {
      const result = await revertUpgrade({
        ws: repo.ws,
        upgradeGit,
        commit: p.git.revertOf ?? "",
        upgradeTrailer: upgradeTrailer(ctx),
        trailer: trailerOf(ns(ctx), ctx.request.metadata.name, ctx.request.metadata.uid ?? ""),
        messages: messages(ctx, app.metadata.name),
        author,
      });
      switch (result.kind) {
        case "reverted":
          return {
            kind: "succeeded",
            message: `pushed ${result.sha.slice(0, 12)} to ${repo.branch}, a revert of ${p.git.revertOf?.slice(0, 12) ?? ""}: ${p.git.from} → ${p.git.to}`,
            facts: { commit: { sha: result.sha, adopted: false } },
          };
        case "committed":
          return {
            kind: "succeeded",
            message: `${result.why}; pushed ${result.sha.slice(0, 12)} to ${repo.branch}, writing ${p.git.to} at ${p.git.versionPath}`,
            facts: { commit: { sha: result.sha, adopted: false } },
          };
        case "adopted":
          return {
            kind: "succeeded",
            message: result.ours
              ? `adopted this request's earlier commit ${result.sha.slice(0, 12)}`
              : `the branch already holds ${p.git.to}; adopted ${result.sha.slice(0, 12)} (not made by Cairn)`,
            facts: { commit: { sha: result.sha, adopted: true } },
          };
        case "changed":
          return {
            kind: "failed",
            reason: ConditionReason.GitChanged,
            message: `${p.git.path} on ${repo.branch} (${result.head.slice(0, 12)}) holds ${result.value ?? "no readable value"} at ${p.git.versionPath}, neither ${p.git.from} nor ${p.git.to}: Git changed since the plan`,
          };
      }
    } catch (err) {
      if (isGitError(err, "auth") || isGitError(err, "forbidden") || isGitError(err, "invalid"))
        return {
          kind: "failed",
          reason: "PushRejected",
          message: `push to ${repo.branch} refused: ${err.message}`,
        };
      throw err;
    }
  }

  const flux = fluxSteps<RollbackRequest>({ client, world, appOf: requireApp, repoFor });

  // ---- Finish -----------------------------------------------------------------------------

  async function finish(ctx: Ctx): Promise<StepResult> {
    const p = planOf(ctx);
    const app = requireApp(ctx);
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
            name: upgradeName(ctx),
            version: p.git.from,
            outcome: "RolledBack",
            completedAt: rfc3339(ctx.now()),
          },
        },
      },
    );
    // The upgrade's snapshots stay: retention prunes them after a later successful upgrade.
    await releaseLock(client, ns(ctx), app.metadata.uid ?? "", me(ctx));
    const data = p.gitOnly
      ? "Git only (the upgrade took no snapshots)"
      : `restored ${p.volumes.length} PVC(s) from the snapshots of UpgradeRequest ${upgradeName(ctx)}`;
    const message = `rolled back ${app.metadata.name} ${p.git.from} → ${p.git.to}: ${data}; Git at ${ctx.status().commit?.sha.slice(0, 12) ?? "?"}`;
    return {
      kind: "finished",
      complete: "True",
      reason: ConditionReason.Succeeded,
      message,
      event: { type: "Normal", reason: "RolledBack", message },
    };
  }

  // ---- Compensation -----------------------------------------------------------------------

  /** Flux resumed and replicas back: only safe while every PVC exists. */
  async function undoFreeze(ctx: Ctx): Promise<string> {
    const status = ctx.status();
    const resumed = await resumeRecorded(client, [...(status.suspended ?? [])].reverse());
    const restored = await restoreReplicas(client, world, status);
    return [
      resumed.length > 0 ? `resumed ${resumed.join(", ")}` : "Flux not suspended by this request",
      restored.length > 0 ? `restored ${restored.join(", ")}` : "replicas as recorded",
    ].join("; ");
  }

  /** After the first delete and before Resume: a missing PVC must not come back empty. */
  const mustStayFrozen = (ctx: Ctx) =>
    ctx.status().snapshots !== undefined &&
    !isTrue(ctx.status().conditions as Conditions, ConditionType.Resumed);

  /** Exactly what state a frozen app is in, fresh from the API, and what to do about it. */
  async function frozenState(ctx: Ctx): Promise<string> {
    const status = ctx.status();
    const p = planOf(ctx);
    const uid = ctx.request.metadata.uid ?? "";
    const stillSuspendedNow: string[] = [];
    for (const f of status.suspended ?? []) {
      const obj = await getOrUndefined(client, {
        apiVersion:
          f.kind === "Kustomization"
            ? "kustomize.toolkit.fluxcd.io/v1"
            : "helm.toolkit.fluxcd.io/v2",
        kind: f.kind,
        namespace: f.namespace,
        name: f.name,
      });
      if (isSuspended(obj)) stillSuspendedNow.push(describeRef(f));
    }
    const stopped = (status.replicas ?? [])
      .filter((r) => specReplicas(world.workload(r.kind, r.namespace, r.name)) === 0)
      .map((r) => `${describeRef(r)} (was ${r.original})`);
    const volumes: string[] = [];
    for (const v of p.volumes) {
      const live = await getOrUndefined(client, pvcRef(v));
      const where = `${v.namespace}/${v.name}`;
      if (!live)
        volumes.push(
          `${where} MISSING (its data is in VolumeSnapshot ${v.namespace}/${v.snapshot ?? ""})`,
        );
      else if (isRestoredBy(live, v, uid))
        volumes.push(`${where} restored from ${v.snapshot ?? ""}`);
      else if (live.metadata["deletionTimestamp"])
        volumes.push(`${where} being deleted (restore it from ${v.snapshot ?? ""})`);
      else volumes.push(`${where} not replaced yet (still holds the upgraded data)`);
    }
    const git = status.commit
      ? `Git reverted at ${status.commit.sha.slice(0, 12)}`
      : `Git not reverted (${p.git.path} still at ${p.git.from})`;
    return [
      `The app is left frozen on purpose: resuming Flux or scaling up now could bring a missing PVC back empty.`,
      `Still suspended: ${stillSuspendedNow.join(", ") || "nothing (someone resumed it)"}.`,
      `At 0 replicas: ${stopped.join(", ") || "none"}.`,
      `Volumes: ${volumes.join("; ")}.`,
      `${git}.`,
      `To finish: fix the cause, then create a new RollbackRequest for UpgradeRequest ${upgradeName(ctx)} (it takes over this freeze and completes the restore); or by hand: recreate each missing PVC from its snapshot, ${status.commit ? "" : "revert Git, "}resume the suspended Flux objects and scale the workloads back.`,
    ].join(" ");
  }

  async function compensate(ctx: Ctx): Promise<StepResult> {
    const status = ctx.status();
    const aborting = status.conditions?.find((c) => c.type === ConditionType.Aborting);
    const reason = aborting?.reason ?? "Failed";
    const why = aborting?.message ?? "the request failed";
    const app = appOf(ctx);
    const release = async () => {
      if (app) await releaseLock(client, ns(ctx), app.metadata.uid ?? "", me(ctx));
    };
    if (mustStayFrozen(ctx)) {
      const state = await frozenState(ctx);
      await release();
      const message = `${reason}: ${why}. ${state}`;
      return {
        kind: "finished",
        complete: "False",
        reason: RESTORE_INCOMPLETE,
        message,
        event: { type: "Warning", reason: RESTORE_INCOMPLETE, message },
      };
    }
    const undone = await undoFreeze(ctx);
    await release();
    const resumed = isTrue(status.conditions as Conditions, ConditionType.Resumed);
    const git = status.commit
      ? `Git reverted at ${status.commit.sha.slice(0, 12)}, which Flux applies`
      : "Git untouched";
    const data = resumed
      ? "the volumes were restored"
      : status.plan?.gitOnly
        ? "no volume was touched (Git-only rollback)"
        : "nothing was deleted";
    return {
      kind: "finished",
      complete: "False",
      reason,
      message: `${why}. ${data}; ${undone}; ${git}${resumed ? "; the app runs the previous version on the restored data, but check it" : ""}`,
    };
  }

  async function onDelete(ctx: Ctx): Promise<StepResult> {
    const app = appOf(ctx);
    if (mustStayFrozen(ctx)) {
      // The request goes, the freeze stays: a deleted request must not bring a PVC back empty.
      const state = await frozenState(ctx);
      const regarding = appRegarding(ctx.request);
      if (regarding)
        await deps.events.record(
          regarding,
          "Warning",
          RESTORE_INCOMPLETE,
          "Delete",
          `RollbackRequest ${ctx.request.metadata.name} was deleted in the middle of its restore. ${state}`,
        );
      if (app) await releaseLock(client, ns(ctx), app.metadata.uid ?? "", me(ctx));
      return {
        kind: "succeeded",
        message: `deleted during the restore; Flux stays suspended. ${state}`,
      };
    }
    const undone = await undoFreeze(ctx);
    if (app) await releaseLock(client, ns(ctx), app.metadata.uid ?? "", me(ctx));
    return {
      kind: "succeeded",
      message: `deleted while in flight: ${undone}; Git is not reverted`,
    };
  }

  const machine: RequestMachine<RollbackRequest, RollbackStepName> = {
    kind: "RollbackRequest",
    steps: ROLLBACK_STEPS,
    schema: RollbackRequest,
    handlers: {
      Plan: plan,
      Admit: async (ctx) => {
        const app = appOf(ctx);
        if (!app)
          return {
            kind: "failed",
            reason: ConditionReason.AppNotFound,
            message: `ManagedApp ${appName(ctx.request) ?? "?"} is gone`,
          };
        return admit(client, ctx, app.metadata.uid ?? "", me(ctx));
      },
      Suspend: (ctx) => suspendFlux(client, ctx, planOf(ctx).flux),
      ScaleDown: (ctx) => scaleDown(client, world, ctx),
      RestoreVolumes: restoreVolumes,
      Revert: revert,
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
