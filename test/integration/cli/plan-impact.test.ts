// kubectl cairn plan with an impact preview, against a real API server: the test plays the
// controller (status.plan.impact, the danger checks, and the request's ConfigMap written by the
// controller's own encoder); the plugin prints the per-object diff, all of it with --diff, and
// carries the impact in -o json for CI.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Kind } from "../../../src/api/group.ts";
import type { RequestStatus } from "../../../src/api/request-status.ts";
import type { Finding } from "../../../src/impact/dangers.ts";
import type { Impact } from "../../../src/impact/diff.ts";
import { dangerChecks, encodeDetail, summarizeImpact } from "../../../src/impact/summary.ts";
import type { KubeClient, KubeObject } from "../../../src/kube/client.ts";
import { testClient } from "../../support/kube.ts";
import {
  at,
  condition,
  createApp,
  createdRequest,
  deleteIsolatedNamespace,
  ensureCurrentCrds,
  isolatedNamespace,
  setStatus,
  startCli,
  type CliResult,
} from "./support.ts";

let client: KubeClient;
let ns: string;

beforeAll(async () => {
  client = testClient();
  ns = await isolatedNamespace(client, "cli-impact");
  await ensureCurrentCrds(client, ns);
  await createApp(client, ns, "web", { status: { currentVersion: "1.0.0" } });
});

afterAll(async () => {
  if (ns) await deleteIsolatedNamespace(client, ns);
});

const id = (kind: string, name: string, group = "") => ({ group, kind, namespace: "shop", name });

const impact: Impact = {
  added: [
    {
      id: id("ConfigMap", "web-features"),
      object: {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "web-features" },
        data: { BETA: "on" },
      },
    },
  ],
  changed: [
    {
      id: id("Deployment", "web", "apps"),
      changes: [
        { path: "spec.template.spec.containers[0].image", from: "web:1.0.0", to: "web:2.0.0" },
        ...Array.from({ length: 6 }, (_, i) => ({ path: `metadata.labels.tier${i}`, to: "x" })),
      ],
    },
  ],
  removed: [id("Secret", "web-credentials")],
  unchanged: 3,
};
const findings: Finding[] = [
  {
    check: "ReferencedConfigRemoved",
    object: id("Secret", "web-credentials"),
    message:
      "Secret shop/web-credentials is no longer rendered but Deployment.apps shop/web still references it",
  },
];

/** What the controller's Plan leaves: the summary, the checks, and the ConfigMap it owns. */
async function plannedWithImpact(request: KubeObject): Promise<void> {
  const name = `${request.metadata.name ?? ""}-impact`;
  await client.create({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace: ns },
    binaryData: { "impact.json.gz": encodeDetail(impact, findings).toString("base64") },
  });
  const checks = [
    { name: "ImpactPreview", passed: true, message: `1 added, 1 changed, 1 removed` },
    ...dangerChecks(findings, []),
  ];
  const status: RequestStatus = {
    phase: "DryRunFailed",
    plan: {
      git: {
        branch: "main",
        path: "apps/web/release.yaml",
        versionPath: "spec.chart.spec.version",
        from: "1.0.0",
        to: "2.0.0",
      },
      flux: [],
      volumes: [],
      workloads: [],
      impact: summarizeImpact(impact, findings, name),
    },
    preflight: checks,
    completedAt: at(2),
    conditions: [condition("Complete", "False", "DryRunFailed", "1 check(s) failed")],
  };
  await setStatus(client, request, status);
}

async function plan(args: readonly string[], known: readonly string[]) {
  const cli = startCli(["plan", "web", "--to", "2.0.0", "-n", ns, ...args]);
  const request = await createdRequest(client, ns, Kind.UpgradeRequest, "web", known);
  await plannedWithImpact(request);
  const result: CliResult = await cli.done;
  return { request, result };
}

describe("kubectl cairn plan with an impact preview", () => {
  const seen: string[] = [];

  it("prints the dangers first, then each object with its first field changes", async () => {
    const { request, result } = await plan([], seen);
    seen.push(request.metadata.name ?? "");
    expect(result.code).toBe(1);
    const out = result.stdout;
    expect(out).toContain(
      [
        "Impact: 1 added, 1 changed, 1 removed, 3 unchanged",
        "  Dangers:",
        `    ✗ ReferencedConfigRemoved: refused unless spec.acknowledgeDangers lists ReferencedConfigRemoved: ${findings[0]?.message ?? ""}`,
        "    - Secret shop/web-credentials  (danger)",
        "    ~ Deployment.apps shop/web",
        "      ~ spec.template.spec.containers[0].image: web:1.0.0 → web:2.0.0",
        "      + metadata.labels.tier0: x",
        "      + metadata.labels.tier1: x",
        "      + metadata.labels.tier2: x",
        "      + metadata.labels.tier3: x",
        "      … 2 more (--diff shows all)",
        "    + ConfigMap shop/web-features",
        "Preflight:",
      ].join("\n"),
    );
    expect(out).not.toContain("BETA");
  });

  it("--diff prints every field change and the body of every added object", async () => {
    const { request, result } = await plan(["--diff"], seen);
    seen.push(request.metadata.name ?? "");
    const out = result.stdout;
    expect(out).toContain("      + metadata.labels.tier5: x\n");
    expect(out).not.toContain("--diff shows all");
    expect(out).toContain(
      [
        "    + ConfigMap shop/web-features",
        "        apiVersion: v1",
        "        kind: ConfigMap",
        "        metadata:",
        "          name: web-features",
        "        data:",
        "          BETA: on",
        "Preflight:",
      ].join("\n"),
    );
  });

  it("-o json carries the summary and the danger checks; with --diff the whole detail", async () => {
    const plain = await plan(["-o", "json"], seen);
    seen.push(plain.request.metadata.name ?? "");
    const printed = JSON.parse(plain.result.stdout) as KubeObject & {
      impact: { summary: unknown; dangers: { name: string; passed: boolean }[]; detail?: unknown };
    };
    expect(printed.metadata.name).toBe(plain.request.metadata.name);
    expect(printed.impact.summary).toEqual(
      summarizeImpact(impact, findings, `${plain.request.metadata.name ?? ""}-impact`),
    );
    expect(printed.impact.dangers.map((d) => [d.name, d.passed])).toEqual([
      ["ReferencedConfigRemoved", false],
      ["VolumeDataRemoved", true],
      ["ImmutableFieldChanged", true],
      ["CustomResourceDefinitionRemoved", true],
      ["OwnershipChanged", true],
    ]);
    expect(printed.impact.detail).toBeUndefined();

    const full = await plan(["-o", "json", "--diff"], seen);
    seen.push(full.request.metadata.name ?? "");
    const withDetail = JSON.parse(full.result.stdout) as { impact: { detail?: unknown } };
    expect(withDetail.impact.detail).toEqual({ impact, findings, omitted: 0 });
    expect(full.result.code).toBe(1);
  });

  it("without its ConfigMap prints the bounded list from status and says why", async () => {
    const cli = startCli(["plan", "web", "--to", "2.0.0", "-n", ns]);
    const request = await createdRequest(client, ns, Kind.UpgradeRequest, "web", seen);
    seen.push(request.metadata.name ?? "");
    const name = `${request.metadata.name ?? ""}-impact`;
    await setStatus(client, request, {
      phase: "DryRunFailed",
      plan: {
        git: {
          branch: "main",
          path: "apps/web/release.yaml",
          versionPath: "spec.chart.spec.version",
          from: "1.0.0",
          to: "2.0.0",
        },
        flux: [],
        volumes: [],
        workloads: [],
        impact: summarizeImpact(impact, findings, name),
      },
      preflight: dangerChecks(findings, []),
      conditions: [condition("Complete", "False", "DryRunFailed", "1 check(s) failed")],
    });
    const result = await cli.done;
    expect(result.stdout).toMatch(
      new RegExp(`the impact detail \\(ConfigMap ${name}\\) cannot be read: .*not found`),
    );
    expect(result.stdout).toContain(
      [
        "    - Secret shop/web-credentials",
        "    ~ Deployment.apps shop/web",
        "    + ConfigMap shop/web-features",
      ].join("\n"),
    );
  });
});
