// Readiness of Flux's Kustomization and HelmRelease. Ready=True is trustworthy only for the
// current generation, checked on the status and on the Ready condition itself. A HelmRelease must
// also have its newest history entry deployed at the expected chart version: after an automatic
// remediation it can look settled while running the old version.
//
// kstatus semantics for a reconcile in progress: it is only "in progress" when something new is
// being applied. kustomize-controller marks Ready=Unknown/Progressing and Reconciling=True at the
// start of every periodic reconcile, also of a revision it applied successfully a minute ago; that
// routine pass is classified "settled", so it is no health change for anyone
// (classifyKustomization, classifyHelmRelease).
import semver from "semver";
import { z } from "zod";
import {
  Condition,
  current,
  failed,
  findCondition,
  generationStatus,
  inProgress,
  type KindStatus,
} from "./status.ts";

const FluxMeta = z.object({
  name: z.string().min(1),
  namespace: z.string().default(""),
  generation: z.number().optional(),
});

const FluxStatus = z.object({
  observedGeneration: z.number().optional(),
  conditions: z.array(Condition).nullish(),
});

/** One entry of a Kustomization's status.history, newest first (only what is read). */
const KustomizationSnapshot = z.object({ lastReconciledStatus: z.string().optional() });

export const Kustomization = z.object({
  metadata: FluxMeta,
  spec: z.object({ suspend: z.boolean().optional() }).default({}),
  status: FluxStatus.extend({
    lastAppliedRevision: z.string().optional(),
    lastAttemptedRevision: z.string().optional(),
    history: z.array(KustomizationSnapshot).nullish(),
  }).default({}),
});
export type Kustomization = z.infer<typeof Kustomization>;

export const HistoryEntry = z.object({
  name: z.string().optional(),
  namespace: z.string().optional(),
  version: z.number().optional(),
  status: z.string(),
  chartName: z.string().optional(),
  chartVersion: z.string(),
  appVersion: z.string().optional(),
  configDigest: z.string().optional(),
});
export type HistoryEntry = z.infer<typeof HistoryEntry>;

export const HelmRelease = z.object({
  metadata: FluxMeta,
  spec: z.object({ suspend: z.boolean().optional() }).default({}),
  status: FluxStatus.extend({
    history: z.array(HistoryEntry).nullish(),
    lastAttemptedGeneration: z.number().optional(),
    lastAttemptedRevision: z.string().optional(),
    lastAttemptedConfigDigest: z.string().optional(),
  }).default({}),
});
export type HelmRelease = z.infer<typeof HelmRelease>;

function isTrue(c: Condition | undefined): c is Condition {
  return c?.status === "True";
}

function describe(c: Condition): string {
  return `${c.reason ?? c.type}${c.message ? `: ${c.message}` : ""}`;
}

/**
 * What a Flux object is doing, as far as health is concerned:
 * - settled: Ready for the current generation, or reconciling again what it applied successfully
 *   before (a periodic or requested reconcile of an unchanged revision);
 * - progressing: something new is being applied (a new generation, a new revision, a retry after
 *   a failure), or the object is suspended or has no verdict yet;
 * - failed: Ready=False for the current generation with nothing in flight, or a Remediated
 *   HelmRelease;
 * - stalled: Stalled=True for the current generation (Flux gave up until the spec changes).
 */
export type FluxPhase = "settled" | "progressing" | "failed" | "stalled";

export interface FluxState {
  readonly phase: FluxPhase;
  /** CamelCase, usable as a condition reason. */
  readonly reason: string;
  readonly message: string;
}

const state = (phase: FluxPhase, reason: string, message: string): FluxState => ({
  phase,
  reason,
  message,
});

/**
 * The revision a reconcile in progress works on, as kustomize-controller names it in the
 * Reconciling condition ("Fetching manifests for revision main@sha1:… with a timeout of 5m0s").
 */
function revisionIn(message: string | undefined): string | undefined {
  return /\bfor revision (\S+)/.exec(message ?? "")?.[1];
}

/**
 * The revision a Kustomization is reconciling again, when that pass is routine: the revision in
 * flight is the one last applied, the last attempt was that revision, and the newest history entry
 * is a success. Anything else (a new revision, a retry after a failed attempt, a message in an
 * unknown shape) is not routine.
 */
function routineKustomization(k: Kustomization, reconciling: Condition | undefined) {
  const applied = k.status.lastAppliedRevision;
  if (!applied || !isTrue(reconciling)) return undefined;
  if (k.status.lastAttemptedRevision !== undefined && k.status.lastAttemptedRevision !== applied) {
    return undefined;
  }
  const last = k.status.history?.[0];
  if (last && last.lastReconciledStatus !== "ReconciliationSucceeded") return undefined;
  return revisionIn(reconciling.message) === applied ? `revision ${applied}` : undefined;
}

/**
 * The release a HelmRelease is reconciling again, when that pass is routine: what it attempts
 * (generation, chart version, values digest) is what its newest release, deployed, already runs.
 */
function routineHelmRelease(hr: HelmRelease): string | undefined {
  const last = hr.status.history?.[0];
  const { generation } = hr.metadata;
  const s = hr.status;
  if (last?.status !== "deployed") return undefined;
  if (generation !== undefined && (s.lastAttemptedGeneration ?? -1) < generation) return undefined;
  if (s.lastAttemptedRevision !== last.chartVersion) return undefined;
  if (s.lastAttemptedConfigDigest !== last.configDigest) return undefined;
  return `release ${last.chartName ?? "chart"} ${last.chartVersion}`;
}

/** The rules Kustomization and HelmRelease share. */
function classify(
  kind: string,
  obj: Kustomization | HelmRelease,
  failureTypes: readonly { type: string; phase: "failed" | "stalled" }[],
  routine: (reconciling: Condition | undefined) => string | undefined,
): FluxState {
  if (obj.spec.suspend === true) return state("progressing", "Suspended", `${kind} is suspended`);
  const generation = obj.metadata.generation;
  const fresh = (c: Condition | undefined) =>
    generation === undefined ||
    c?.observedGeneration === undefined ||
    c.observedGeneration >= generation;
  const stale = generationStatus(kind, generation, obj.status.observedGeneration);
  if (stale) {
    // Flux writes status.observedGeneration only when a reconcile ends without a retry, so an
    // object whose first reconcile keeps failing (a kustomize build error, say) stays "not
    // observed" while its Ready condition, written for this generation, says why: show that.
    const ready = findCondition(obj.status.conditions, "Ready");
    if (ready?.status === "False" && ready.observedGeneration !== undefined && fresh(ready))
      return state(
        "progressing",
        ready.reason ?? stale.reason,
        `${kind} is retrying: ${describe(ready)}`,
      );
    return state("progressing", stale.reason, stale.message);
  }
  for (const { type, phase } of failureTypes) {
    const c = findCondition(obj.status.conditions, type);
    if (isTrue(c) && fresh(c)) return state(phase, type, describe(c));
  }
  const ready = findCondition(obj.status.conditions, "Ready");
  if (!ready) return state("progressing", "NotReady", `${kind} has no Ready condition yet`);
  if (!fresh(ready)) {
    return state(
      "progressing",
      "GenerationNotObserved",
      `${kind} Ready condition is for generation ${ready.observedGeneration}, not ${generation}`,
    );
  }
  if (ready.status === "True") return state("settled", "Ready", describe(ready));
  const reconciling = findCondition(obj.status.conditions, "Reconciling");
  if (ready.status === "Unknown" || isTrue(reconciling)) {
    const again =
      ready.status === "Unknown" && fresh(reconciling) ? routine(reconciling) : undefined;
    if (again) {
      return state(
        "settled",
        "ReconcilingUnchanged",
        `${kind} is reconciling ${again} again, which it applied successfully before`,
      );
    }
    return state("progressing", ready.reason ?? "Progressing", describe(ready));
  }
  return state("failed", ready.reason ?? "NotReady", describe(ready));
}

/** The Kustomization's state (kstatus semantics, see FluxPhase). */
export function classifyKustomization(k: Kustomization): FluxState {
  return classify("Kustomization", k, [{ type: "Stalled", phase: "stalled" }], (reconciling) =>
    routineKustomization(k, reconciling),
  );
}

/**
 * The HelmRelease's state (see FluxPhase). Remediated means a rollback or uninstall undid the
 * release: whatever Ready says, it is not the version Git asked for.
 */
export function classifyHelmRelease(hr: HelmRelease): FluxState {
  return classify(
    "HelmRelease",
    hr,
    [
      { type: "Stalled", phase: "stalled" },
      { type: "Remediated", phase: "failed" },
    ],
    () => routineHelmRelease(hr),
  );
}

function asKindStatus(s: FluxState): KindStatus {
  switch (s.phase) {
    case "settled":
      return current(s.message);
    case "progressing":
      return inProgress(s.reason, s.message);
    case "failed":
    case "stalled":
      return failed(s.reason, s.message);
  }
}

export function kustomizationStatus(k: Kustomization): KindStatus {
  return asKindStatus(classifyKustomization(k));
}

/**
 * Whether a released chart version is what spec.chart.spec.version asks for. That field is a
 * SemVer constraint for source-controller ("1.2.3", "1.x", or "*", the default, which a chart
 * from Git leaves), and the released version may carry build metadata Flux added ("1.2.3+1",
 * "1.2.3+<digest>"), which a constraint ignores.
 */
export function releasedAs(released: string, asked: string): boolean {
  if (released === asked) return true;
  const range = semver.validRange(asked, { loose: true });
  if (range === null) return false;
  return semver.satisfies(released, range, { includePrerelease: true, loose: true });
}

export function helmReleaseStatus(hr: HelmRelease, expectedChartVersion?: string): KindStatus {
  const flux = classifyHelmRelease(hr);
  if (flux.phase !== "settled") return asKindStatus(flux);
  const latest = hr.status.history?.[0];
  if (!latest) return inProgress("NoHistory", "HelmRelease has no release history yet");
  const what = `${latest.chartName ?? "chart"} ${latest.chartVersion}`;
  if (
    expectedChartVersion !== undefined &&
    !releasedAs(latest.chartVersion, expectedChartVersion)
  ) {
    return inProgress(
      "ChartVersionMismatch",
      `the newest release is ${what}, expected ${expectedChartVersion}`,
    );
  }
  if (latest.status !== "deployed") {
    return failed("ReleaseNotDeployed", `the newest release (${what}) is ${latest.status}`);
  }
  return current(`${what} deployed`);
}
