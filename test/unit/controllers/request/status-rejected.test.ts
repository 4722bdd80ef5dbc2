// A status the API refuses (422) ends the request instead of looping: the first refusal turns
// Aborting True with reason StatusRejected and the API's message (which names the field), so
// Compensate runs next, undoes what was done and releases the app's lock; a refused write of
// Compensate's own ends it Failed at once. Driven through runRequest on the fake API.
import { describe, expect, it } from "vitest";
import { UpgradeRequest, type RequestStatus } from "../../../../src/api/index.ts";
import type { KubeClient } from "../../../../src/kube/client.ts";
import { KubeError } from "../../../../src/kube/errors.ts";
import type { StepResult } from "../../../../src/controllers/request/result.ts";
import {
  rejectedStatus,
  runRequest,
  type RequestMachine,
  type StepHandler,
} from "../../../../src/controllers/request/runner.ts";
import {
  UPGRADE_STEPS,
  type UpgradeStepName,
} from "../../../../src/controllers/request/step-table.ts";
import type { EventRecorder } from "../../../../src/runtime/events.ts";
import { FakeClock } from "../../../fakes/clock.ts";
import { FakeObjectApi } from "../../../fakes/object-api.ts";

const REF = {
  apiVersion: "cairn.dev/v1alpha1",
  kind: "UpgradeRequest",
  namespace: "shop",
  name: "up",
};
const REFUSAL =
  'UpgradeRequest.cairn.dev "up" is invalid: status.plan.git.from: Invalid value: "": status.plan.git.from in body should match \'^[A-Za-z0-9_][A-Za-z0-9._+-]{0,127}$\'';

describe("a status the API refuses", () => {
  it("turns Aborting True naming the field, then Compensate ends the request Failed", async () => {
    const api = new FakeObjectApi();
    api.seed({
      ...REF,
      metadata: { name: "up", namespace: "shop", uid: "u-1", generation: 1 },
      spec: { managedAppRef: { name: "demo" } },
    });
    const ran: string[] = [];
    const ok =
      (name: string, result: StepResult): StepHandler<UpgradeRequest> =>
      () => {
        ran.push(name);
        return Promise.resolve(result);
      };
    const handlers = Object.fromEntries(
      [...UPGRADE_STEPS.map((s) => s.name), "Compensate"].map((n) => [
        n,
        ok(n, { kind: "succeeded", message: n }),
      ]),
    ) as Record<UpgradeStepName | "Compensate", StepHandler<UpgradeRequest>>;
    // Plan reports a fact the CRD does not allow; the API refuses that write, every time.
    handlers.Plan = () => {
      ran.push("Plan");
      api.failNext("patchStatus", new KubeError("Invalid", REFUSAL, 422));
      return Promise.resolve({ kind: "succeeded", message: "planned" });
    };
    // Suspend saves before it acts, as the real one does: that write, the first after Plan in
    // the pass that chains them, carries Plan's fact and is the one refused.
    handlers.Suspend = async (ctx) => {
      ran.push("Suspend");
      await ctx.save({});
      return { kind: "succeeded", message: "suspended" };
    };
    handlers.Compensate = ok("Compensate", {
      kind: "finished",
      complete: "False",
      reason: "StatusRejected",
      message: "undone; lock released",
    });
    const machine: RequestMachine<UpgradeRequest, UpgradeStepName> = {
      kind: "UpgradeRequest",
      steps: UPGRADE_STEPS,
      schema: UpgradeRequest,
      handlers,
      timeoutMs: () => Promise.resolve(undefined),
      onDelete: () => Promise.resolve({ kind: "succeeded", message: "" }),
    };
    const events: string[] = [];
    const deps = {
      client: api as unknown as KubeClient,
      clock: new FakeClock(new Date("2026-01-01T00:00:00Z")),
      log: () => undefined,
      events: {
        record: (_r: unknown, _t: string, reason: string) => {
          events.push(reason);
          return Promise.resolve();
        },
      } as unknown as EventRecorder,
    };
    const key = { namespace: "shop", name: "up" };
    const signal = new AbortController().signal;

    // Admit, Plan and Approve, chained; Suspend's save is refused.
    await runRequest(machine, deps, key, signal);
    let status = (api.peek(REF)?.["status"] ?? {}) as RequestStatus;
    const aborting = status.conditions?.find((c) => c.type === "Aborting");
    expect(aborting).toMatchObject({ status: "True", reason: "StatusRejected" });
    expect(aborting?.message).toContain("status.plan.git.from: Invalid value");
    expect(events).toContain("StatusRejected");

    await runRequest(machine, deps, key, signal);
    status = api.peek(REF)?.["status"] ?? {};
    expect(ran).toEqual(["Admit", "Plan", "Approve", "Suspend", "Compensate"]);
    expect(status.conditions?.find((c) => c.type === "Complete")).toMatchObject({
      status: "False",
      reason: "StatusRejected",
    });
    expect(status.phase).toBe("Failed");
  });
});

describe("rejectedStatus", () => {
  const now = new Date("2026-01-01T00:00:00Z");
  const cond = (type: string, status: "True" | "False") => ({
    type,
    status,
    reason: "X",
    message: "",
    lastTransitionTime: "2026-01-01T00:00:00Z",
  });

  it("aborts a request in flight, so Compensate releases the lock", () => {
    const s = rejectedStatus(
      {
        conditions: [cond("Planned", "True"), cond("Admitted", "True")],
        step: { name: "Suspend", startedAt: "2026-01-01T00:00:00.000Z" },
      },
      UPGRADE_STEPS,
      "refused",
      now,
      1,
    );
    expect(s.conditions?.find((c) => c.type === "Aborting")?.status).toBe("True");
    expect(s.phase).toBe("Compensating");
    expect(s.step).toBeUndefined();
  });

  it("ends a request at once when Compensate's own write was refused", () => {
    const s = rejectedStatus(
      { conditions: [cond("Planned", "True"), cond("Aborting", "True")] },
      UPGRADE_STEPS,
      "refused",
      now,
      1,
    );
    expect(s.conditions?.find((c) => c.type === "Complete")).toMatchObject({
      status: "False",
      reason: "StatusRejected",
    });
    expect(s.phase).toBe("Failed");
    expect(s.completedAt).toBe("2026-01-01T00:00:00.000Z");
  });
});
