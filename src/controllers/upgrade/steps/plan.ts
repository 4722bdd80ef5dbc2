// Plan (UpgradeRequest): validate the request against the world and pin everything later steps
// act on in status.plan: the Flux objects to suspend (the app's suspendRef or Kustomization, and
// its HelmRelease), the Git change (remote, branch, head, from → to, whether the credentials may
// push), the PVCs to snapshot and every workload that mounts them. Discovery runs once:
// inventory → workloads → PVCs → workloads mounting them. Idempotent: it only reads (apart from
// the app label it puts on the request), and a plan is written with the step's success. A dry
// run ends here. A real request plans only while it holds the app (Admit took the lock before:
// plan-lock.ts), so no other request changes what the plan read before this one acts on it.
// When nobody asks for approval, the plan's write passes Approve too (approve.ts).
import {
  API_VERSION,
  ConditionReason,
  ConditionType,
  describeHolder,
  suspensionHoldersOf,
  Kind,
  Label,
  type FluxObjectRef,
  type PlannedWorkload,
  type UpgradeRequest,
} from "../../../api/index.ts";
import { refsOf } from "../../../discovery/app-refs.ts";
import { inventoryOf } from "../../../discovery/inventory.ts";
import { discoverPvcs } from "../../../discovery/pvcs.ts";
import { workloadRefs } from "../../../discovery/refs.ts";
import { workloadsToStop } from "../../../discovery/workloads.ts";
import type { KubeObject } from "../../../kube/client.ts";
import { getIfExists } from "../../../kube/get-if-exists.ts";
import { applierOwnsSuspend, appliedBy, fluxRef, isSuspended } from "../../request/flux.ts";
import { ReleaseCache } from "../../../helm/cache.ts";
import { ReleaseStorage } from "../../../helm/release-storage.ts";
import { openRepo, type OpenedRepo } from "../../request/git-access.ts";
import { holderIsLive } from "../../request/lock.ts";
import { planOutcome } from "../../request/plan-outcome.ts";
import { holdAppToPlan } from "../../request/plan-lock.ts";
import type { StepResult } from "../../request/result.ts";
import type { StepHandler } from "../../request/runner.ts";
import { namespaceOf, type StepDeps } from "../../request/step-deps.ts";
import { readImageVersions, readSourceVersions } from "../../../updates/source-versions.ts";
import type { SourceVersions } from "../../../updates/verify-target.ts";
import { gitFailureCheck } from "../git-checks.ts";
import { impactSourceOf, planImpact } from "../impact.ts";
import { chartTargetOf, composePlan, failedChecks, snapshotsWanted } from "../plan.ts";
import { chooseSnapshotClass } from "../snapshot-class.ts";
import { APPROVAL_NOT_REQUIRED, approvalRequired } from "./approve.ts";

export type PlanDeps = Pick<
  StepDeps<UpgradeRequest>,
  "client" | "world" | "config" | "gitAccess" | "appOf" | "me" | "locks"
>;

export function planStep(deps: PlanDeps): StepHandler<UpgradeRequest> {
  const { client, world } = deps;
  return async (ctx): Promise<StepResult> => {
    const dry = ctx.request.spec.dryRun;
    const end = (reason: string, message: string): StepResult => ({
      kind: "finished",
      complete: "False",
      reason: dry ? "DryRunFailed" : reason,
      message,
    });
    const app = deps.appOf(ctx);
    if (!app)
      return end(
        ConditionReason.AppNotFound,
        `spec.managedAppRef.name: ManagedApp ${namespaceOf(ctx)}/${ctx.request.spec.managedAppRef.name} not found`,
      );
    if (ctx.request.metadata.labels?.[Label.ManagedApp] !== app.metadata.name)
      await client.mergePatch(
        {
          apiVersion: API_VERSION,
          kind: Kind.UpgradeRequest,
          namespace: namespaceOf(ctx),
          name: ctx.request.metadata.name,
        },
        { metadata: { labels: { [Label.ManagedApp]: app.metadata.name } } },
      );
    if (!dry) {
      const held = await holdAppToPlan(client, app, deps.me(ctx), ctx, deps.locks);
      if (held) return held;
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
    const sourceRef = (
      kustomization?.["spec"] as
        { sourceRef?: { kind?: string; name?: string; namespace?: string } } | undefined
    )?.sourceRef;
    const gitRepository =
      sourceRef?.kind === "GitRepository" && sourceRef.name
        ? { namespace: sourceRef.namespace ?? refs.kustomization.namespace, name: sourceRef.name }
        : undefined;

    // Discovery, once, from the informers: inventory → workloads → PVCs → every workload that
    // mounts them.
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

    // The reads of the world outside the informers only read, and none needs another's answer:
    // they run side by side, so the pass lasts as long as the slowest (most often the Git round
    // trips), not their sum. The workspace queues its own commands.
    const chartTarget = chartTargetOf(ctx.request, app);
    const image = app.spec.versionPolicy.image;
    const readFlux = async () => {
      const flux = [];
      for (const ref of fluxRefs) {
        const object = world.flux(ref.kind, ref.namespace, ref.name);
        // Who holds a suspended object, fresh: it decides whether this request may share it.
        const holders: { name: string; live: boolean }[] = [];
        if (isSuspended(object)) {
          const fresh = await getIfExists(client, fluxRef(ref));
          for (const h of fresh ? suspensionHoldersOf(fresh) : [])
            holders.push({
              name: describeHolder(h),
              live: await holderIsLive(client, h.namespace, h),
            });
        }
        flux.push({ ref, object, holders });
      }
      const runningParents: string[] = [];
      // Fresh from the API: the informers drop managedFields, which say who owns spec.suspend.
      const target0 = flux[0]?.ref;
      const targetObj = target0 ? await getIfExists(client, fluxRef(target0)) : undefined;
      const parent = targetObj ? appliedBy(targetObj) : undefined;
      if (targetObj && parent && applierOwnsSuspend(targetObj)) {
        const p = world.flux("Kustomization", parent.namespace, parent.name);
        if (p && !isSuspended(p))
          runningParents.push(`Kustomization ${parent.namespace}/${parent.name}`);
      }
      return { flux, runningParents };
    };

    const readGit = async (): Promise<Parameters<typeof composePlan>[0]["git"]> => {
      if (!kustomization)
        return {
          ok: false,
          message: `Kustomization ${refs.kustomization.namespace}/${refs.kustomization.name} not found`,
        };
      let repo: OpenedRepo | undefined;
      try {
        repo = await openRepo(deps.gitAccess, app, kustomization);
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
        return { ok: true, url: repo.url, branch: repo.branch, head, content, canPush };
      } catch (err) {
        // Filed under the check that says what failed: settings, credential, branch, file, server.
        const failure = gitFailureCheck(err, { repo, gitPath: app.spec.gitPath });
        return { ok: false, check: failure.check, message: failure.message };
      }
    };

    // A chart target is checked against what its source offers now, before any side effect; an
    // app versioned by an image tag: the tag must be one its registry has.
    const readChartSource = async (): Promise<SourceVersions | undefined> => {
      if (chartTarget === undefined) return undefined;
      if (helmRelease) {
        try {
          return await readSourceVersions({
            client,
            helmRelease,
            namespace: own,
            allowCrossNamespaceRefs: deps.config.allowCrossNamespaceRefs,
          });
        } catch (err) {
          return { kind: "unreadable", message: err instanceof Error ? err.message : String(err) };
        }
      }
      return image ? readImageVersions(client, own, image) : undefined;
    };

    const [fluxRead, git, releaseStorage, snapshotClass, chartSource] = await Promise.all([
      readFlux(),
      readGit(),
      // Helm's storage, whatever the HelmRelease's status says: never upgrade over a release
      // Helm cannot act on (pending-*) or whose newest revision cannot be read.
      helmRelease ? new ReleaseStorage(client, new ReleaseCache()).read(helmRelease) : undefined,
      snapshotsWanted(ctx.request, app) && volumes.length > 0
        ? chooseSnapshotClass(client, volumes, app.spec.volumeSnapshots.volumeSnapshotClassName)
        : undefined,
      readChartSource(),
    ]);
    const { flux, runningParents } = fluxRead;

    const {
      plan: composed,
      checks,
      settling,
    } = composePlan({
      chartSource,
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
      releaseStorage,
      snapshotClass,
    });
    const settleFailed = failedChecks(checks);
    // A Flux object in the middle of a routine reconcile is no reason to refuse: wait for it to
    // settle (its changes wake this request; the step's deadline bounds the wait). Any other
    // failed check ends the plan now.
    if (settleFailed.length > 0 && settleFailed.every((c) => settling.includes(c)))
      return {
        kind: "waiting",
        reason: ConditionReason.Waiting,
        message: `waiting for Flux to settle before planning: ${settleFailed.map((c) => c.message).join("; ")}`,
        afterMs: 5_000,
      };
    // The impact preview: only for a plan whose other checks pass (a failed plan ends before it
    // anyway), and only with a rendering helper configured.
    const impactSource =
      composed && deps.config.renderHelper && settleFailed.length === 0
        ? impactSourceOf({
            plan: composed,
            helmRelease,
            kustomization,
            app,
            gitAccess: deps.gitAccess,
            gitRepositoryRef: gitRepository,
            gitRepository: gitRepository
              ? world.flux("GitRepository", gitRepository.namespace, gitRepository.name)
              : undefined,
          })
        : undefined;
    const previewed =
      impactSource && deps.config.renderHelper
        ? await planImpact({
            client,
            helperPath: deps.config.renderHelper,
            request: ctx.request,
            source: impactSource,
            allowCrossNamespaceRefs: deps.config.allowCrossNamespaceRefs,
          })
        : undefined;
    const allChecks = [...checks, ...(previewed?.checks ?? [])];
    const plan =
      composed && previewed?.impact ? { ...composed, impact: previewed.impact } : composed;
    const outcome = planOutcome({
      dry,
      plan,
      checks: allChecks,
      preflight: allChecks,
      failedLead: "check(s) failed",
      summary: (p) =>
        `${p.git.from} → ${p.git.to} in ${p.git.path}; ${p.volumes.length} PVC(s), ${p.workloads.length} workload(s)`,
      plannedLead: "planned",
    });
    // Nobody asked for approval: Approve passes in this same write instead of a pass of its own.
    return outcome.kind === "succeeded" && !approvalRequired(ctx.request, app)
      ? {
          ...outcome,
          passes: [
            {
              condition: ConditionType.Approved,
              reason: ConditionReason.NotNeeded,
              message: APPROVAL_NOT_REQUIRED,
            },
          ],
        }
      : outcome;
  };
}
