import { describe, expect, it } from "vitest";
import type { RequestStatus } from "../../../src/api/request-status.ts";
import {
  progressEvents,
  renderEvent,
  renderLive,
  renderOutcome,
} from "../../../src/cli/format/progress.ts";
import { complete, condition, rollback, upgrade } from "./fixtures.ts";

const T0 = "2026-01-01T10:00:00Z";
const at = (seconds: number) =>
  new Date(Date.parse(T0) + seconds * 1000).toISOString().replace(".000", "");
const done = (name: string, from: number, to: number, reason = "Succeeded") => ({
  name,
  startedAt: at(from),
  completedAt: at(to),
  reason,
});

describe("progressEvents", () => {
  it("reports each finished step once, then the new phase and the step that started", () => {
    const s1: RequestStatus = {
      startedAt: T0,
      phase: "Suspending",
      step: { name: "Suspend", startedAt: at(1) },
    };
    const s2: RequestStatus = {
      ...s1,
      phase: "ScalingDown",
      step: { name: "ScaleDown", startedAt: at(3) },
      history: [done("Plan", 0, 1), done("Suspend", 1, 3)],
    };
    expect(progressEvents(undefined, s1)).toEqual([
      { type: "phase", phase: "Suspending" },
      { type: "stepStarted", name: "Suspend" },
    ]);
    const events = progressEvents(s1, s2);
    expect(events.map(renderEvent)).toEqual([
      "✓ Plan 1s",
      "✓ Suspend 2s",
      "phase ScalingDown",
      "→ ScaleDown",
    ]);
    // The same status again (another field changed) says nothing new.
    expect(progressEvents(s2, { ...s2, observedGeneration: 1 })).toEqual([]);
  });

  it("marks failed steps and the start of compensation, and stops at the end", () => {
    const before: RequestStatus = {
      phase: "HealthChecking",
      step: { name: "HealthCheck", startedAt: at(60) },
    };
    const after: RequestStatus = {
      phase: "Failed",
      history: [
        done("HealthCheck", 60, 360, "DeadlineExceeded"),
        done("Snapshot", 10, 20, "NotNeeded"),
      ],
      conditions: [
        condition("Aborting", "True", "DeadlineExceeded", "pods of web not ready"),
        complete("False", "RollbackRequired", "pods of web not ready"),
      ],
    };
    expect(progressEvents(before, after).map(renderEvent)).toEqual([
      "✗ HealthCheck 5m (DeadlineExceeded)",
      "✓ Snapshot 10s (NotNeeded)",
      "! aborting: pods of web not ready",
    ]);
  });
});

describe("renderLive", () => {
  it("shows phase, step and elapsed times", () => {
    const status: RequestStatus = {
      startedAt: T0,
      phase: "Snapshotting",
      step: { name: "Snapshot", startedAt: at(50) },
    };
    expect(renderLive(status, new Date(T0), new Date(at(62)))).toBe(
      "… Snapshotting: Snapshot 12s (1m2s in all)",
    );
    expect(renderLive(undefined, new Date(T0), new Date(at(3)))).toBe(
      "… waiting for the controller (3s)",
    );
  });
});

describe("renderOutcome", () => {
  it("says how long a success took", () => {
    const ok = upgrade("web-upgrade-1", {
      status: { startedAt: T0, completedAt: at(200), conditions: [complete("True", "Succeeded")] },
    });
    expect(renderOutcome(ok)).toEqual(["✓ upgraderequest web-upgrade-1 succeeded in 3m20s"]);
  });

  it("gives the reason of a failure and where it leads", () => {
    const needsRollback = upgrade("web-upgrade-1", {
      status: { conditions: [complete("False", "RollbackRequired", "unhealthy after the commit")] },
    });
    expect(renderOutcome(needsRollback)).toEqual([
      "✗ upgraderequest web-upgrade-1 failed: RollbackRequired: unhealthy after the commit",
      "  roll back with: kubectl cairn rollback web-upgrade-1 -n shop --watch",
    ]);
    const triggered = upgrade("web-upgrade-2", {
      status: {
        rollbackRef: { name: "web-upgrade-2-rollback-a" },
        conditions: [complete("False", "RollbackTriggered", "unhealthy")],
      },
    });
    expect(renderOutcome(triggered)[1]).toBe(
      "  Cairn started rollbackrequest web-upgrade-2-rollback-a",
    );
    const restore = rollback("r", {
      upgrade: "u",
      status: { conditions: [complete("False", "RestoreIncomplete")] },
    });
    expect(renderOutcome(restore)).toEqual(["✗ rollbackrequest r failed: RestoreIncomplete"]);
  });
});
