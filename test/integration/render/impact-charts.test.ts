// The impact of the test bed's `impact` chart versions, rendered by cairn-render with Helm's
// engine and compared as the Plan step compares them (the deployed manifest against the
// target's): exactly what each version adds, changes and removes, and which dangers it holds.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { TESTBED_DIR } from "../../../testbed/src/binaries.ts";
import { findDangers } from "../../../src/impact/dangers.ts";
import { computeImpact } from "../../../src/impact/diff.ts";
import { describeId, parseObjects, type RenderedObject } from "../../../src/impact/objects.ts";
import { DEFAULT_HELPER_LIMITS, runHelper } from "../../../src/render/helper.ts";

const run = promisify(execFile);
let helper = "";

beforeAll(async () => {
  const { stdout } = await run("bash", [join(TESTBED_DIR, "build.sh"), "render"]);
  const dirs = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as { render: string };
  helper = join(dirs.render, "cairn-render");
});

async function render(version: string): Promise<RenderedObject[]> {
  const result = await runHelper(
    { path: helper, ...DEFAULT_HELPER_LIMITS },
    {
      helm: {
        chartPath: join(TESTBED_DIR, "fixtures", "charts", `impact-${version}`),
        releaseName: "demo",
        namespace: "shop",
        values: { storageClassName: "" },
      },
    },
  );
  if (!result.ok) throw new Error(result.message);
  const parsed = parseObjects(result.manifest, "shop");
  if (!parsed.ok) throw new Error(parsed.message);
  return [...parsed.objects];
}

async function upgrade(to: string) {
  const current = await render("1.0.0");
  const target = await render(to);
  const impact = computeImpact(current, target, "manifest");
  const findings = findDangers({
    current,
    target,
    impact,
    mode: "manifest",
    owner: { kind: "HelmRelease", releaseName: "demo", namespace: "shop" },
    live: new Map(),
  });
  return {
    added: impact.added.map((a) => describeId(a.id)),
    changed: impact.changed.map((c) => describeId(c.id)),
    removed: impact.removed.map(describeId),
    unchanged: impact.unchanged,
    findings: findings.map((f) => `${f.check}: ${describeId(f.object)}`),
    impact,
  };
}

describe("the impact chart's versions", () => {
  it("1.1.0 adds a ConfigMap and a Service and changes the rest, without danger", async () => {
    const u = await upgrade("1.1.0");
    expect(u.added).toEqual(["ConfigMap shop/demo-features", "Service shop/demo-web"]);
    expect(u.changed).toEqual([
      "ConfigMap shop/demo-settings",
      "Deployment.apps shop/demo-web",
      "Secret shop/demo-credentials",
      "Service shop/demo-db",
      "StatefulSet.apps shop/demo-db",
    ]);
    expect(u.removed).toEqual([]);
    expect(u.findings).toEqual([]);
    const settings = u.impact.changed.find((c) => c.id.name === "demo-settings");
    expect(settings?.changes).toContainEqual({
      path: "data.GREETING",
      from: "hello",
      to: "hello again",
    });
  });

  it("2.0.0 stops rendering the Secret the Deployment reads: ReferencedConfigRemoved", async () => {
    const u = await upgrade("2.0.0");
    expect(u.added).toEqual([]);
    expect(u.removed).toEqual(["Secret shop/demo-credentials"]);
    expect(u.findings).toEqual(["ReferencedConfigRemoved: Secret shop/demo-credentials"]);
  });

  it("3.0.0 changes the StatefulSet's volumeClaimTemplates: ImmutableFieldChanged", async () => {
    const u = await upgrade("3.0.0");
    expect(u.added).toEqual([]);
    expect(u.removed).toEqual([]);
    expect(u.findings).toEqual(["ImmutableFieldChanged: StatefulSet.apps shop/demo-db"]);
  });
});
