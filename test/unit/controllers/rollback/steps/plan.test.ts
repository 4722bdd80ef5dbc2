// Plan (RollbackRequest) on the fake API: what is refused before anything changes, and the wait
// for an upgrade still in flight. The full plan is exercised on the test bed.
import { describe, expect, it } from "vitest";
import {
  Annotation,
  ConditionReason,
  ConditionType,
  Kind,
  type RollbackRequest,
} from "../../../../../src/api/index.ts";
import { FLUX_API } from "../../../../../src/controllers/request/flux.ts";
import { RefusalReason } from "../../../../../src/controllers/rollback/plan.ts";
import { compensateStep } from "../../../../../src/controllers/rollback/steps/compensate.ts";
import { onDeleteStep } from "../../../../../src/controllers/rollback/steps/on-delete.ts";
import { planStep } from "../../../../../src/controllers/rollback/steps/plan.ts";
import { FakeObjectApi } from "../../../../fakes/object-api.ts";
import {
  condition,
  NS,
  planWith,
  seedApp,
  seedFlux,
  seedRollback,
  seedUpgrade,
  seedWorkload,
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

describe("the freeze a failed upgrade hands its automatic rollback", () => {
  const HR = { kind: "HelmRelease" as const, namespace: NS, name: "db" };
  const hrRef = { apiVersion: FLUX_API.HelmRelease, ...HR };
  const stsRef = { apiVersion: "apps/v1", kind: "StatefulSet", namespace: NS, name: "db" };

  function handedOver() {
    const api = new FakeObjectApi();
    seedUpgrade(
      api,
      "up-1",
      {},
      {
        plan: planWith({ flux: [HR] }),
        commit: { sha: "a".repeat(40), adopted: false },
        conditions: [
          condition(ConditionType.Committed, "True"),
          condition(ConditionType.Complete, "False", ConditionReason.RollbackTriggered),
        ],
        rollbackRef: { name: "up-1-rollback" },
        suspended: [HR],
        replicas: [{ ...stsRef, kind: "StatefulSet" as const, original: 2 }],
      },
    );
    const rb = seedRollback(api);
    seedFlux(api, "HelmRelease", "db", { suspend: true });
    api.write(hrRef, {
      metadata: {
        annotations: {
          [Annotation.SuspendedBy]: JSON.stringify([
            {
              kind: Kind.RollbackRequest,
              namespace: NS,
              name: "up-1-rollback",
              uid: rb.metadata.uid,
              upgrade: "up-1",
            },
          ]),
        },
      },
    });
    seedWorkload(api, "StatefulSet", "db", 0);
    return { api, rb };
  }
  const thawed = (api: FakeObjectApi) => {
    expect((api.peek(hrRef)?.["spec"] as { suspend?: boolean }).suspend).toBe(false);
    expect(api.peek(hrRef)?.metadata.annotations?.[Annotation.SuspendedBy]).toBeUndefined();
    expect((api.peek(stsRef)?.["spec"] as { replicas: number }).replicas).toBe(2);
  };

  it("a refusal at Plan thaws it: no request would be left to", async () => {
    const { api, rb } = handedOver();
    // No ManagedApp: refused after the upgrade was read.
    const result = await plan(api, rb);
    expect(result).toMatchObject({
      kind: "finished",
      reason: ConditionReason.AppNotFound,
      message: expect.stringContaining(
        `The upgrade's freeze is undone: resumed HelmRelease ${NS}/db; restored StatefulSet ${NS}/db=2`,
      ) as unknown,
    });
    thawed(api);
  });

  it("a rollback that fails before its Plan succeeded (its deadline) thaws it in compensation", async () => {
    const { api, rb } = handedOver();
    const ctx = stepContext(rb, {
      conditions: [
        condition(ConditionType.Aborting, "True", "DeadlineExceeded", "Plan took too long"),
      ],
    });
    const result = await compensateStep(testStepDeps<RollbackRequest>(api))(ctx);
    expect(result).toMatchObject({ kind: "finished", complete: "False" });
    thawed(api);
  });

  it("deleted before its Plan succeeded, the rollback thaws it", async () => {
    const { api, rb } = handedOver();
    const result = await onDeleteStep(testStepDeps<RollbackRequest>(api))(stepContext(rb));
    expect(result.kind).toBe("succeeded");
    thawed(api);
  });
});
