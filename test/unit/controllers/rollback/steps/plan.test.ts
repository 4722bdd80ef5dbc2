// Plan (RollbackRequest) on the fake API: what is refused before anything changes, and the wait
// for an upgrade still in flight. The full plan is exercised on the test bed.
import { describe, expect, it } from "vitest";
import { ConditionType, type RollbackRequest } from "../../../../../src/api/index.ts";
import { RefusalReason } from "../../../../../src/controllers/rollback/plan.ts";
import { planStep } from "../../../../../src/controllers/rollback/steps/plan.ts";
import { FakeObjectApi } from "../../../../fakes/object-api.ts";
import {
  condition,
  planWith,
  seedApp,
  seedRollback,
  seedUpgrade,
  testStepDeps,
} from "../../../../fakes/requests.ts";
import { stepContext } from "../../../../fakes/step-context.ts";

const plan = (api: FakeObjectApi, rb: RollbackRequest) =>
  planStep(testStepDeps<RollbackRequest>(api))(stepContext(rb));

describe("Plan (RollbackRequest)", () => {
  it("refuses an upgrade that does not exist, naming the field", async () => {
    const api = new FakeObjectApi();
    const rb = seedRollback(api, "rb", "nope");
    expect(await plan(api, rb)).toMatchObject({
      kind: "finished",
      complete: "False",
      reason: RefusalReason.UpgradeNotFound,
      message: "spec.upgradeRequestRef.name: UpgradeRequest shop/nope not found",
    });
  });

  it("refuses to roll back a rollback", async () => {
    const api = new FakeObjectApi();
    seedRollback(api, "first", "up-1");
    const rb = seedRollback(api, "rb", "first");
    expect(await plan(api, rb)).toMatchObject({ reason: RefusalReason.RollbackOfRollback });
  });

  it("waits for an upgrade still in flight", async () => {
    const api = new FakeObjectApi();
    seedApp(api);
    seedUpgrade(api, "up-1", {}, { conditions: [condition(ConditionType.Planned, "True")] });
    const rb = seedRollback(api);
    expect(await plan(api, rb)).toMatchObject({
      kind: "waiting",
      message: expect.stringContaining("waiting for UpgradeRequest up-1 to finish") as unknown,
    });
  });

  it("refuses an upgrade that ended before its commit", async () => {
    const api = new FakeObjectApi();
    seedApp(api);
    seedUpgrade(
      api,
      "up-1",
      {},
      {
        plan: planWith(),
        conditions: [condition(ConditionType.Complete, "False", "SnapshotFailed")],
      },
    );
    const rb = seedRollback(api);
    expect(await plan(api, rb)).toMatchObject({
      kind: "finished",
      reason: RefusalReason.UpgradeNotCommitted,
      facts: { preflight: [{ name: "Upgrade", passed: false }] },
    });
  });
});
