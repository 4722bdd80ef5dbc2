import { describe, expect, it } from "vitest";
import type { UpgradeRequest } from "../../../../../src/api/index.ts";
import { healthCheckStep } from "../../../../../src/controllers/request/steps/health-check.ts";
import { FakeObjectApi } from "../../../../fakes/object-api.ts";
import {
  NS,
  planWith,
  seedApp,
  seedFlux,
  seedUpgrade,
  seedWorkload,
  testStepDeps,
} from "../../../../fakes/requests.ts";
import { stepContext } from "../../../../fakes/step-context.ts";

describe("HealthCheck", () => {
  it("waits (never fails on its own) while a workload runs fewer than its recorded replicas", async () => {
    const api = new FakeObjectApi();
    seedApp(api);
    seedFlux(api, "Kustomization", "apps");
    seedFlux(api, "HelmRelease", "db");
    seedWorkload(api, "StatefulSet", "db", 1);
    const ctx = stepContext(seedUpgrade(api), {
      plan: planWith(),
      replicas: [{ kind: "StatefulSet", namespace: NS, name: "db", original: 3 }],
    });
    const result = await healthCheckStep(testStepDeps<UpgradeRequest>(api))(ctx);
    expect(result).toMatchObject({ kind: "waiting", reason: "InProgress", afterMs: 5_000 });
  });

  it("expects the target chart version only for a chart bump, not for a value such as spec.values.image.tag", async () => {
    const api = new FakeObjectApi();
    seedApp(api);
    api.seed({
      apiVersion: "kustomize.toolkit.fluxcd.io/v1",
      kind: "Kustomization",
      metadata: { name: "apps", namespace: NS, generation: 1 },
      spec: { interval: "10m" },
      status: {
        observedGeneration: 1,
        lastAppliedRevision: `main@sha1:${"c".repeat(40)}`,
        conditions: [
          {
            type: "Ready",
            status: "True",
            reason: "ReconciliationSucceeded",
            observedGeneration: 1,
          },
        ],
      },
    });
    const released = {
      observedGeneration: 1,
      conditions: [
        { type: "Ready", status: "True", reason: "UpgradeSucceeded", observedGeneration: 1 },
      ],
      history: [{ chartName: "db", chartVersion: "1.0.0", status: "deployed", version: 2 }],
    };
    api.seed({
      apiVersion: "helm.toolkit.fluxcd.io/v2",
      kind: "HelmRelease",
      metadata: { name: "db", namespace: NS, generation: 1 },
      spec: { interval: "10m", chart: { spec: { chart: "db", version: "1.0.0" } } },
      status: released,
    });
    const up = seedUpgrade(api);
    const step = healthCheckStep(testStepDeps<UpgradeRequest>(api));
    const chartBump = await step(stepContext(up, { plan: planWith() }));
    expect(chartBump).toMatchObject({ kind: "waiting" });
    expect(chartBump.message).toContain("expected 1.1.0");
    const base = planWith();
    const valueBump = await step(
      stepContext(up, {
        plan: { ...base, git: { ...base.git, versionPath: "spec.values.image.tag" } },
      }),
    );
    expect(valueBump.message).not.toContain("expected 1.1.0");
  });

  it("throws when the app is gone, so the runner retries until the deadline", () => {
    const api = new FakeObjectApi();
    const ctx = stepContext(seedUpgrade(api), { plan: planWith() });
    expect(() => healthCheckStep(testStepDeps<UpgradeRequest>(api))(ctx)).toThrow("not found");
  });
});
