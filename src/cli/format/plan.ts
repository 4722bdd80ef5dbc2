// A dry run's result for people: what the upgrade would change (Git, Flux, workloads, volumes),
// every preflight check, the Git diff, and the verdict.
import type { Plan, PreflightCheck } from "../../api/request-status.ts";
import { outcomeOf, type AnyRequest } from "../requests.ts";
import { type ImpactDetail, renderImpact } from "./impact.ts";

export interface PlanRenderOptions {
  /** The request's impact ConfigMap, decoded (decodeImpactDetail). */
  readonly impactDetail?: ImpactDetail;
  /** Every field change and the bodies of added objects (--diff). */
  readonly fullDiff?: boolean;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

function field(label: string, value: string): string {
  return `  ${`${label}:`.padEnd(11)}${value}`;
}

export function renderPlanBody(plan: Plan): string[] {
  const git = plan.git;
  const lines = [
    field("Git", `${git.url ?? "(the Kustomization's source)"} branch ${git.branch}`),
    field("File", `${git.path} at ${git.versionPath}`),
    field("Version", `${git.from} → ${git.to}`),
  ];
  if (git.revertOf) lines.push(field("Reverts", git.revertOf));
  for (const image of git.images ?? []) {
    lines.push(field("Image", `${image.name} ${image.from} → ${image.to}`));
  }
  lines.push(
    field(
      "Suspend",
      plan.flux.length > 0
        ? plan.flux.map((f) => `${f.kind} ${f.namespace}/${f.name}`).join(", ")
        : "nothing",
    ),
  );
  lines.push(
    field(
      "Workloads",
      plan.workloads.length > 0
        ? plan.workloads
            .map((w) => `${w.kind} ${w.namespace}/${w.name} (${plural(w.replicas, "replica")})`)
            .join(", ")
        : "none",
    ),
  );
  if (plan.volumes.length === 0) lines.push(field("Volumes", "none"));
  for (const volume of plan.volumes) {
    const details = [
      volume.size,
      volume.storageClassName !== undefined
        ? `class ${volume.storageClassName || '""'}`
        : undefined,
      volume.snapshot ? `snapshot ${volume.snapshot}` : undefined,
    ].filter((d) => d !== undefined);
    lines.push(
      field(
        "Volume",
        `${volume.namespace}/${volume.name}${details.length ? ` (${details.join(", ")})` : ""}`,
      ),
    );
  }
  if (plan.runWhileUploading)
    lines.push(field("Upload", "the workloads run at the old version while the snapshots upload"));
  if (plan.gitOnly) lines.push(field("Data", "not restored: the upgrade took no snapshots"));
  return lines;
}

export function renderPreflight(checks: readonly PreflightCheck[]): string[] {
  const width = Math.max(0, ...checks.map((c) => c.name.length));
  return checks.map((c) =>
    `  ${c.passed ? "✓" : "✗"} ${c.name.padEnd(width)}  ${c.message}`.trimEnd(),
  );
}

/** The whole report of a finished dry run. */
export function renderPlan(
  request: AnyRequest,
  app: string,
  options: PlanRenderOptions = {},
): string {
  const status = request.status;
  const out = [`Plan for ${app} (${request.kind.toLowerCase()}/${request.metadata.name}, dry run)`];
  if (status?.plan) out.push(...renderPlanBody(status.plan));
  else out.push("  (no plan was recorded)");
  // Dangers first: the impact (with its danger checks) comes before the other checks.
  if (status?.plan?.impact) {
    out.push(
      ...renderImpact(
        status.plan.impact,
        status.preflight ?? [],
        options.impactDetail,
        options.fullDiff,
      ),
    );
  }
  if (status?.preflight?.length) out.push("Preflight:", ...renderPreflight(status.preflight));
  const diff = status?.plan?.git.diff;
  if (diff)
    out.push(
      "Diff:",
      ...diff
        .replace(/\n$/, "")
        .split("\n")
        .map((l) => `  ${l}`),
    );
  const outcome = outcomeOf(status);
  if (outcome.state === "succeeded") {
    out.push(
      `Result: the dry run succeeded (${outcome.reason})${outcome.message ? `: ${outcome.message}` : ""}`,
    );
  } else if (outcome.state === "failed") {
    out.push(
      `Result: the dry run failed (${outcome.reason})${outcome.message ? `: ${outcome.message}` : ""}`,
    );
  } else {
    out.push("Result: not finished");
  }
  return `${out.join("\n")}\n`;
}
