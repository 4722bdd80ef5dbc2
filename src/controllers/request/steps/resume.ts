// Resume: hand the app back to Flux after the request's commit. The source is asked to fetch
// first; a HelmRelease under a suspended Kustomization is resumed only once its spec shows the
// target, since resuming it on the old spec would run the version being left on the data.
// Idempotent: every object carries this request's own requestedAt token once handled, and
// resuming or requesting a reconcile again is a no-op write. Nothing here is kind-specific: the
// target is status.plan.git.to and the commit status.commit.sha, whichever request wrote them.
import { describeHolder } from "../../../api/index.ts";
import type { KubeObject } from "../../../kube/client.ts";
import {
  FLUX_API,
  fluxRef,
  isSuspended,
  kustomizationApply,
  REQUESTED_AT,
  requestReconcile,
} from "../flux.ts";
import { revisionSha } from "../../../git/revision.ts";
import type { StepResult } from "../result.ts";
import { CHART_VERSION_PATH } from "./await-flux.ts";
import type { RequestObject, StepContext, StepHandler } from "../runner.ts";
import { CommitAncestry } from "../commit-ancestry.ts";
import { planOf, type StepDeps } from "../step-deps.ts";
import { releaseAndReconcile, suspensionHolder } from "../suspension.ts";

export type ResumeDeps<R> = Pick<
  StepDeps<R>,
  "client" | "world" | "requireApp" | "repoFor" | "ancestry" | "me"
>;

export function resumeStep<R extends RequestObject<unknown>>(deps: ResumeDeps<R>): StepHandler<R> {
  const { client, world } = deps;

  async function kustomizationApplied(ctx: StepContext<R>): Promise<boolean> {
    const k = world.kustomizationOf(deps.requireApp(ctx));
    const st = (k?.["status"] ?? {}) as { lastAppliedRevision?: string };
    const sha = ctx.status().commit?.sha;
    await deps.ancestry.learn(
      sha,
      [revisionSha(st.lastAppliedRevision)],
      () => deps.repoFor(ctx),
      CommitAncestry.plannedBase(ctx.status()),
    );
    return kustomizationApply(k, deps.ancestry.contains(sha)).state === "applied";
  }

  return async (ctx): Promise<StepResult> => {
    const p = planOf(ctx);
    const me = suspensionHolder(ctx, deps.me(ctx));
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
    // Only a bump of spec.chart.spec.version shows in the HelmRelease's spec; any other change
    // (an image tag in spec.values, the tag of spec.chartRef's OCIRepository) is in the cluster
    // once the Kustomization applied the commit.
    const chartBump = p.git.versionPath === CHART_VERSION_PATH;
    const waitingFor: string[] = [];
    const kept: string[] = [];
    const showsChart = (hr: KubeObject | undefined) =>
      (hr?.["spec"] as { chart?: { spec?: { version?: string } } } | undefined)?.chart?.spec
        ?.version === p.git.to;
    for (const f of suspended) {
      const cached = world.flux(f.kind, f.namespace, f.name);
      if (handled(f) && !isSuspended(cached)) continue;
      let fresh: KubeObject | undefined;
      if (f.kind === "HelmRelease" && suspended.some((s) => s.kind === "Kustomization")) {
        // Resume the release only once its spec shows the target: resuming it on the old spec
        // would run the version being left on the data. The cache says when to look; the
        // decision itself is taken on a fresh read.
        if (chartBump && showsChart(cached)) fresh = await client.get(fluxRef(f));
        const ready = chartBump ? showsChart(fresh) : await kustomizationApplied(ctx);
        if (!ready) {
          waitingFor.push(
            `HelmRelease ${f.namespace}/${f.name} to show ${chartBump ? `chart ${p.git.to}` : "the commit"}`,
          );
          continue;
        }
      }
      // Shared with another request (a parent Kustomization two apps suspend): only the last
      // holder resumes it; this request's commit is applied once it does.
      // Written under the version it decided on: the fresh read when there was one, else the
      // informer's copy (a Conflict, or a copy that says there is nothing to write, reads again).
      const start = fresh ? { obj: fresh, fresh: true } : cached && { obj: cached, fresh: false };
      const released = await releaseAndReconcile(client, f, me, token, start);
      if (released.kind === "kept")
        kept.push(
          `${f.kind} ${f.namespace}/${f.name} stays suspended for ${released.by.map(describeHolder).join(", ")}`,
        );
    }
    if (waitingFor.length > 0)
      return {
        kind: "waiting",
        message: `resumed what applies the commit${kept.length > 0 ? ` (${kept.join("; ")}: the last holder resumes it)` : ""}; waiting for ${waitingFor.join(", ")}`,
        afterMs: 3_000,
      };
    return {
      kind: "succeeded",
      message:
        kept.length > 0
          ? `released ${suspended.map((f) => `${f.kind} ${f.namespace}/${f.name}`).join(", ")}; ${kept.join("; ")}`
          : suspended.length > 0
            ? `resumed ${suspended.map((f) => `${f.kind} ${f.namespace}/${f.name}`).join(", ")}`
            : "nothing was suspended",
    };
  };
}
