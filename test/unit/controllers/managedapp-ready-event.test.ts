import { describe, expect, it } from "vitest";
import { readyEvent } from "../../../src/controllers/managedapp/ready-event.ts";

const unready = (reason: string) => ({ status: "False" as const, reason, message: "m" });
const ready = { status: "True" as const, reason: "Succeeded", message: "healthy" };

describe("readyEvent", () => {
  it("records a Warning when the app turns unready with no Cairn operation running", () => {
    expect(
      readyEvent({
        before: { status: "True", reason: "Succeeded" },
        ready: unready("Suspended"),
        operationRunning: false,
      }),
    ).toEqual({ type: "Warning", reason: "Suspended" });
  });

  it("records nothing while Cairn's own operation suspends, stops and restarts the app", () => {
    for (const reason of ["Suspended", "WorkloadNotReady", "UpgradeFailed"]) {
      expect(
        readyEvent({
          before: { status: "True", reason: "Succeeded" },
          ready: unready(reason),
          operationRunning: true,
        }),
      ).toBeUndefined();
    }
    expect(
      readyEvent({ before: unready("Suspended"), ready, operationRunning: true }),
    ).toBeUndefined();
  });

  it("records Ready as Normal, and nothing for the same finding again or an Unknown one", () => {
    expect(readyEvent({ before: unready("Suspended"), ready, operationRunning: false })).toEqual({
      type: "Normal",
      reason: "Ready",
    });
    expect(
      readyEvent({
        before: { status: "True", reason: "Succeeded" },
        ready,
        operationRunning: false,
      }),
    ).toBeUndefined();
    expect(
      readyEvent({ before: unready("X"), ready: unready("X"), operationRunning: false }),
    ).toBeUndefined();
    expect(
      readyEvent({
        before: undefined,
        ready: { status: "Unknown", reason: "Progressing", message: "" },
        operationRunning: false,
      }),
    ).toBeUndefined();
  });

  it("records nothing when the app is Ready after a request held it, and a Warning when not", () => {
    const held = { status: "Unknown" as const, reason: "OperationInProgress" };
    expect(readyEvent({ before: held, ready, operationRunning: false })).toBeUndefined();
    expect(
      readyEvent({ before: held, ready: unready("WorkloadNotReady"), operationRunning: false }),
    ).toEqual({ type: "Warning", reason: "WorkloadNotReady" });
  });

  it("records a new reason for being unready", () => {
    expect(
      readyEvent({ before: unready("A"), ready: unready("B"), operationRunning: false }),
    ).toEqual({ type: "Warning", reason: "B" });
  });
});
