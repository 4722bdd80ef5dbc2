// requiringApp: every step between Admit and Finish fails with AppNotFound as soon as its
// ManagedApp is gone, even one that never reads the app (Suspend, ScaleDown, Snapshot), while
// Plan, Admit and Compensate run as they are.
import { describe, expect, it } from "vitest";
import type { UpgradeRequest } from "../../../../src/api/index.ts";
import { requiringApp } from "../../../../src/controllers/request/app-required.ts";
import type { StepResult } from "../../../../src/controllers/request/result.ts";
import {
  StepFailedError,
  type StepContext,
  type StepHandler,
} from "../../../../src/controllers/request/runner.ts";

const ctx = {} as StepContext<UpgradeRequest>;

describe("requiringApp", () => {
  const ran: string[] = [];
  const step =
    (name: string): StepHandler<UpgradeRequest> =>
    (): Promise<StepResult> => {
      ran.push(name);
      return Promise.resolve({ kind: "succeeded", message: name });
    };
  const names = ["Plan", "Admit", "Suspend", "ScaleDown", "Snapshot", "Commit", "Compensate"];
  const handlers = Object.fromEntries(names.map((n) => [n, step(n)]));

  it("fails every step but Plan, Admit and Compensate with AppNotFound once the app is gone, before the step acts", async () => {
    ran.length = 0;
    const gone = requiringApp<UpgradeRequest, typeof handlers>(handlers, () => {
      throw new StepFailedError("AppNotFound", "ManagedApp shop/demo was deleted");
    });
    for (const n of ["Suspend", "ScaleDown", "Snapshot", "Commit"]) {
      const run = gone[n];
      if (!run) throw new Error(`no ${n}`);
      await expect(run(ctx)).rejects.toMatchObject({
        reason: "AppNotFound",
        message: "ManagedApp shop/demo was deleted",
      });
    }
    for (const n of ["Plan", "Admit", "Compensate"]) await gone[n]?.(ctx);
    expect(ran).toEqual(["Plan", "Admit", "Compensate"]);
  });

  it("runs every step when the app is there", async () => {
    ran.length = 0;
    const present = requiringApp<UpgradeRequest, typeof handlers>(handlers, () => ({}));
    for (const n of names) await present[n]?.(ctx);
    expect(ran).toEqual(names);
  });
});
