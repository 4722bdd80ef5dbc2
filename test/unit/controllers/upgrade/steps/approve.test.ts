// Approve (UpgradeRequest) on the fake API, with the Plan it runs again given as a stub: the
// wait with no side effect, the approval, and the plan checked again on approval.
import { describe, expect, it } from "vitest";
import {
  Annotation,
  approverOf,
  ConditionReason,
  type UpgradeRequest,
} from "../../../../../src/api/index.ts";
import type { StepResult } from "../../../../../src/controllers/request/result.ts";
import {
  APPROVAL_NOT_REQUIRED,
  APPROVAL_PAST,
  approvalRequired,
  approveStep,
} from "../../../../../src/controllers/upgrade/steps/approve.ts";
import { FakeObjectApi } from "../../../../fakes/object-api.ts";
import { NS, planWith, seedApp, seedUpgrade, testStepDeps } from "../../../../fakes/requests.ts";
import { stepContext } from "../../../../fakes/step-context.ts";

const approved = (request: UpgradeRequest, by: string): UpgradeRequest => ({
  ...request,
  metadata: { ...request.metadata, annotations: { [Annotation.ApprovedBy]: by } },
});

/** A Plan handler that answers `result` and counts its runs. */
function replanning(result: StepResult) {
  const runs = { count: 0 };
  return {
    runs,
    handler: () => {
      runs.count++;
      return Promise.resolve(result);
    },
  };
}

const shown = planWith({
  volumes: [{ namespace: NS, name: "data-db-0", size: "1Gi" }],
  workloads: [{ kind: "StatefulSet", namespace: NS, name: "db", replicas: 1 }],
});

describe("approvalRequired", () => {
  it("follows the app's spec.approval and the request's, and never stops a dry run", () => {
    const api = new FakeObjectApi();
    const automatic = seedApp(api);
    const manual = { ...automatic, spec: { ...automatic.spec, approval: "Manual" as const } };
    const plain = seedUpgrade(api, "plain");
    const asking = seedUpgrade(api, "asking", { approval: "Manual" });
    const dry = seedUpgrade(api, "dry", { dryRun: true, approval: "Manual" });
    expect(automatic.spec.approval).toBe("Automatic");
    expect(approvalRequired(plain, automatic)).toBe(false);
    expect(approvalRequired(plain, manual)).toBe(true);
    expect(approvalRequired(asking, automatic)).toBe(true);
    expect(approvalRequired(dry, manual)).toBe(false);
  });
});

describe("approverOf", () => {
  it("reads the annotation, and an empty value approves nothing", () => {
    const api = new FakeObjectApi();
    const up = seedUpgrade(api);
    expect(approverOf(up)).toBeUndefined();
    expect(approverOf(approved(up, "  "))).toBeUndefined();
    expect(approverOf(approved(up, " alice "))).toBe("alice");
  });
});

describe("Approve (UpgradeRequest)", () => {
  it("passes at once when nobody asks for approval, without planning again", async () => {
    const api = new FakeObjectApi();
    seedApp(api);
    const up = seedUpgrade(api);
    const plan = replanning({ kind: "succeeded", message: "planned", facts: { plan: shown } });
    const result = await approveStep(
      testStepDeps<UpgradeRequest>(api),
      plan.handler,
    )(stepContext(up, { plan: shown }));
    expect(result).toEqual({
      kind: "succeeded",
      reason: "NotNeeded",
      message: APPROVAL_NOT_REQUIRED,
    });
    expect(plan.runs.count).toBe(0);
  });

  it("never stops a request that has begun to act, even when the app now asks for approval", async () => {
    // A request planned and suspended by a Cairn without the Approve step, resumed by one with it.
    const api = new FakeObjectApi();
    seedApp(api, { approval: "Manual" });
    const up = seedUpgrade(api);
    const plan = replanning({ kind: "succeeded", message: "planned", facts: { plan: shown } });
    const suspended = {
      type: "Suspended",
      status: "True" as const,
      reason: "Succeeded",
      message: "",
      lastTransitionTime: "2026-01-01T00:00:00Z",
    };
    expect(
      await approveStep(
        testStepDeps<UpgradeRequest>(api),
        plan.handler,
      )(stepContext(up, { plan: shown, conditions: [suspended] })),
    ).toEqual({ kind: "succeeded", reason: "NotNeeded", message: APPROVAL_PAST });
    expect(plan.runs.count).toBe(0);
  });

  it("waits, naming the command, and writes nothing while nobody has approved", async () => {
    const api = new FakeObjectApi();
    seedApp(api, { approval: "Manual" });
    const up = seedUpgrade(api);
    const calls = api.calls.length;
    const plan = replanning({ kind: "succeeded", message: "planned", facts: { plan: shown } });
    const ctx = stepContext(up, { plan: shown });
    const result = await approveStep(testStepDeps<UpgradeRequest>(api), plan.handler)(ctx);
    expect(result).toEqual({
      kind: "waiting",
      reason: ConditionReason.AwaitingApproval,
      message: `waiting for approval of the plan (1.0.0 → 1.1.0 in apps/db/release.yaml; 1 PVC(s), 1 workload(s)): kubectl cairn approve up-1 -n ${NS}`,
      afterMs: 600_000,
    });
    expect(plan.runs.count).toBe(0);
    expect(ctx.saved).toEqual([]);
    expect(api.calls.slice(calls)).toEqual([]);
  });

  it("on approval plans again and records who approved when the plan still holds", async () => {
    const api = new FakeObjectApi();
    seedApp(api, { approval: "Manual" });
    const up = approved(seedUpgrade(api), "alice");
    // Only the commit the plan was made on moved: unrelated commits do not change the plan.
    const again = { ...shown, git: { ...shown.git, baseCommit: "b".repeat(40) } };
    const plan = replanning({ kind: "succeeded", message: "planned", facts: { plan: again } });
    const result = await approveStep(
      testStepDeps<UpgradeRequest>(api),
      plan.handler,
    )(stepContext(up, { plan: { ...shown, git: { ...shown.git, baseCommit: "a".repeat(40) } } }));
    expect(plan.runs.count).toBe(1);
    expect(result).toEqual({
      kind: "succeeded",
      message: "approved by alice; planned again, the plan still holds",
      facts: { approval: { approvedBy: "alice", approvedAt: "2026-01-01T00:00:00Z" } },
      event: { type: "Normal", reason: "Approved", message: "plan approved by alice" },
    });
  });

  it("fails PlanChanged, naming what changed, when the plan made on approval differs", async () => {
    const api = new FakeObjectApi();
    seedApp(api, { approval: "Manual" });
    const up = approved(seedUpgrade(api), "alice");
    const changed = {
      ...shown,
      git: { ...shown.git, from: "1.0.1" },
      volumes: [...shown.volumes, { namespace: NS, name: "logs-db-0" }],
    };
    const plan = replanning({ kind: "succeeded", message: "planned", facts: { plan: changed } });
    const result = await approveStep(
      testStepDeps<UpgradeRequest>(api),
      plan.handler,
    )(stepContext(up, { plan: shown }));
    expect(result).toEqual({
      kind: "failed",
      reason: ConditionReason.PlanChanged,
      message: `approved by alice, but the plan changed since it was shown: git.from: "1.0.0" → "1.0.1"; volumes: ${NS}/logs-db-0 added; create a new request to see the new plan`,
    });
  });

  it("fails PlanFailed when a check fails on approval, and waits when Flux is settling", async () => {
    const api = new FakeObjectApi();
    seedApp(api, { approval: "Manual" });
    const up = approved(seedUpgrade(api), "alice");
    const deps = testStepDeps<UpgradeRequest>(api);
    const failing = replanning({
      kind: "finished",
      complete: "False",
      reason: ConditionReason.PlanFailed,
      message: "1 check(s) failed: TargetExists: 1.1.0 is not in HelmRepository shop/charts",
    });
    expect(await approveStep(deps, failing.handler)(stepContext(up, { plan: shown }))).toEqual({
      kind: "failed",
      reason: ConditionReason.PlanFailed,
      message:
        "approved by alice, but the plan no longer holds: 1 check(s) failed: TargetExists: 1.1.0 is not in HelmRepository shop/charts",
    });
    const settling = replanning({
      kind: "waiting",
      reason: "Waiting",
      message: "waiting for Flux to settle before planning",
      afterMs: 5_000,
    });
    expect(await approveStep(deps, settling.handler)(stepContext(up, { plan: shown }))).toEqual({
      kind: "waiting",
      reason: "Waiting",
      message: "approved by alice; planning again: waiting for Flux to settle before planning",
      afterMs: 5_000,
    });
  });
});
