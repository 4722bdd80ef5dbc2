import { describe, expect, it } from "vitest";
import type { RequestStatus } from "../../../src/api/request-status.ts";
import { formatSeconds, renderSummary, stepNames, summaryRows } from "../../../demo/summary.ts";
import { complete, plan, rollback, upgrade } from "../cli/fixtures.ts";

const at = (s: number) =>
  new Date(Date.UTC(2026, 0, 1, 12, 0, s)).toISOString().replace(".000", "");

function steps(...spec: [name: string, from: number, to: number, reason?: string][]) {
  return spec.map(([name, from, to, reason]) => ({
    name,
    startedAt: at(from),
    completedAt: at(to),
    reason: reason ?? "Succeeded",
  }));
}

function status(
  from: number,
  to: number,
  reason: string,
  ok: boolean,
  history: RequestStatus["history"],
  extra: Partial<RequestStatus> = {},
): RequestStatus {
  return {
    startedAt: at(from),
    completedAt: at(to),
    conditions: [complete(ok ? "True" : "False", reason)],
    history,
    ...extra,
  };
}

const dry = upgrade("demo-plan-a", {
  spec: { dryRun: true, targetVersion: { chart: "1.1.0" } },
  status: status(0, 1, "DryRunSucceeded", true, steps(["Plan", 0, 1, "DryRunSucceeded"]), {
    plan: plan({ git: { ...plan().git, from: "1.0.0", to: "1.1.0" } }),
  }),
});
const good = upgrade("demo-upgrade-b", {
  status: status(
    2,
    20,
    "Succeeded",
    true,
    steps(
      ["Plan", 2, 3],
      ["ScaleDown", 4, 5],
      ["ScaleUp", 15, 15, "NotNeeded"],
      ["HealthCheck", 15, 18],
      ["Finish", 18, 20],
    ),
    { plan: plan({ git: { ...plan().git, from: "1.0.0", to: "1.1.0" } }) },
  ),
});
const broken = upgrade("demo-upgrade-c", {
  status: status(
    21,
    45,
    "RollbackTriggered",
    false,
    steps(
      ["Plan", 21, 21],
      ["ScaleDown", 22, 23],
      ["AwaitFlux", 27, 44, "FluxApplyFailed"],
      ["Compensate", 44, 45, "RollbackTriggered"],
    ),
    {
      plan: plan({ git: { ...plan().git, from: "1.1.0", to: "2.0.0" } }),
      rollbackRef: { name: "demo-upgrade-c-rollback" },
    },
  ),
});
const auto = rollback("demo-upgrade-c-rollback", {
  upgrade: "demo-upgrade-c",
  spec: { autoTriggered: true },
  status: status(
    46,
    80,
    "Succeeded",
    true,
    steps(
      ["Plan", 46, 47],
      ["ScaleDown", 47, 48],
      ["RestoreVolumes", 48, 55],
      ["HealthCheck", 70, 78],
      ["Finish", 78, 80],
    ),
    { plan: plan({ git: { ...plan().git, from: "2.0.0", to: "1.1.0" } }) },
  ),
});

describe("the demo's summary", () => {
  it("lists the requests oldest first with kind, versions, outcome and duration", () => {
    const rows = summaryRows([auto, good, broken, dry]);
    expect(rows.map((r) => [r.name, r.kind, r.version, r.outcome, r.durationMs])).toEqual([
      ["demo-plan-a", "upgrade/dry-run", "1.0.0→1.1.0", "DryRunSucceeded", 1000],
      ["demo-upgrade-b", "upgrade", "1.0.0→1.1.0", "Succeeded", 18000],
      ["demo-upgrade-c", "upgrade", "1.1.0→2.0.0", "RollbackTriggered", 24000],
      ["demo-upgrade-c-rollback", "rollback/auto", "2.0.0→1.1.0", "Succeeded", 34000],
    ]);
    expect(rows.map((r) => r.succeeded)).toEqual([true, true, false, true]);
  });

  it("measures downtime from ScaleDown to HealthCheck, and a rolled-back upgrade's until its rollback is healthy", () => {
    const rows = summaryRows([dry, good, broken, auto]);
    expect(rows.map((r) => r.downtimeMs)).toEqual([undefined, 14000, 56000, 31000]);
    expect(rows[2]?.downtimeUntil).toBe(4);
    expect(rows[3]?.downtimeUntil).toBeUndefined();
  });

  it("renders one table of requests and one of step durations, marking steps that failed", () => {
    const text = renderSummary(summaryRows([dry, good, broken, auto]));
    expect(text).toContain("#   REQUEST");
    expect(text).toMatch(
      /3 +demo-upgrade-c +upgrade +1\.1\.0→2\.0\.0 +RollbackTriggered +24s +56s \(until #4 healthy\)/,
    );
    expect(text).toMatch(
      /4 +demo-upgrade-c-rollback +rollback\/auto +2\.0\.0→1\.1\.0 +Succeeded +34s +31s/,
    );
    expect(text).toMatch(/AwaitFlux +- +- +17s ✗ FluxApplyFailed +-/);
    expect(text).toMatch(/RestoreVolumes +- +- +- +7s/);
    // Success of any kind is not marked: a dry run's DryRunSucceeded, a step's NotNeeded.
    expect(text).toMatch(/Plan +1s +1s +0s +1s/);
    expect(text).toMatch(/ScaleUp +- +0s +- +-/);
  });

  it("orders steps as they first ran across the requests", () => {
    expect(stepNames(summaryRows([dry, good, broken, auto]))).toEqual([
      "Plan",
      "ScaleDown",
      "ScaleUp",
      "HealthCheck",
      "Finish",
      "AwaitFlux",
      "Compensate",
      "RestoreVolumes",
    ]);
  });

  it("shows a request that has not started as Pending, without durations", () => {
    const pending = rollback("r", { upgrade: "demo-upgrade-c" });
    const [row] = summaryRows([pending]);
    expect(row).toMatchObject({ outcome: "Pending", version: "-", durationMs: undefined });
    expect(renderSummary(summaryRows([pending]))).not.toContain("STEP");
  });

  it("formats whole seconds, then minutes and seconds", () => {
    expect([0, 400, 1500, 59_000, 65_000, 600_000, undefined].map(formatSeconds)).toEqual([
      "0s",
      "0s",
      "2s",
      "59s",
      "1m05s",
      "10m",
      "-",
    ]);
  });
});
