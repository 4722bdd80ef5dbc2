// Plan (RollbackRequest): validate the upgrade to undo (finished, committed, the app's latest
// and not rolled back yet, not a rollback itself) and pin in status.plan what the rollback acts
// on: the upgrade's Flux objects, its PVCs with their snapshots (ready, not on a Retain volume),
// every workload that mounts them with its replicas now, and the Git change (how the upgrade's
// commit can be reverted). A rollback that ended RestoreIncomplete left the app frozen: its
// suspensions and recorded replicas are taken over. Idempotent: it only reads (apart from the app
// label it puts on the request), and the plan is written with the step's success. A real request
// plans only while it holds the app (plan-lock.ts).
import {
  API_VERSION,
  ConditionReason,
  ConditionType,
  describeHolder,
  Kind,
  Label,
  parseWithMessage,
  sameHolder,
  suspensionHoldersOf,
  UpgradeRequest,
  type FluxObjectRef,
  type PlannedVolume,
  type RecordedReplicas,
  type RequestStatus,
  type RollbackRequest,
} from "../../../api/index.ts";
import { refsOf } from "../../../discovery/app-refs.ts";
import { workloadsToStop } from "../../../discovery/workloads.ts";
import type { KubeObject } from "../../../kube/client.ts";
import { getIfExists } from "../../../kube/get-if-exists.ts";
import type { Conditions } from "../../../runtime/conditions.ts";
import { isSuspended } from "../../request/flux.ts";
import { freshFlux, undoFreeze } from "../../request/freeze.ts";
import { holderIsLive } from "../../request/lock.ts";
import { predecessorOf, suspensionHolder } from "../../request/suspension.ts";
import { openRepo } from "../../request/git-access.ts";
import { trailerOf } from "../../request/git-change.ts";
import { planOutcome } from "../../request/plan-outcome.ts";
import { holdAppToPlan } from "../../request/plan-lock.ts";
import type { StepResult } from "../../request/result.ts";
import type { StepHandler } from "../../request/runner.ts";
import { namespaceOf, type StepDeps } from "../../request/step-deps.ts";
import { fluxKey } from "../../../health/frozen-apps.ts";
import {
  composeRollbackPlan,
  committedSha,
  endedAfterCommit,
  frozenSiblings,
  laterUpgradeRefusal,
  mergeWorkloads,
  RefusalReason,
  replicasNow,
  siblingOf,
  siblingRefusal,
  upgradeRefusal,
  type GitProbe,
  type OtherUpgrade,
  type Refusal,
} from "../plan.ts";
import { probeRevert } from "../revert.ts";
import { handoverOf } from "../handover.ts";
import { upgradeName } from "../upgrade-of.ts";
import { snapshotRef } from "../volume-refs.ts";

export type PlanDeps = Pick<
  StepDeps<RollbackRequest>,
  "client" | "world" | "gitAccess" | "author" | "me" | "locks"
>;

export function planStep(deps: PlanDeps): StepHandler<RollbackRequest> {
  const { client, world } = deps;
  return async (ctx): Promise<StepResult> => {
    const dry = ctx.request.spec.dryRun;
    const me = suspensionHolder(ctx, deps.me(ctx));
    // Set once the failed upgrade is known to have handed this rollback its freeze: a refusal
    // then thaws the app, since no request would be left to do it.
    let handover: Pick<RequestStatus, "suspended" | "replicas"> | undefined;
    const thawed = async (message: string): Promise<string> =>
      handover
        ? `${message}. The upgrade's freeze is undone: ${await undoFreeze(client, handover, me)}`
        : message;
    const refuse = async (
      r: Refusal | { reason: string; message: string },
    ): Promise<StepResult> => {
      const message = await thawed(r.message);
      return {
        kind: "finished",
        complete: "False",
        reason: dry ? "DryRunFailed" : r.reason,
        message,
        facts: {
          preflight: [{ name: "Upgrade", passed: false, message: r.message.slice(0, 1024) }],
        },
      };
    };
    const namespace = namespaceOf(ctx);
    const name = upgradeName(ctx);
    const found = await getIfExists(client, {
      apiVersion: API_VERSION,
      kind: Kind.UpgradeRequest,
      namespace,
      name,
    });
    if (!found) {
      const rollback = await getIfExists(client, {
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
        // Bounded by the upgrade's own deadlines: Plan's deadline is for Flux to settle.
        progressed: true,
      };
    // An auto-triggered rollback gets the failed upgrade's freeze as it stands (its holds on the
    // Flux objects were passed to this request, upgrade/steps/compensate.ts; its recorded
    // replicas are adopted below), so the failed version never restarts on live data.
    if (!dry) handover = handoverOf(found, ctx.request.metadata.name);
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
        committed: endedAfterCommit(status) && status?.commit?.sha !== undefined,
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
      const held = await holdAppToPlan(client, managedApp, deps.me(ctx), ctx, deps.locks);
      if (held) return held;
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
    if (handover) {
      for (const f of handover.suspended ?? []) {
        const live = await freshFlux(client, f);
        if (
          live &&
          isSuspended(live) &&
          suspensionHoldersOf(live).some((h) => sameHolder(h, me)) &&
          !adoptedSuspended.some((a) => fluxKey(a) === fluxKey(f))
        )
          adoptedSuspended.push(f);
      }
      for (const r of handover.replicas ?? [])
        if (
          !adoptedReplicas.some(
            (a) => a.kind === r.kind && a.namespace === r.namespace && a.name === r.name,
          )
        )
          adoptedReplicas.push(r);
    }
    const flux = [];
    for (const ref of upgradePlan.flux) {
      const object = world.flux(ref.kind, ref.namespace, ref.name);
      const adopted = adoptedSuspended.some((a) => fluxKey(a) === fluxKey(ref));
      // Who else holds a suspended object: a live request shares it, a finished one left it
      // frozen (fresh: the holders decide whether this rollback may go on).
      const holders: { name: string; live: boolean }[] = [];
      if (!adopted && isSuspended(object)) {
        const fresh = await freshFlux(client, ref);
        for (const h of fresh ? suspensionHoldersOf(fresh) : [])
          if (!predecessorOf(me)(h))
            holders.push({
              name: describeHolder(h),
              live: await holderIsLive(client, h.namespace, h),
            });
      }
      flux.push({ ref, object, adopted, holders });
    }

    const wanted = upgradePlan.volumes.filter((v) => v.snapshot !== undefined);
    const snapshots: { volume: PlannedVolume; object: KubeObject | undefined }[] = [];
    const retainedVolumes: string[] = [];
    for (const v of wanted) {
      snapshots.push({ volume: v, object: await getIfExists(client, snapshotRef(v)) });
      const volumeName = (
        world.pvcs.get(`${v.namespace}/${v.name}`)?.["spec"] as { volumeName?: string } | undefined
      )?.volumeName;
      if (volumeName) {
        const pv = await getIfExists(client, {
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
    const kustomization = world.kustomizationOf(managedApp);
    if (!kustomization) {
      const k = refsOf(managedApp).kustomization;
      git = { ok: false, message: `Kustomization ${k.namespace}/${k.name} not found` };
    } else {
      try {
        const repo = await openRepo(deps.gitAccess, managedApp, kustomization);
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
            author: deps.author,
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
    const outcome = planOutcome({
      dry,
      plan: composed,
      checks,
      preflight: checks.slice(0, 32),
      failedLead: "check(s) failed; nothing was changed",
      summary: (p) =>
        `${p.gitOnly ? "Git only (no snapshots): " : `restore ${p.volumes.length} PVC(s) from the snapshots of UpgradeRequest ${name}, `}${p.git.from} → ${p.git.to} in ${p.git.path}`,
      plannedLead: "planned:",
      facts: {
        ...(adoptedSuspended.length > 0 ? { suspended: adoptedSuspended } : {}),
        ...(adoptedReplicas.length > 0 ? { replicas: adoptedReplicas } : {}),
      },
    });
    if (outcome.kind === "finished" && outcome.complete === "False")
      return { ...outcome, message: await thawed(outcome.message) };
    return outcome;
  };
}
