// Readiness of Flux's Kustomization and HelmRelease. Ready=True is
// trustworthy only for the current generation, checked on the status and on the Ready condition
// itself. A HelmRelease must also have its newest history entry deployed at the expected chart
// version: after an automatic remediation it can look settled while running the old version.
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

export const Kustomization = z.object({
  metadata: FluxMeta,
  spec: z.object({ suspend: z.boolean().optional() }).default({}),
  status: FluxStatus.default({}),
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
});
export type HistoryEntry = z.infer<typeof HistoryEntry>;

export const HelmRelease = z.object({
  metadata: FluxMeta,
  spec: z.object({ suspend: z.boolean().optional() }).default({}),
  status: FluxStatus.extend({ history: z.array(HistoryEntry).nullish() }).default({}),
});
export type HelmRelease = z.infer<typeof HelmRelease>;

function isTrue(c: Condition | undefined): c is Condition {
  return c?.status === "True";
}

function describe(c: Condition): string {
  return `${c.reason ?? c.type}${c.message ? `: ${c.message}` : ""}`;
}

/**
 * The rules Kustomization and HelmRelease share; undefined when the object is Ready now. Each of
 * failureTypes set to True for the current generation means Failed.
 */
function readiness(
  kind: string,
  obj: Kustomization | HelmRelease,
  failureTypes: readonly string[],
): KindStatus | undefined {
  if (obj.spec.suspend === true) return inProgress("Suspended", `${kind} is suspended`);
  const generation = obj.metadata.generation;
  const stale = generationStatus(kind, generation, obj.status.observedGeneration);
  if (stale) return stale;
  for (const type of failureTypes) {
    const c = findCondition(obj.status.conditions, type);
    const fresh =
      generation === undefined ||
      c?.observedGeneration === undefined ||
      c.observedGeneration >= generation;
    if (isTrue(c) && fresh) return failed(type, describe(c));
  }
  const ready = findCondition(obj.status.conditions, "Ready");
  if (!ready) return inProgress("NotReady", `${kind} has no Ready condition yet`);
  if (
    generation !== undefined &&
    ready.observedGeneration !== undefined &&
    ready.observedGeneration < generation
  ) {
    return inProgress(
      "GenerationNotObserved",
      `${kind} Ready condition is for generation ${ready.observedGeneration}, not ${generation}`,
    );
  }
  if (ready.status === "True") return undefined;
  const reconciling = findCondition(obj.status.conditions, "Reconciling");
  if (ready.status === "Unknown" || isTrue(reconciling)) {
    return inProgress(ready.reason ?? "Progressing", describe(ready));
  }
  return failed(ready.reason ?? "NotReady", describe(ready));
}

export function kustomizationStatus(k: Kustomization): KindStatus {
  return readiness("Kustomization", k, ["Stalled"]) ?? current("Ready");
}

export function helmReleaseStatus(hr: HelmRelease, expectedChartVersion?: string): KindStatus {
  // Remediated means a rollback or uninstall undid the release: whatever Ready says, it is not the
  // version Git asked for.
  const notReady = readiness("HelmRelease", hr, ["Stalled", "Remediated"]);
  if (notReady) return notReady;
  const latest = hr.status.history?.[0];
  if (!latest) return inProgress("NoHistory", "HelmRelease has no release history yet");
  const what = `${latest.chartName ?? "chart"} ${latest.chartVersion}`;
  if (expectedChartVersion !== undefined && latest.chartVersion !== expectedChartVersion) {
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
