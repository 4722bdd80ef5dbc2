// Plan (UpgradeRequest) on the fake API, the paths that end before Git is asked; the full plan
// is exercised on the test bed (test/e2e/upgrade.test.ts).
import { describe, expect, it } from "vitest";
import {
  API_VERSION,
  ConditionReason,
  Kind,
  Label,
  type UpgradeRequest,
} from "../../../../../src/api/index.ts";
import { acquireLock } from "../../../../../src/controllers/request/lock.ts";
import { planStep } from "../../../../../src/controllers/upgrade/steps/plan.ts";
import { FakeObjectApi } from "../../../../fakes/object-api.ts";
import { NS, seedApp, seedUpgrade, testStepDeps } from "../../../../fakes/requests.ts";
import { stepContext } from "../../../../fakes/step-context.ts";

const NOW = new Date("2026-01-01T00:00:00Z");
const upRef = (name: string) => ({
  apiVersion: API_VERSION,
  kind: Kind.UpgradeRequest,
  namespace: NS,
  name,
});

describe("Plan (UpgradeRequest)", () => {
  it("ends AppNotFound naming the field when the app does not exist", async () => {
    const api = new FakeObjectApi();
    const up = seedUpgrade(api);
    expect(await planStep(testStepDeps<UpgradeRequest>(api))(stepContext(up))).toMatchObject({
      kind: "finished",
      complete: "False",
      reason: ConditionReason.AppNotFound,
      message: `spec.managedAppRef.name: ManagedApp ${NS}/db not found`,
    });
  });

  it("labels the request with its app and waits while another live request holds the app", async () => {
    const api = new FakeObjectApi();
    const app = seedApp(api);
    const first = seedUpgrade(api, "first");
    const second = seedUpgrade(api, "second");
    const deps = testStepDeps<UpgradeRequest>(api);
    await acquireLock(api, NS, app.metadata.uid ?? "", deps.me(stepContext(first)), NOW);
    expect(await planStep(deps)(stepContext(second))).toMatchObject({
      kind: "waiting",
      reason: ConditionReason.Waiting,
      message: "waiting for UpgradeRequest first, which holds the app; planning once it lets go",
    });
    expect(api.peek(upRef("second"))?.metadata.labels).toEqual({ [Label.ManagedApp]: "db" });
  });

  it("refuses references to other namespaces unless allowed", async () => {
    const api = new FakeObjectApi();
    seedApp(api, { kustomizationRef: { name: "apps", namespace: "flux-system" } });
    const up = seedUpgrade(api);
    expect(await planStep(testStepDeps<UpgradeRequest>(api))(stepContext(up))).toMatchObject({
      kind: "finished",
      reason: ConditionReason.ReferenceDenied,
      message: `spec.kustomizationRef.namespace of ManagedApp ${NS}/db: references must stay in namespace ${NS}`,
    });
  });

  it("lists every failed check, and a dry run says DryRunFailed", async () => {
    const api = new FakeObjectApi();
    seedApp(api);
    const up = seedUpgrade(api);
    const real = await planStep(testStepDeps<UpgradeRequest>(api))(stepContext(up));
    expect(real).toMatchObject({
      kind: "finished",
      complete: "False",
      reason: ConditionReason.PlanFailed,
      message: expect.stringContaining(`Kustomization ${NS}/apps not found`) as unknown,
    });
    const dry = seedUpgrade(api, "dry", { dryRun: true });
    expect(await planStep(testStepDeps<UpgradeRequest>(api))(stepContext(dry))).toMatchObject({
      kind: "finished",
      reason: "DryRunFailed",
    });
  });
});
