// Handing the app back to Flux after a request's commit, and judging the result: Resume (the
// parent Kustomization first, the HelmRelease once its spec shows the target: domain notes, §5),
// AwaitFlux (the reconcile handshake and revision checks of §1.4) and HealthCheck (§6). Nothing
// here is rollback-specific: the target is status.plan.git.to and the commit status.commit.sha,
// whichever request wrote them, so the upgrade controller can share these steps.
import type { ManagedApp } from "../../api/index.ts";
import { inventoryOf } from "../../discovery/inventory.ts";
import { workloadRefs } from "../../discovery/refs.ts";
import { checkHealth } from "../../health/check.ts";
import { HelmRelease, helmReleaseStatus } from "../../health/flux.ts";
import type { KubeClient, KubeObject } from "../../kube/client.ts";
import { refsOf } from "../managedapp/evaluate.ts";
import {
  artifactSha,
  FLUX_API,
  fluxRef,
  isSuspended,
  kustomizationApply,
  REQUESTED_AT,
  requestReconcile,
  revisionSha,
  setSuspend,
} from "./flux.ts";
import type { OpenedRepo } from "./git-access.ts";
import { IMAGES_VERSION_PATH } from "./git-change.ts";
import type { StepResult } from "./result.ts";
import type { RequestObject, StepContext } from "./runner.ts";
import type { World } from "./world.ts";

export interface FluxStepsDeps<R> {
  readonly client: KubeClient;
  readonly world: World;
  /** The request's ManagedApp; throws when it is gone (the runner retries until the deadline). */
  readonly appOf: (ctx: StepContext<R>) => ManagedApp;
  readonly repoFor: (ctx: StepContext<R>) => Promise<OpenedRepo>;
}

export interface FluxSteps<R> {
  readonly resume: (ctx: StepContext<R>) => Promise<StepResult>;
  readonly awaitFlux: (ctx: StepContext<R>) => Promise<StepResult>;
  readonly healthCheck: (ctx: StepContext<R>) => Promise<StepResult>;
}

const planOf = (ctx: StepContext<unknown>) => {
  const plan = ctx.status().plan;
  if (!plan) throw new Error("status.plan is missing");
  return plan;
};

export function fluxSteps<R extends RequestObject<unknown>>(deps: FluxStepsDeps<R>): FluxSteps<R> {
  const { client, world } = deps;
  const kustomizationOf = (app: ManagedApp) => {
    const k = refsOf(app).kustomization;
    return world.flux("Kustomization", k.namespace, k.name);
  };

  // Ancestry answers, per commit: revisions are immutable, so once known they stay true.
  const contains = new Map<string, boolean>();
  const containsKey = (commit: string, rev: string) => `${commit}:${rev}`;
  async function learnAncestry(ctx: StepContext<R>, revisions: (string | undefined)[]) {
    const sha = ctx.status().commit?.sha;
    if (!sha) return;
    const unknown = revisions.filter(
      (r): r is string => r !== undefined && r !== sha && !contains.has(containsKey(sha, r)),
    );
    if (unknown.length === 0) return;
    const repo = await deps.repoFor(ctx);
    await repo.ws.fetch();
    for (const r of unknown)
      contains.set(containsKey(sha, r), await repo.ws.isAncestor(sha, r).catch(() => false));
  }
  const containsCommit = (ctx: StepContext<R>) => (rev: string) => {
    const sha = ctx.status().commit?.sha;
    return sha !== undefined && (rev === sha || contains.get(containsKey(sha, rev)) === true);
  };

  async function resume(ctx: StepContext<R>): Promise<StepResult> {
    const p = planOf(ctx);
    const token = `${ctx.request.metadata.uid ?? ""}-resume`;
    // The token is this request's alone and nothing takes it off, so a cached copy that shows it
    // is a version after our own write: the handshake is done, and if that copy is not
    // suspended, so is the resume written before it. A cache that lags only costs the same
    // idempotent writes again, so a pass that waits for the release costs no API call.
    const handled = (f: { kind: keyof typeof FLUX_API; namespace: string; name: string }) =>
      world.flux(f.kind, f.namespace, f.name)?.metadata.annotations?.[REQUESTED_AT] === token;
    const source = p.source ? { kind: "GitRepository" as const, ...p.source } : undefined;
    if (source && !handled(source)) await requestReconcile(client, source, token);
    const suspended = ctx.status().suspended ?? [];
    const chartBump = p.git.versionPath !== IMAGES_VERSION_PATH;
    const waitingFor: string[] = [];
    const showsChart = (hr: KubeObject | undefined) =>
      (hr?.["spec"] as { chart?: { spec?: { version?: string } } } | undefined)?.chart?.spec
        ?.version === p.git.to;
    for (const f of suspended) {
      if (handled(f) && !isSuspended(world.flux(f.kind, f.namespace, f.name))) continue;
      let live: KubeObject | undefined;
      if (f.kind === "HelmRelease" && suspended.some((s) => s.kind === "Kustomization")) {
        // Resume the release only once its spec shows the target: resuming it on the old spec
        // would run the version being left on the data (domain notes, §5). The cache says when
        // to look; the decision itself is taken on a fresh read.
        const ready = chartBump
          ? showsChart(world.flux(f.kind, f.namespace, f.name)) &&
            showsChart((live = await client.get(fluxRef(f))))
          : await kustomizationApplied(ctx);
        if (!ready) {
          waitingFor.push(
            `HelmRelease ${f.namespace}/${f.name} to show ${chartBump ? `chart ${p.git.to}` : "the commit"}`,
          );
          continue;
        }
      }
      live ??= await client.get(fluxRef(f));
      if (isSuspended(live)) await setSuspend(client, f, false);
      await requestReconcile(client, f, token);
    }
    if (waitingFor.length > 0)
      return {
        kind: "waiting",
        message: `resumed what applies the commit; waiting for ${waitingFor.join(", ")}`,
        afterMs: 3_000,
      };
    return {
      kind: "succeeded",
      message:
        suspended.length > 0
          ? `resumed ${suspended.map((f) => `${f.kind} ${f.namespace}/${f.name}`).join(", ")}`
          : "nothing was suspended",
    };
  }

  async function kustomizationApplied(ctx: StepContext<R>): Promise<boolean> {
    const k = kustomizationOf(deps.appOf(ctx));
    const st = (k?.["status"] ?? {}) as { lastAppliedRevision?: string };
    await learnAncestry(ctx, [revisionSha(st.lastAppliedRevision)]);
    return kustomizationApply(k, containsCommit(ctx)).state === "applied";
  }

  async function awaitFlux(ctx: StepContext<R>): Promise<StepResult> {
    const p = planOf(ctx);
    const app = deps.appOf(ctx);
    const k = kustomizationOf(app);
    const gitRepo = p.source
      ? world.flux("GitRepository", p.source.namespace, p.source.name)
      : undefined;
    const kStatus = (k?.["status"] ?? {}) as {
      lastAppliedRevision?: string;
      lastAttemptedRevision?: string;
    };
    await learnAncestry(ctx, [
      artifactSha(gitRepo),
      revisionSha(kStatus.lastAppliedRevision),
      revisionSha(kStatus.lastAttemptedRevision),
    ]);
    const has = containsCommit(ctx);
    const artifact = artifactSha(gitRepo);
    if (p.source && (artifact === undefined || !has(artifact)))
      return {
        kind: "waiting",
        message: `waiting for GitRepository ${p.source.namespace}/${p.source.name} to fetch ${ctx.status().commit?.sha.slice(0, 12) ?? ""} (has ${artifact?.slice(0, 12) ?? "nothing"})`,
        afterMs: 3_000,
      };
    const applied = kustomizationApply(k, has);
    if (applied.state === "failed")
      return {
        kind: "failed",
        reason: "FluxApplyFailed",
        message: `Kustomization failed to apply the commit: ${applied.message}`,
      };
    if (applied.state === "pending")
      return { kind: "waiting", message: applied.message, afterMs: 3_000 };
    const refs = refsOf(app);
    if (refs.helmRelease) {
      const hr = world.flux("HelmRelease", refs.helmRelease.namespace, refs.helmRelease.name);
      const parsed = HelmRelease.safeParse(hr);
      if (!parsed.success)
        return { kind: "waiting", message: "waiting for the HelmRelease", afterMs: 3_000 };
      const chartBump = p.git.versionPath !== IMAGES_VERSION_PATH;
      const st = helmReleaseStatus(parsed.data, chartBump ? p.git.to : undefined);
      if (
        st.status === "Failed" &&
        (!chartBump || parsed.data.status.history?.[0]?.chartVersion === p.git.to)
      )
        return {
          kind: "failed",
          reason: "FluxApplyFailed",
          message: `HelmRelease ${refs.helmRelease.namespace}/${refs.helmRelease.name} failed: ${st.message}`,
        };
      if (st.status !== "Current")
        return { kind: "waiting", message: `HelmRelease: ${st.message}`, afterMs: 3_000 };
    }
    return { kind: "succeeded", message: `Flux applied ${applied.revision.slice(0, 12)}` };
  }

  function healthCheck(ctx: StepContext<R>): Promise<StepResult> {
    const p = planOf(ctx);
    const app = deps.appOf(ctx);
    const refs = refsOf(app);
    const k = kustomizationOf(app);
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
        ...(p.git.versionPath !== IMAGES_VERSION_PATH && refs.helmRelease
          ? { chartVersion: p.git.to }
          : {}),
        pvcs: p.volumes.map((v) => ({ namespace: v.namespace, name: v.name })),
      },
    });
    return Promise.resolve(
      result.healthy
        ? { kind: "succeeded", message: result.message }
        : { kind: "waiting", reason: "InProgress", message: result.message, afterMs: 5_000 },
    );
  }

  return { resume, awaitFlux, healthCheck };
}
