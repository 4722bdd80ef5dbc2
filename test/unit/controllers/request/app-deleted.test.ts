// A deleted ManagedApp ends its requests at once: a step that finds the app gone fails now with
// AppNotFound (Compensate runs next) instead of retrying until its deadline; and the app's Lease
// is owned by the ManagedApp, so the garbage collector removes it with the app.
import { describe, expect, it } from "vitest";
import { UpgradeRequest, type RequestStatus } from "../../../../src/api/index.ts";
import type { KubeClient } from "../../../../src/kube/client.ts";
import { acquireLock, lockName } from "../../../../src/controllers/request/lock.ts";
import type { StepResult } from "../../../../src/controllers/request/result.ts";
import {
  runRequest,
  StepFailedError,
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

describe("a step that finds its ManagedApp deleted", () => {
  it("fails at once, long before its deadline, and Compensate runs next", async () => {
    const api = new FakeObjectApi();
    api.seed({
      ...REF,
      metadata: { name: "up", namespace: "shop", uid: "u-1", generation: 1 },
      spec: { managedAppRef: { name: "demo" } },
    });
    const ran: string[] = [];
    const succeed =
      (n: string): StepHandler<UpgradeRequest> =>
      (): Promise<StepResult> => {
        ran.push(n);
        return Promise.resolve({ kind: "succeeded", message: n });
      };
    const handlers = Object.fromEntries(
      [...UPGRADE_STEPS.map((s) => s.name), "Compensate"].map((n) => [n, succeed(n)]),
    ) as Record<UpgradeStepName | "Compensate", StepHandler<UpgradeRequest>>;
    handlers.Suspend = () => {
      ran.push("Suspend");
      return Promise.reject(new StepFailedError("AppNotFound", "ManagedApp shop/demo was deleted"));
    };
    handlers.Compensate = () => {
      ran.push("Compensate");
      return Promise.resolve({
        kind: "finished",
        complete: "False",
        reason: "AppNotFound",
        message: "resumed",
      });
    };
    const machine: RequestMachine<UpgradeRequest, UpgradeStepName> = {
      kind: "UpgradeRequest",
      steps: UPGRADE_STEPS,
      schema: UpgradeRequest,
      handlers,
      // A long deadline: the failure must not wait for it.
      timeoutMs: () => Promise.resolve(3_600_000),
      onDelete: () => Promise.resolve({ kind: "succeeded", message: "" }),
    };
    const deps = {
      client: api as unknown as KubeClient,
      clock: new FakeClock(new Date("2026-01-01T00:00:00Z")),
      log: () => undefined,
      events: { record: () => Promise.resolve() } as unknown as EventRecorder,
    };
    const key = { namespace: "shop", name: "up" };
    const signal = new AbortController().signal;
    for (let pass = 0; pass < 5; pass++) await runRequest(machine, deps, key, signal);
    const status = (api.peek(REF)?.["status"] ?? {}) as RequestStatus;
    expect(ran).toEqual(["Admit", "Plan", "Approve", "Suspend", "Compensate"]);
    expect(status.conditions?.find((c) => c.type === "Suspended")).toMatchObject({
      status: "False",
      reason: "AppNotFound",
      message: "Suspend: ManagedApp shop/demo was deleted",
    });
    expect(status.phase).toBe("Failed");
  });
});

describe("the app's Lease", () => {
  it("is owned by the ManagedApp, so it is collected with it", async () => {
    const api = new FakeObjectApi();
    const me = { kind: "UpgradeRequest", name: "up", uid: "u-1" } as const;
    const result = await acquireLock(
      api,
      "shop",
      "app-uid-1",
      me,
      new Date("2026-01-01T00:00:00Z"),
      "demo",
    );
    expect(result).toEqual({ acquired: true });
    const lease = api.peek({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      namespace: "shop",
      name: lockName("app-uid-1"),
    });
    expect(lease?.metadata["ownerReferences"]).toEqual([
      { apiVersion: "cairn.dev/v1alpha1", kind: "ManagedApp", name: "demo", uid: "app-uid-1" },
    ]);
  });
});
