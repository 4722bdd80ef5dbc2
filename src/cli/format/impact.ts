// The impact preview for people and for CI: the counts, the dangers first (each danger check
// that found something, acknowledged or not), then every added, changed and removed object with
// a readable diff of its fields (the first few per object; all of them, and the bodies of added
// objects, with full). The per-object detail comes from the request's ConfigMap
// (plan.impact.detailConfigMap, key impact.json.gz); without it the bounded list in status is
// shown.
import { gunzipSync } from "node:zlib";
import { stringify } from "yaml";
import { DANGER_CHECK_NAMES, type PlanImpact, type PreflightCheck } from "../../api/index.ts";
import type { Finding } from "../../impact/dangers.ts";
import type { FieldChange, Impact } from "../../impact/diff.ts";
import { type ObjectId, describeId } from "../../impact/objects.ts";
import { DETAIL_KEY } from "../../impact/summary.ts";

export interface ImpactDetail {
  readonly impact: Impact;
  readonly findings: readonly Finding[];
  readonly omitted: number;
}

/** The detail out of the request's ConfigMap; undefined when it holds none. */
export function decodeImpactDetail(configMap: unknown): ImpactDetail | undefined {
  const binary = (configMap as { binaryData?: Record<string, string> } | undefined)?.binaryData;
  const packed = binary?.[DETAIL_KEY];
  if (!packed) return undefined;
  try {
    const detail = JSON.parse(
      gunzipSync(Buffer.from(packed, "base64")).toString("utf8"),
    ) as Partial<ImpactDetail>;
    if (!detail.impact || !Array.isArray(detail.findings)) return undefined;
    return { impact: detail.impact, findings: detail.findings, omitted: detail.omitted ?? 0 };
  } catch {
    return undefined;
  }
}

const DANGERS = new Set<string>(DANGER_CHECK_NAMES);
/** Field changes shown per object without --diff. */
export const CHANGES_SHOWN = 5;

function value(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}

function changeLine(c: FieldChange): string {
  if (c.redacted) return `      ~ ${c.path} (a Secret value; not shown)`;
  if (!("from" in c)) return `      + ${c.path}: ${value(c.to)}`;
  if (!("to" in c)) return `      - ${c.path}: ${value(c.from)}`;
  return `      ~ ${c.path}: ${value(c.from)} → ${value(c.to)}`;
}

function objectLines(sign: string, id: ObjectId, danger: boolean): string {
  return `    ${sign} ${describeId(id)}${danger ? "  (danger)" : ""}`;
}

export function renderImpact(
  impact: PlanImpact,
  preflight: readonly PreflightCheck[],
  detail?: ImpactDetail,
  full = false,
): string[] {
  const out = [
    `Impact: ${impact.added} added, ${impact.changed} changed, ${impact.removed} removed, ${impact.unchanged} unchanged`,
  ];
  const dangers = preflight.filter((c) => DANGERS.has(c.name) && c.message !== "none found");
  if (dangers.length > 0) {
    out.push("  Dangers:");
    for (const d of dangers) out.push(`    ${d.passed ? "!" : "✗"} ${d.name}: ${d.message}`);
  }
  const dangerous = new Set((detail?.findings ?? []).map((f) => describeId(f.object)));
  if (!detail) {
    const sign = { Added: "+", Changed: "~", Removed: "-" } as const;
    for (const o of impact.objects) out.push(objectLines(sign[o.change], o, false));
    if (impact.truncated)
      out.push("    … (more in the ConfigMap " + (impact.detailConfigMap ?? "") + ")");
    return out;
  }
  for (const id of detail.impact.removed)
    out.push(objectLines("-", id, dangerous.has(describeId(id))));
  for (const c of detail.impact.changed) {
    out.push(objectLines("~", c.id, dangerous.has(describeId(c.id))));
    const shown = full ? c.changes : c.changes.slice(0, CHANGES_SHOWN);
    out.push(...shown.map(changeLine));
    if (shown.length < c.changes.length) {
      out.push(`      … ${c.changes.length - shown.length} more (--diff shows all)`);
    }
  }
  for (const a of detail.impact.added) {
    out.push(objectLines("+", a.id, dangerous.has(describeId(a.id))));
    if (full && Object.keys(a.object).length > 0) {
      out.push(
        ...stringify(a.object)
          .trimEnd()
          .split("\n")
          .map((l) => `        ${l}`),
      );
    }
  }
  if (detail.omitted > 0)
    out.push(`    … ${detail.omitted} object(s) too large to keep in the detail`);
  return out;
}

/** The impact for `-o json` (a CI bot posts it): the summary, the danger checks, the detail. */
export function impactJson(
  impact: PlanImpact,
  preflight: readonly PreflightCheck[],
  detail?: ImpactDetail,
): {
  readonly summary: PlanImpact;
  readonly dangers: readonly PreflightCheck[];
  readonly detail?: ImpactDetail;
} {
  return {
    summary: impact,
    dangers: preflight.filter((c) => DANGERS.has(c.name)),
    ...(detail ? { detail } : {}),
  };
}
