// composePlan's target checks: a chart version its source does not have, and a downgrade the
// request did not allow, fail the plan (and so end the request before any side effect).
import { describe, expect, it } from "vitest";
import { ManagedApp, UpgradeRequest } from "../../../../src/api/index.ts";
import { composePlan, type PlanInput } from "../../../../src/controllers/upgrade/plan.ts";
import type { SourceVersions } from "../../../../src/updates/verify-target.ts";

const RELEASE = `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: demo
spec:
  chart:
    spec:
      chart: demo
      version: "1.1.0"
`;

const app = ManagedApp.parse({
  apiVersion: "cairn.dev/v1alpha1",
  kind: "ManagedApp",
  metadata: { name: "demo", namespace: "shop" },
  spec: {
    gitPath: "apps/demo/release.yaml",
    kustomizationRef: { name: "apps" },
    helmReleaseRef: { name: "demo" },
  },
  status: { currentVersion: "1.1.0", availableUpdate: "1.2.0" },
});

const request = (spec: Record<string, unknown>) =>
  UpgradeRequest.parse({
    apiVersion: "cairn.dev/v1alpha1",
    kind: "UpgradeRequest",
    metadata: { name: "up", namespace: "shop" },
    spec: { managedAppRef: { name: "demo" }, ...spec },
  });

const source: SourceVersions = {
  kind: "read",
  source: "HelmRepository shop/demo (http://127.0.0.1:1/)",
  chart: "demo",
  versions: ["1.0.0", "1.1.0", "1.2.0"],
};

const input = (spec: Record<string, unknown>, chartSource: SourceVersions | null = source) =>
  ({
    request: request(spec),
    app,
    flux: [],
    runningParents: [],
    gitRepository: undefined,
    git: {
      ok: true,
      url: "http://127.0.0.1:1/config.git",
      branch: "main",
      head: "a".repeat(40),
      content: RELEASE,
      canPush: { ok: true, message: "may push" },
    },
    chartSource: chartSource ?? undefined,
    volumes: [],
    missingVolumes: [],
    workloads: [],
    discoveryProblems: [],
    snapshotClass: undefined,
  }) satisfies PlanInput;

const targetChecks = (i: PlanInput) =>
  composePlan(i).checks.filter((c) => c.name === "TargetExists" || c.name === "Downgrade");

describe("composePlan: the chart target", () => {
  it("refuses a version the source does not have, naming the source", () => {
    const out = composePlan(input({ targetVersion: { chart: "9.9.9" } }));
    expect(out.checks).toContainEqual({
      name: "TargetExists",
      passed: false,
      message: "chart demo has no version 9.9.9 in HelmRepository shop/demo (http://127.0.0.1:1/)",
    });
  });

  it("passes a version the source has, also the available update when no target is set", () => {
    expect(targetChecks(input({ targetVersion: { chart: "1.2.0" } }))).toEqual([
      expect.objectContaining({ name: "TargetExists", passed: true }),
    ]);
    const out = composePlan(input({}));
    expect(out.plan?.git.to).toBe("1.2.0");
    expect(targetChecks(input({}))).toEqual([
      expect.objectContaining({ name: "TargetExists", passed: true }),
    ]);
  });

  it("refuses a downgrade unless spec.allowDowngrade is true", () => {
    expect(targetChecks(input({ targetVersion: { chart: "1.0.0" } }))).toEqual([
      expect.objectContaining({ name: "TargetExists", passed: true }),
      {
        name: "Downgrade",
        passed: false,
        message:
          "1.0.0 is older than the running 1.1.0; set spec.allowDowngrade: true on the request to downgrade",
      },
    ]);
    expect(
      targetChecks(input({ targetVersion: { chart: "1.0.0" }, allowDowngrade: true }))[1],
    ).toMatchObject({ name: "Downgrade", passed: true });
  });

  it("fails when the source cannot be read, and adds no check without a source", () => {
    const unreadable: SourceVersions = {
      kind: "unreadable",
      message: "HelmRepository shop/demo not found",
    };
    expect(targetChecks(input({ targetVersion: { chart: "1.2.0" } }, unreadable))).toEqual([
      {
        name: "TargetExists",
        passed: false,
        message: "chart 1.2.0 cannot be verified: HelmRepository shop/demo not found",
      },
    ]);
    expect(targetChecks(input({ targetVersion: { chart: "1.2.0" } }, null))).toEqual([]);
  });
});
