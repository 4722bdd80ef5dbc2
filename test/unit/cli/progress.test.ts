import { describe, expect, it } from "vitest";
import type { RequestStatus } from "../../../src/api/request-status.ts";
import {
  progressEvents,
  renderEvent,
  renderLive,
  renderOutcome,
  errorLine,
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
  it("reports each finished step once, one line per step; the running one is for the live line", () => {
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
    expect(progressEvents(undefined, s1)).toEqual([]);
    const events = progressEvents(s1, s2);
    expect(events.map(renderEvent)).toEqual(["✓ Plan 1s", "✓ Suspend 2s"]);
    // The same status again (another field changed) says nothing new.
    expect(progressEvents(s2, { ...s2, observedGeneration: 1 })).toEqual([]);
  });

  it("says once which request a queued one waits for", () => {
    const waiting: RequestStatus = {
      phase: "Pending",
      conditions: [
        condition(
          "Locked",
          "False",
          "Waiting",
          "waiting for UpgradeRequest web-upgrade-a, which holds the app",
        ),
      ],
    };
    expect(progressEvents(undefined, waiting).map(renderEvent)).toEqual([
      "… waiting for UpgradeRequest web-upgrade-a, which holds the app",
    ]);
    expect(progressEvents(waiting, { ...waiting, observedGeneration: 2 })).toEqual([]);
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

  it("gives the reason of a failure, what it left behind and what to do next", () => {
    const needsRollback = upgrade("web-upgrade-1", {
      status: { conditions: [complete("False", "RollbackRequired", "unhealthy after the commit")] },
    });
    expect(renderOutcome(needsRollback)).toEqual([
      "✗ upgraderequest web-upgrade-1 failed: RollbackRequired: unhealthy after the commit",
      "  The upgrade failed after its Git commit; the app runs the new version, unhealthy.",
      "  roll back with: kubectl cairn rollback web-upgrade-1 -n shop --watch",
      "  details: kubectl cairn describe web-upgrade-1 -n shop",
    ]);
    expect(errorLine(needsRollback)).toBe(
      "error: upgraderequest web-upgrade-1 failed: RollbackRequired: unhealthy after the commit",
    );
    const triggered = upgrade("web-upgrade-2", {
      status: {
        rollbackRef: { name: "web-upgrade-2-rollback-a" },
        conditions: [complete("False", "RollbackTriggered", "unhealthy")],
      },
    });
    expect(renderOutcome(triggered).slice(1)).toEqual([
      "  The upgrade failed after its Git commit: Cairn started rollbackrequest web-upgrade-2-rollback-a to undo it, data included.",
      "  follow it: kubectl cairn watch web-upgrade-2-rollback-a -n shop",
    ]);
    const early = upgrade("web-upgrade-3", {
      status: { conditions: [complete("False", "DeadlineExceeded", "snapshot not ready")] },
    });
    expect(renderOutcome(early)[1]).toBe(
      "  The upgrade stopped before its Git commit: Cairn resumed Flux and put the replicas",
    );
    const restore = rollback("r", {
      upgrade: "u",
      status: { conditions: [complete("False", "RestoreIncomplete")] },
    });
    expect(renderOutcome(restore)[0]).toBe("✗ rollbackrequest r failed: RestoreIncomplete");
    expect(renderOutcome(restore)[1]).toContain("The app stays frozen on purpose");
    const refused = rollback("r2", {
      upgrade: "u",
      status: { conditions: [complete("False", "AlreadyRolledBack", "already rolled back")] },
    });
    expect(renderOutcome(refused)[1]).toBe(
      "  Nothing was changed: the request was refused for the reason above.",
    );
    const ok = upgrade("ok", { status: { conditions: [complete("True", "Succeeded")] } });
    expect(errorLine(ok)).toBeUndefined();
  });
});
