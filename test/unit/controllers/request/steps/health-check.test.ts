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

  it("throws when the app is gone, so the runner retries until the deadline", () => {
    const api = new FakeObjectApi();
    const ctx = stepContext(seedUpgrade(api), { plan: planWith() });
    expect(() => healthCheckStep(testStepDeps<UpgradeRequest>(api))(ctx)).toThrow("not found");
  });
});
