// Plans are made under the app's lock (docs/architecture.md, "The app lock"): Admit runs before
// Plan, so of two requests created together the second plans only once the first let go; Plan
// itself takes the lock (or waits) when Admit found no app; dry runs take no lock and plan at
// once; a rollback takes the app only once its upgrade has ended. On the fake API.
import { describe, expect, it } from "vitest";
import {
  API_VERSION,
  ConditionReason,
  ConditionType,
  Kind,
  UpgradeRequest,
  type RequestStatus,
  type RollbackRequest,
} from "../../../../src/api/index.ts";
import { acquireLock, lockHolder, releaseLock } from "../../../../src/controllers/request/lock.ts";
import { holdAppToPlan } from "../../../../src/controllers/request/plan-lock.ts";
import type { StepResult } from "../../../../src/controllers/request/result.ts";
import {
  runRequest,
  type RequestMachine,
  type StepHandler,
} from "../../../../src/controllers/request/runner.ts";
import {
  UPGRADE_STEPS,
  type UpgradeStepName,
} from "../../../../src/controllers/request/step-table.ts";
import { admitStep } from "../../../../src/controllers/request/steps/admit.ts";
import { rollbackAdmitStep } from "../../../../src/controllers/rollback/steps/admit.ts";
import { planStep } from "../../../../src/controllers/upgrade/steps/plan.ts";
import type { EventRecorder } from "../../../../src/runtime/events.ts";
import { FakeClock } from "../../../fakes/clock.ts";
import { FakeObjectApi } from "../../../fakes/object-api.ts";
import {
  condition,
  NS,
  seedApp,
  seedRollback,
  seedUpgrade,
  testStepDeps,
} from "../../../fakes/requests.ts";
import { stepContext } from "../../../fakes/step-context.ts";

const NOW = new Date("2026-01-01T00:00:00Z");
const upRef = (name: string) => ({
  apiVersion: API_VERSION,
  kind: Kind.UpgradeRequest,
  namespace: NS,
  name,
});

describe("two real UpgradeRequests for one app, created together", () => {
  it("the second plans only after the first finished and let the app go", async () => {
    const api = new FakeObjectApi();
    const app = seedApp(api);
    seedUpgrade(api, "first");
    seedUpgrade(api, "second");
    const deps = testStepDeps<UpgradeRequest>(api);
    const appUid = app.metadata.uid ?? "";
    // Who held the app when each request planned, in the order the plans were made.
    const planned: { request: string; holder: string | undefined }[] = [];
    const succeed: StepHandler<UpgradeRequest> = () =>
      Promise.resolve<StepResult>({ kind: "succeeded", message: "done" });
    const handlers = Object.fromEntries(
      [...UPGRADE_STEPS.map((s) => s.name), "Compensate"].map((n) => [n, succeed]),
    ) as Record<UpgradeStepName | "Compensate", StepHandler<UpgradeRequest>>;
    handlers.Admit = admitStep(deps);
    handlers.Plan = async (ctx) => {
      planned.push({
        request: ctx.request.metadata.name,
        holder: (await lockHolder(api, NS, appUid))?.name,
      });
      return { kind: "succeeded", message: "planned" };
    };
    handlers.Finish = () =>
      Promise.resolve({
        kind: "finished",
        complete: "True",
        reason: ConditionReason.Succeeded,
        message: "done",
      });
    const machine: RequestMachine<UpgradeRequest, UpgradeStepName> = {
      kind: "UpgradeRequest",
      steps: UPGRADE_STEPS,
      schema: UpgradeRequest,
      handlers,
      timeoutMs: () => Promise.resolve(60_000),
      onDelete: () => Promise.resolve({ kind: "succeeded", message: "" }),
      release: (ctx) => releaseLock(api, NS, appUid, { uid: ctx.request.metadata.uid ?? "" }),
    };
    const runner = {
      client: api,
      clock: new FakeClock(NOW),
      log: () => undefined,
      events: { record: () => Promise.resolve() } as unknown as EventRecorder,
    };
    const pass = (name: string) =>
      runRequest(machine, runner, { namespace: NS, name }, new AbortController().signal);
    const status = (name: string) => (api.peek(upRef(name))?.["status"] ?? {}) as RequestStatus;
    const cond = (name: string, type: string) =>
      status(name).conditions?.find((c) => c.type === type);

    // Both start at once: the first takes the app; the second waits in Admit, without a plan.
    await pass("first");
    await pass("second");
    expect(cond("first", ConditionType.Admitted)?.status).toBe("True");
    expect(cond("second", ConditionType.Admitted)).toMatchObject({
      status: "False",
      reason: ConditionReason.Waiting,
      message: "waiting for UpgradeRequest first, which holds the app; planning once it lets go",
    });
    expect(status("second").phase).toBe("Pending");
    // However often the second is woken while the first runs, it never plans beside it.
    for (let i = 0; i < 12; i++) {
      await pass("first");
      await pass("second");
    }
    expect(cond("first", ConditionType.Complete)?.status).toBe("True");
    expect(planned[0]).toEqual({ request: "first", holder: "first" });
    expect(planned.filter((p) => p.request === "second")).toEqual([
      { request: "second", holder: "second" },
    ]);
    expect(cond("second", ConditionType.Planned)?.status).toBe("True");
    // Admit ended after the first had finished; Plan came after Admit.
    const history = status("second").history ?? [];
    expect(history.map((h) => h.name).slice(0, 2)).toEqual(["Admit", "Plan"]);
  });
});

describe("Admit", () => {
  it("lets a dry run through at once, taking no lock, even while the app is held", async () => {
    const api = new FakeObjectApi();
    const app = seedApp(api);
    const holder = seedUpgrade(api, "holder");
    const dry = seedUpgrade(api, "dry", { dryRun: true });
    const deps = testStepDeps<UpgradeRequest>(api);
    await acquireLock(api, NS, app.metadata.uid ?? "", deps.me(stepContext(holder)), NOW);
    expect(await admitStep(deps)(stepContext(dry))).toEqual({
      kind: "succeeded",
      reason: ConditionReason.NotNeeded,
      message: "a dry run changes nothing, so it takes no lock",
    });
    expect((await lockHolder(api, NS, app.metadata.uid ?? ""))?.name).toBe("holder");
  });

  it("takes no lock when the app is not found, leaving Plan to say why", async () => {
    const api = new FakeObjectApi();
    const up = seedUpgrade(api);
    const deps = testStepDeps<UpgradeRequest>(api);
    expect(await admitStep(deps)(stepContext(up))).toEqual({
      kind: "succeeded",
      reason: ConditionReason.NotNeeded,
      message: "ManagedApp db not found: no lock to take",
    });
    expect(await planStep(deps)(stepContext(up))).toMatchObject({
      kind: "finished",
      complete: "False",
      reason: ConditionReason.AppNotFound,
    });
  });

  it("says so when nothing names an app (a rollback of an upgrade that does not exist)", async () => {
    const api = new FakeObjectApi();
    seedApp(api);
    const rb = seedRollback(api, "of-nothing", "no-such-upgrade");
    expect(await rollbackAdmitStep(testStepDeps<RollbackRequest>(api))(stepContext(rb))).toEqual({
      kind: "succeeded",
      reason: ConditionReason.NotNeeded,
      message: "nothing names a ManagedApp: no lock to take",
    });
  });
});

describe("Plan under the lock", () => {
  it("takes the lock itself when Admit found no app and the app appeared since", async () => {
    const api = new FakeObjectApi();
    const up = seedUpgrade(api);
    const app = seedApp(api);
    const deps = testStepDeps<UpgradeRequest>(api);
    // Admit passed without a lock earlier in this pass: Plan takes it.
    const admitted = {
      conditions: [
        {
          type: ConditionType.Admitted,
          status: "True" as const,
          reason: ConditionReason.NotNeeded,
          message: "ManagedApp db not found: no lock to take",
          lastTransitionTime: "2026-01-01T00:00:00Z",
        },
      ],
    };
    const ctx = stepContext(up, admitted, NOW, ["Admit"]);
    expect(await holdAppToPlan(api, app, deps.me(ctx), ctx)).toBeUndefined();
    expect((await lockHolder(api, NS, app.metadata.uid ?? ""))?.name).toBe("up-1");
  });

  it("reads no lock when Admit took it earlier in the same pass, and reads it in a later pass", async () => {
    const api = new FakeObjectApi();
    const up = seedUpgrade(api);
    const app = seedApp(api);
    const deps = testStepDeps<UpgradeRequest>(api);
    await acquireLock(api, NS, app.metadata.uid ?? "", deps.me(stepContext(up)), NOW);
    const admitted = {
      conditions: [
        {
          type: ConditionType.Admitted,
          status: "True" as const,
          reason: ConditionReason.Succeeded,
          message: "holds the app's lock",
          lastTransitionTime: "2026-01-01T00:00:00Z",
        },
      ],
    };
    const calls = () => api.callsOf("get").length + api.callsOf("create").length;
    const before = calls();
    const samePass = stepContext(up, admitted, NOW, ["Admit"]);
    expect(await holdAppToPlan(api, app, deps.me(samePass), samePass)).toBeUndefined();
    expect(calls()).toBe(before);
    const laterPass = stepContext(up, admitted, NOW);
    expect(await holdAppToPlan(api, app, deps.me(laterPass), laterPass)).toBeUndefined();
    expect(calls()).toBeGreaterThan(before);
  });

  it("waits, planning nothing, while another live request holds the app", async () => {
    const api = new FakeObjectApi();
    const app = seedApp(api);
    const first = seedUpgrade(api, "first");
    const second = seedUpgrade(api, "second");
    const deps = testStepDeps<UpgradeRequest>(api);
    await acquireLock(api, NS, app.metadata.uid ?? "", deps.me(stepContext(first)), NOW);
    const ctx = stepContext(second);
    expect(await planStep(deps)(ctx)).toEqual({
      kind: "waiting",
      reason: ConditionReason.Waiting,
      message: "waiting for UpgradeRequest first, which holds the app; planning once it lets go",
      afterMs: 10_000,
      progressed: true,
    });
    expect(ctx.saved).toEqual([]);
  });
});

describe("Admit (RollbackRequest)", () => {
  const running = { conditions: [condition("Admitted", "True")], phase: "Snapshotting" };
  const ended = { conditions: [condition("Complete", "True")], phase: "Succeeded" };

  it("waits for the upgrade to finish before taking the app", async () => {
    const api = new FakeObjectApi();
    const app = seedApp(api);
    seedUpgrade(api, "up-1", {}, running);
    const rb = seedRollback(api, "up-1-rollback", "up-1", { "cairn.dev/managed-app": "db" });
    const admit = rollbackAdmitStep(testStepDeps<RollbackRequest>(api));
    expect(await admit(stepContext(rb))).toMatchObject({
      kind: "waiting",
      reason: ConditionReason.Waiting,
      message:
        "waiting for UpgradeRequest up-1 to finish (phase Snapshotting) before taking the app",
    });
    expect(await lockHolder(api, NS, app.metadata.uid ?? "")).toBeUndefined();
  });

  it("takes the app once the upgrade has finished", async () => {
    const api = new FakeObjectApi();
    const app = seedApp(api);
    seedUpgrade(api, "up-1", {}, ended);
    const rb = seedRollback(api, "up-1-rollback", "up-1", { "cairn.dev/managed-app": "db" });
    const admit = rollbackAdmitStep(testStepDeps<RollbackRequest>(api));
    expect(await admit(stepContext(rb))).toMatchObject({ kind: "succeeded" });
    expect((await lockHolder(api, NS, app.metadata.uid ?? ""))?.name).toBe("up-1-rollback");
  });

  it("goes on when its upgrade handed it the app, though the upgrade has not written its end", async () => {
    const api = new FakeObjectApi();
    const app = seedApp(api);
    seedUpgrade(api, "up-1", {}, running);
    const rb = seedRollback(api, "up-1-rollback", "up-1", { "cairn.dev/managed-app": "db" });
    const deps = testStepDeps<RollbackRequest>(api);
    await acquireLock(api, NS, app.metadata.uid ?? "", deps.me(stepContext(rb)), NOW);
    expect(await rollbackAdmitStep(deps)(stepContext(rb))).toMatchObject({ kind: "succeeded" });
  });
});
