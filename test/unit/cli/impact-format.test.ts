import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { decodeImpactDetail, impactJson, renderImpact } from "../../../src/cli/format/impact.ts";
import { renderPlan } from "../../../src/cli/format/plan.ts";
import type { PlanImpact, PreflightCheck } from "../../../src/api/index.ts";
import type { Impact } from "../../../src/impact/diff.ts";
import { complete, plan, upgrade } from "./fixtures.ts";

const id = (kind: string, name: string, group = "") => ({ group, kind, namespace: "shop", name });

const impact: Impact = {
  added: [{ id: id("ConfigMap", "features"), object: { kind: "ConfigMap", data: { A: "1" } } }],
  changed: [
    {
      id: id("Deployment", "web", "apps"),
      changes: [
        { path: "spec.template.spec.containers[0].image", from: "web:1", to: "web:2" },
        ...Array.from({ length: 6 }, (_, i) => ({ path: `metadata.labels.l${i}`, to: "x" })),
      ],
    },
    { id: id("Secret", "creds"), changes: [{ path: "stringData.PW", redacted: true as const }] },
  ],
  removed: [id("Secret", "old")],
  unchanged: 2,
};
const finding = {
  check: "ReferencedConfigRemoved" as const,
  object: id("Secret", "old"),
  message: "Secret shop/old is no longer rendered but Deployment.apps shop/web still references it",
};
const summary: PlanImpact = {
  added: 1,
  changed: 2,
  removed: 1,
  unchanged: 2,
  objects: [
    { change: "Removed", ...id("Secret", "old") },
    { change: "Changed", ...id("Deployment", "web", "apps") },
  ],
  truncated: true,
  detailConfigMap: "r-impact",
};
const preflight: PreflightCheck[] = [
  { name: "ImpactPreview", passed: true, message: "1 added, 2 changed, 1 removed" },
  {
    name: "ReferencedConfigRemoved",
    passed: false,
    message: `refused unless spec.acknowledgeDangers lists ReferencedConfigRemoved: ${finding.message}`,
  },
  { name: "VolumeDataRemoved", passed: true, message: "none found" },
];
const configMap = {
  binaryData: {
    "impact.json.gz": gzipSync(
      JSON.stringify({ impact, findings: [finding], omitted: 0 }),
    ).toString("base64"),
  },
};

describe("renderImpact", () => {
  it("shows counts, dangers first, then each object with its first field changes", () => {
    const detail = decodeImpactDetail(configMap);
    expect(renderImpact(summary, preflight, detail)).toEqual([
      "Impact: 1 added, 2 changed, 1 removed, 2 unchanged",
      "  Dangers:",
      `    ✗ ReferencedConfigRemoved: refused unless spec.acknowledgeDangers lists ReferencedConfigRemoved: ${finding.message}`,
      "    - Secret shop/old  (danger)",
      "    ~ Deployment.apps shop/web",
      "      ~ spec.template.spec.containers[0].image: web:1 → web:2",
      "      + metadata.labels.l0: x",
      "      + metadata.labels.l1: x",
      "      + metadata.labels.l2: x",
      "      + metadata.labels.l3: x",
      "      … 2 more (--diff shows all)",
      "    ~ Secret shop/creds",
      "      ~ stringData.PW (a Secret value; not shown)",
      "    + ConfigMap shop/features",
    ]);
  });

  it("with the full diff shows every change and added objects' bodies", () => {
    const lines = renderImpact(summary, preflight, decodeImpactDetail(configMap), true);
    expect(lines).toContain("      + metadata.labels.l5: x");
    expect(lines.slice(-3)).toEqual([
      "        kind: ConfigMap",
      "        data:",
      '          A: "1"',
    ]);
  });

  it("without the detail lists the bounded objects of status and where the rest is", () => {
    expect(renderImpact(summary, [], undefined)).toEqual([
      "Impact: 1 added, 2 changed, 1 removed, 2 unchanged",
      "    - Secret shop/old",
      "    ~ Deployment.apps shop/web",
      "    … (more in the ConfigMap r-impact)",
    ]);
  });

  it("reads no detail from a ConfigMap without one or with garbage", () => {
    expect(decodeImpactDetail({})).toBeUndefined();
    expect(
      decodeImpactDetail({ binaryData: { "impact.json.gz": "bm90IGd6aXA=" } }),
    ).toBeUndefined();
  });
});

describe("renderPlan with an impact", () => {
  it("puts the impact before the preflight checks", () => {
    const request = upgrade("web-plan-i", {
      spec: { dryRun: true },
      status: {
        plan: { ...plan(), impact: summary },
        preflight,
        conditions: [complete("False", "DryRunFailed", "1 check(s) failed")],
      },
    });
    const text = renderPlan(request, "web");
    expect(text.indexOf("Impact: 1 added")).toBeGreaterThan(0);
    expect(text.indexOf("Impact:")).toBeLessThan(text.indexOf("Preflight:"));
    expect(text).toContain("✗ ReferencedConfigRemoved");
  });
});

describe("impactJson", () => {
  it("carries the summary, every danger check and the detail for CI", () => {
    const detail = decodeImpactDetail(configMap);
    const json = impactJson(summary, preflight, detail);
    expect(json.summary).toBe(summary);
    expect(json.dangers.map((d) => [d.name, d.passed])).toEqual([
      ["ReferencedConfigRemoved", false],
      ["VolumeDataRemoved", true],
    ]);
    expect(json.detail?.findings).toEqual([finding]);
    expect(impactJson(summary, [], undefined)).toEqual({ summary, dangers: [] });
  });
});
