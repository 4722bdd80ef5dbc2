// The Grafana dashboard and the alert rules shipped in charts/cairn/files name only metrics the
// controller registers: every query is parsed for its metric names, which are compared with the
// registry of createMetrics() (Cairn's metrics plus Node's process metrics). promtool checks the
// rules' syntax and behaviour in test/integration/deploy/chart.test.ts.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { createMetrics } from "../../../src/metrics.ts";

const FILES = join(import.meta.dirname, "../../../charts/cairn/files");

// PromQL words that look like metric names but are not: binary operators and modifiers.
const KEYWORDS = new Set(["and", "or", "unless", "bool", "offset", "inf", "nan"]);

/**
 * The metric names a PromQL expression reads. Strings, label matchers, ranges, Grafana
 * variables, numbers and durations, and the label lists of by/without/on/ignoring go first; what is left that is not
 * a function call, a keyword or a number is a metric name.
 */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, " ")
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\$\{[^}]*\}|\$\w+/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
    // Numbers and durations (0.9, 5m, 1e3).
    .replace(/(?<![\w:])\d[\w.]*/g, " ");
  const names = new Set<string>();
  for (const m of stripped.matchAll(/[A-Za-z_:][\w:]*/g)) {
    const after = stripped.slice(m.index + m[0].length);
    if (/^\s*\(/.test(after) || KEYWORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return [...names];
}

async function registered(): Promise<Set<string>> {
  const metrics = await createMetrics({ build: { version: "0.0.0" } }).registry.getMetricsAsJSON();
  const names = new Set<string>();
  for (const m of metrics) {
    names.add(m.name);
    if (String(m.type) === "histogram") {
      for (const suffix of ["_bucket", "_sum", "_count"]) names.add(`${m.name}${suffix}`);
    }
  }
  return names;
}

interface Panel {
  readonly title: string;
  readonly targets?: readonly { readonly expr: string }[];
}

const dashboard = JSON.parse(readFileSync(join(FILES, "grafana-dashboard.json"), "utf8")) as {
  readonly uid: string;
  readonly title: string;
  readonly panels: readonly Panel[];
};
const rules = parse(readFileSync(join(FILES, "prometheus-rules.yaml"), "utf8")) as {
  readonly groups: readonly { readonly rules: readonly { alert: string; expr: string }[] }[];
};

describe("metricNames", () => {
  it("finds the metrics and skips functions, labels, ranges, variables and keywords", () => {
    expect(
      metricNames(
        'histogram_quantile(0.9, sum by (le, kind) (rate(a_seconds_bucket{kind="x",le!="1"}[$__rate_interval]))) > 600 and on (kind) b_total offset 5m',
      ),
    ).toEqual(["a_seconds_bucket", "b_total"]);
    expect(metricNames('count(c_info{frozen="true"}) or vector(0)')).toEqual(["c_info"]);
  });
});

describe("charts/cairn/files/grafana-dashboard.json", () => {
  const queries = dashboard.panels.flatMap((p) =>
    (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })),
  );

  it("is a dashboard with a stable uid and a query in every panel", () => {
    expect(dashboard).toMatchObject({ uid: "cairn-overview", title: "Cairn" });
    expect(dashboard.panels.length).toBeGreaterThan(10);
    for (const p of dashboard.panels) expect(p.targets?.length ?? 0, p.title).toBeGreaterThan(0);
  });

  it("queries only metrics the controller registers, and each query names one", async () => {
    const known = await registered();
    for (const { panel, expr } of queries) {
      const names = metricNames(expr);
      expect(names.length, `${panel}: ${expr}`).toBeGreaterThan(0);
      for (const name of names) expect(known.has(name), `${panel}: ${name}`).toBe(true);
    }
  });

  it("shows every Cairn metric somewhere", async () => {
    const used = new Set(queries.flatMap(({ expr }) => metricNames(expr)));
    const cairn = [...(await registered())].filter(
      (n) => n.startsWith("cairn_") && !/_(sum|count)$/.test(n),
    );
    const histograms = new Set(
      cairn.filter((n) => n.endsWith("_bucket")).map((n) => n.slice(0, -7)),
    );
    const missing = cairn.filter(
      (n) => !used.has(n) && !(histograms.has(n) && used.has(`${n}_bucket`)),
    );
    expect(missing).toEqual([]);
  });
});

describe("charts/cairn/files/prometheus-rules.yaml", () => {
  it("alerts only on metrics the controller registers", async () => {
    const known = await registered();
    const all = rules.groups.flatMap((g) => g.rules);
    expect(all.length).toBeGreaterThan(0);
    for (const rule of all) {
      const names = metricNames(rule.expr);
      expect(names.length, rule.alert).toBeGreaterThan(0);
      for (const name of names) expect(known.has(name), `${rule.alert}: ${name}`).toBe(true);
    }
  });
});
