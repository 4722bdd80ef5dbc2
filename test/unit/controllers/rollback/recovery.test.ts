import { describe, expect, it } from "vitest";
import {
  historyOf,
  observeRecovery,
  recoveredUpgrade,
} from "../../../../src/controllers/rollback/recovery.ts";
import type { World } from "../../../../src/controllers/request/world.ts";
import type { KubeObject } from "../../../../src/kube/client.ts";
import { RollbackRequest } from "../../../../src/api/rollbackrequest.ts";
import type { RequestHistory } from "../../../../src/metrics.ts";

const step = (name: string, startedAt: string, completedAt: string, reason = "Succeeded") => ({
  name,
  startedAt,
  completedAt,
  reason,
});

const failedUpgrade: RequestHistory = {
  history: [
    step("ScaleDown", "2026-01-01T10:00:00Z", "2026-01-01T10:00:10Z"),
    step("AwaitFlux", "2026-01-01T10:00:20Z", "2026-01-01T10:10:20Z", "DeadlineExceeded"),
  ],
};
const healthyUpgrade: RequestHistory = {
  history: [
    step("ScaleDown", "2026-01-01T10:00:00Z", "2026-01-01T10:00:10Z"),
    step("HealthCheck", "2026-01-01T10:01:00Z", "2026-01-01T10:02:00Z"),
  ],
};
const rollbackStatus: RequestHistory = {
  history: [step("HealthCheck", "2026-01-01T10:14:00Z", "2026-01-01T10:15:00Z")],
};

describe("recoveredUpgrade", () => {
  it("is the upgrade a real, succeeded rollback brought back from a failed health", () => {
    const real = { dryRun: false, reason: "Succeeded" };
    expect(recoveredUpgrade(real, failedUpgrade)).toBe(failedUpgrade);
    // The upgrade's own downtime was observed already: the app was up in between.
    expect(recoveredUpgrade(real, healthyUpgrade)).toBeUndefined();
    expect(recoveredUpgrade(real, undefined)).toBeUndefined();
    expect(recoveredUpgrade({ dryRun: true, reason: "Succeeded" }, failedUpgrade)).toBeUndefined();
    expect(
      recoveredUpgrade({ dryRun: false, reason: "RestoreIncomplete" }, failedUpgrade),
    ).toBeUndefined();
  });
});

describe("historyOf", () => {
  it("reads a raw request's step history; anything else is none", () => {
    const raw = (status: unknown): KubeObject => ({
      apiVersion: "cairn.dev/v1alpha1",
      kind: "UpgradeRequest",
      metadata: { name: "u" },
      status,
    });
    expect(historyOf(raw({ history: failedUpgrade.history }))).toEqual(failedUpgrade);
    expect(historyOf(raw({ history: [{ name: "ScaleDown" }] }))).toEqual({});
    expect(historyOf(raw(undefined))).toEqual({});
    expect(historyOf(undefined)).toEqual({});
  });
});

describe("observeRecovery", () => {
  it("looks the upgrade up in the rollback's namespace and observes the recovery once", () => {
    const upgrades = new Map<string, KubeObject>([
      [
        "shop/web-1",
        {
          apiVersion: "cairn.dev/v1alpha1",
          kind: "UpgradeRequest",
          metadata: { name: "web-1", namespace: "shop" },
          status: failedUpgrade,
        },
      ],
    ]);
    const world = { upgrades: { get: (key: string) => upgrades.get(key) } } as unknown as World;
    const seen: [RequestHistory, RequestHistory][] = [];
    const finished = observeRecovery(world, {
      upgradeRecovered: (u, r) => seen.push([u, r]),
    });
    const rollback = (upgrade: string) =>
      RollbackRequest.parse({
        apiVersion: "cairn.dev/v1alpha1",
        kind: "RollbackRequest",
        metadata: { name: `${upgrade}-rollback`, namespace: "shop" },
        spec: { upgradeRequestRef: { name: upgrade } },
      });
    finished(rollback("web-1"), "Succeeded", rollbackStatus);
    finished(rollback("web-1"), "RestoreIncomplete", rollbackStatus);
    finished(rollback("gone"), "Succeeded", rollbackStatus);
    expect(seen).toEqual([[failedUpgrade, rollbackStatus]]);
  });
});
