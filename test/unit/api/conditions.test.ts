import { describe, expect, it } from "vitest";
import {
  Condition,
  CONDITION_REASON_PATTERN,
  CONDITION_TYPE_PATTERN,
  ConditionReason,
  ConditionType,
} from "../../../src/api/conditions.ts";
import { API_VERSION, crdName, Kind } from "../../../src/api/group.ts";

describe("condition types and reasons", () => {
  it("include every step condition of the phase machine", () => {
    expect(Object.values(ConditionType).sort()).toEqual(
      [
        "Ready",
        "Planned",
        "Approved",
        "Admitted",
        "Suspended",
        "WorkloadsStopped",
        "SnapshotsReady",
        "Committed",
        "Resumed",
        "FluxApplied",
        "WorkloadsStarted",
        "Healthy",
        "Complete",
        "Aborting",
        "VolumesRestored",
        "Reverted",
      ].sort(),
    );
  });

  it("are valid as the API validates them, and each value equals its key", () => {
    for (const [key, value] of Object.entries(ConditionType)) {
      expect(value).toBe(key);
      expect(value).toMatch(new RegExp(CONDITION_TYPE_PATTERN));
    }
    for (const [key, value] of Object.entries(ConditionReason)) {
      expect(value).toBe(key);
      expect(value).toMatch(new RegExp(CONDITION_REASON_PATTERN));
    }
  });

  it("include the reasons the design names", () => {
    for (const reason of [
      "InvalidSpec",
      "DryRunSucceeded",
      "PlanFailed",
      "RollbackRequired",
      "RestoreIncomplete",
      "NotNeeded",
      "Waiting",
    ]) {
      expect(Object.values(ConditionReason)).toContain(reason);
    }
  });
});

describe("Condition", () => {
  const valid = {
    type: ConditionType.Complete,
    status: "False",
    reason: ConditionReason.RollbackRequired,
    message: "health check failed after the commit",
    lastTransitionTime: "2025-03-01T10:00:00Z",
  };

  it("parses a metav1.Condition, with or without observedGeneration", () => {
    expect(Condition.parse(valid)).toEqual(valid);
    expect(Condition.parse({ ...valid, observedGeneration: 2 }).observedGeneration).toBe(2);
  });

  it.each([
    ["status", "Maybe"],
    ["reason", ""],
    ["reason", "has spaces"],
    ["type", "-Bad"],
    ["lastTransitionTime", "yesterday"],
    ["observedGeneration", -1],
  ])("rejects %s = %j", (field, value) => {
    expect(Condition.safeParse({ ...valid, [field]: value }).success).toBe(false);
  });
});

describe("group", () => {
  it("names the API version and the CRDs", () => {
    expect(API_VERSION).toBe("cairn.dev/v1alpha1");
    expect(crdName(Kind.ManagedApp)).toBe("managedapps.cairn.dev");
    expect(crdName(Kind.UpgradeRequest)).toBe("upgraderequests.cairn.dev");
    expect(crdName(Kind.RollbackRequest)).toBe("rollbackrequests.cairn.dev");
  });
});
