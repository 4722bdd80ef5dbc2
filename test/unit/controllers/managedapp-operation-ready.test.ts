import { describe, expect, it } from "vitest";
import {
  holdingOperation,
  operationReady,
} from "../../../src/controllers/managedapp/operation-ready.ts";
import type { KubeObject } from "../../../src/kube/client.ts";

function request(
  kind: "UpgradeRequest" | "RollbackRequest",
  name: string,
  conditions: Record<string, string>,
  dryRun = false,
): KubeObject {
  return {
    apiVersion: "cairn.dev/v1alpha1",
    kind,
    metadata: { name, namespace: "shop" },
    spec: { dryRun },
    status: {
      conditions: Object.entries(conditions).map(([type, status]) => ({ type, status })),
    },
  };
}

describe("holdingOperation", () => {
  it("is the admitted request that is not over, Compensate and Finish included", () => {
    expect(holdingOperation([request("UpgradeRequest", "up", { Admitted: "True" })])).toEqual({
      kind: "UpgradeRequest",
      name: "up",
    });
    expect(
      holdingOperation([
        request("RollbackRequest", "back", { Admitted: "True", Complete: "Unknown" }),
      ]),
    ).toEqual({ kind: "RollbackRequest", name: "back" });
  });

  it("is none for a request waiting in Admit, a dry run, or a finished request", () => {
    expect(holdingOperation([request("UpgradeRequest", "a", {})])).toBeUndefined();
    expect(
      holdingOperation([request("UpgradeRequest", "b", { Admitted: "False" })]),
    ).toBeUndefined();
    expect(
      holdingOperation([request("UpgradeRequest", "c", { Admitted: "True" }, true)]),
    ).toBeUndefined();
    for (const outcome of ["True", "False"])
      expect(
        holdingOperation([request("UpgradeRequest", "d", { Admitted: "True", Complete: outcome })]),
      ).toBeUndefined();
  });

  it("names the first by kind and name should a lagging cache show two", () => {
    expect(
      holdingOperation([
        request("UpgradeRequest", "z", { Admitted: "True" }),
        request("RollbackRequest", "y", { Admitted: "True" }),
      ]),
    ).toEqual({ kind: "RollbackRequest", name: "y" });
  });
});

describe("operationReady", () => {
  it("is Unknown, OperationInProgress, naming the request", () => {
    expect(operationReady({ kind: "UpgradeRequest", name: "up" })).toMatchObject({
      status: "Unknown",
      reason: "OperationInProgress",
      message: expect.stringContaining("UpgradeRequest up") as unknown,
    });
  });
});
