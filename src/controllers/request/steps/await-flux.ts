// AwaitFlux: wait until Flux applied the request's commit: the GitRepository fetched a revision
// that contains it, the Kustomization applied one (the reconcile handshake and revision checks of
// flux.ts), and the HelmRelease, if any, is current on the target. Only reads, so it is
// idempotent; Git is asked whether a revision descends from the commit once per pair.
import { refsOf } from "../../../discovery/app-refs.ts";
import { HelmRelease, helmReleaseStatus, releasedAs } from "../../../health/flux.ts";
import type { PlanGit } from "../../../api/index.ts";
import { artifactSha, kustomizationApply } from "../flux.ts";
import { revisionSha } from "../../../git/revision.ts";
import type { StepResult } from "../result.ts";
import type { RequestObject, StepHandler } from "../runner.ts";
import { CommitAncestry } from "../commit-ancestry.ts";
import { planOf, type StepDeps } from "../step-deps.ts";

/** The HelmRelease field a chart bump changes (Plan's default version path for a Helm app). */
export const CHART_VERSION_PATH = "spec.chart.spec.version";

/**
 * Whether the commit changes the chart version helm-controller releases: the HelmRelease's
 * spec.chart.spec.version, or the tag of the OCIRepository its spec.chartRef names.
 */
export const bumpsChart = (git: PlanGit): boolean =>
  git.versionPath === CHART_VERSION_PATH || git.ociChartTag === true;

export type AwaitFluxDeps<R> = Pick<StepDeps<R>, "world" | "requireApp" | "repoFor" | "ancestry">;

export function awaitFluxStep<R extends RequestObject<unknown>>(
  deps: AwaitFluxDeps<R>,
): StepHandler<R> {
  const { world } = deps;
  return async (ctx): Promise<StepResult> => {
    const p = planOf(ctx);
    const app = deps.requireApp(ctx);
    const k = world.kustomizationOf(app);
    const gitRepo = p.source
      ? world.flux("GitRepository", p.source.namespace, p.source.name)
      : undefined;
    const kStatus = (k?.["status"] ?? {}) as {
      lastAppliedRevision?: string;
      lastAttemptedRevision?: string;
    };
    const sha = ctx.status().commit?.sha;
    await deps.ancestry.learn(
      sha,
      [
        artifactSha(gitRepo),
        revisionSha(kStatus.lastAppliedRevision),
        revisionSha(kStatus.lastAttemptedRevision),
      ],
      () => deps.repoFor(ctx),
      CommitAncestry.plannedBase(ctx.status()),
    );
    const has = deps.ancestry.contains(sha);
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
      // Only a bump of the chart version (spec.chart.spec.version, or the tag of the
      // OCIRepository of spec.chartRef, which leaves the HelmRelease's generation as it was) is
      // told by the release's chart version; helm-controller may append the artifact's digest as
      // build metadata. Any other change (an image tag in spec.values) is released when the
      // HelmRelease is Ready at the generation the applied commit gave it: readiness() requires
      // the observed generation.
      const chartBump = bumpsChart(p.git);
      const st = helmReleaseStatus(parsed.data, chartBump ? p.git.to : undefined);
      const newest = parsed.data.status.history?.[0]?.chartVersion;
      if (
        st.status === "Failed" &&
        (!chartBump || (newest !== undefined && releasedAs(newest, p.git.to)))
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
  };
}
