import { describe, expect, it } from "vitest";
import {
  downtimeMs,
  historyEntry,
  recoveryDowntimeMs,
  renderHistoryTable,
} from "../../../src/cli/format/history.ts";
import { recoveryDowntimeSeconds } from "../../../src/metrics.ts";
import { complete, plan, rollback, upgrade } from "./fixtures.ts";

const NOW = new Date("2026-01-01T12:00:00Z");
const step = (name: string, startedAt: string, completedAt: string, reason = "Succeeded") => ({
  name,
  startedAt,
  completedAt,
  reason,
});

describe("downtimeMs", () => {
  it("runs from the ScaleDown start to the end of the last HealthCheck", () => {
    expect(
      downtimeMs({
        history: [
          step("Suspend", "2026-01-01T10:00:00Z", "2026-01-01T10:00:01Z"),
          step("ScaleDown", "2026-01-01T10:00:01Z", "2026-01-01T10:00:10Z"),
          step("HealthCheck", "2026-01-01T10:01:00Z", "2026-01-01T10:01:30Z", "Unhealthy"),
          step("HealthCheck", "2026-01-01T10:01:30Z", "2026-01-01T10:02:06Z"),
        ],
      }),
    ).toBe(125_000);
  });

  it("is unknown while no HealthCheck has succeeded: a failed one left the app down", () => {
    expect(
      downtimeMs({
        history: [
          step("ScaleDown", "2026-01-01T10:00:01Z", "2026-01-01T10:00:10Z"),
          step("HealthCheck", "2026-01-01T10:01:00Z", "2026-01-01T10:06:00Z", "DeadlineExceeded"),
        ],
      }),
    ).toBeUndefined();
  });

  it("is unknown when the app never came back", () => {
    expect(
      downtimeMs({ history: [step("ScaleDown", "2026-01-01T10:00:01Z", "2026-01-01T10:00:10Z")] }),
    ).toBeUndefined();
    expect(downtimeMs(undefined)).toBeUndefined();
  });
});

describe("historyEntry", () => {
  it("describes a finished upgrade: versions from the plan, reason, duration, downtime", () => {
    const request = upgrade("web-upgrade-1", {
      status: {
        plan: plan(),
        startedAt: "2026-01-01T10:00:00Z",
        completedAt: "2026-01-01T10:03:20Z",
        conditions: [complete("True", "Succeeded", "upgraded")],
        history: [
          step("ScaleDown", "2026-01-01T10:00:05Z", "2026-01-01T10:00:10Z"),
          step("HealthCheck", "2026-01-01T10:02:00Z", "2026-01-01T10:03:10Z"),
        ],
      },
    });
    expect(historyEntry(request, NOW)).toEqual({
      name: "web-upgrade-1",
      kind: "upgrade",
      from: "1.0.0",
      to: "2.0.0",
      outcome: "succeeded",
      reason: "Succeeded",
      message: "upgraded",
      startedAt: "2026-01-01T10:00:00Z",
      completedAt: "2026-01-01T10:03:20Z",
      durationSeconds: 200,
      downtimeSeconds: 185,
      recoveredBy: null,
    });
  });

  it("gives a failed upgrade the downtime until the health check of the rollback that undid it", () => {
    const failed = upgrade("web-upgrade-4", {
      status: {
        plan: plan(),
        startedAt: "2026-01-01T10:00:00Z",
        completedAt: "2026-01-01T10:08:00Z",
        conditions: [complete("False", "RollbackTriggered", "unhealthy")],
        rollbackRef: { name: "web-upgrade-4-rollback" },
        history: [
          step("ScaleDown", "2026-01-01T10:00:05Z", "2026-01-01T10:00:10Z"),
          step("HealthCheck", "2026-01-01T10:02:00Z", "2026-01-01T10:07:00Z", "Unhealthy"),
        ],
      },
    });
    const rolledBack = (name: string, reason: string, over: Record<string, unknown> = {}) =>
      rollback(name, {
        upgrade: "web-upgrade-4",
        ...over,
        status: {
          startedAt: "2026-01-01T10:08:00Z",
          completedAt: "2026-01-01T10:12:00Z",
          conditions: [complete(reason === "Succeeded" ? "True" : "False", reason)],
          history: [
            step("ScaleDown", "2026-01-01T10:08:05Z", "2026-01-01T10:08:06Z", "NotNeeded"),
            step("HealthCheck", "2026-01-01T10:10:00Z", "2026-01-01T10:11:05Z"),
          ],
        },
      });
    const good = rolledBack("web-upgrade-4-rollback", "Succeeded");
    // 10:00:05 → 10:11:05
    expect(historyEntry(failed, NOW, [failed, good])).toMatchObject({
      downtimeSeconds: 660,
      recoveredBy: "web-upgrade-4-rollback",
    });
    // Without its rollback (or with one that failed, or a dry run) the app may still be down.
    const none = { downtimeSeconds: null, recoveredBy: null };
    expect(historyEntry(failed, NOW)).toMatchObject(none);
    expect(
      historyEntry(failed, NOW, [rolledBack("web-upgrade-4-rollback", "RestoreIncomplete")]),
    ).toMatchObject(none);
    expect(
      historyEntry(failed, NOW, [
        rolledBack("web-upgrade-4-plan", "Succeeded", { spec: { dryRun: true } }),
      ]),
    ).toMatchObject(none);
    // The plugin's figure is the controller's metric.
    expect((recoveryDowntimeMs(failed.status, good.status) ?? 0) / 1000).toBe(
      recoveryDowntimeSeconds(failed.status ?? {}, good.status ?? {}),
    );
    const text = renderHistoryTable([historyEntry(failed, NOW, [good])], { noHeaders: true });
    expect(text).toBe("web-upgrade-4   upgrade   1.0.0→2.0.0   RollbackTriggered   8m   11m\n");
  });

  it("shows the target of an unplanned upgrade and the time so far of a running one", () => {
    const running = upgrade("web-upgrade-2", {
      spec: { targetVersion: { images: [{ name: "ghcr.io/org/web", tag: "2.1" }] } },
      status: { phase: "Snapshotting", startedAt: "2026-01-01T11:58:00Z" },
    });
    expect(historyEntry(running, NOW)).toMatchObject({
      from: null,
      to: "ghcr.io/org/web:2.1",
      outcome: "running",
      reason: "Snapshotting",
      durationSeconds: 120,
      downtimeSeconds: null,
    });
  });

  it("renders a table with one from→to column", () => {
    const failed = rollback("web-upgrade-1-rollback-x", {
      upgrade: "web-upgrade-1",
      status: {
        startedAt: "2026-01-01T11:00:00Z",
        completedAt: "2026-01-01T11:12:00Z",
        conditions: [complete("False", "RestoreIncomplete", "PVC data-web-0 not restored")],
      },
    });
    const pending = upgrade("web-upgrade-3");
    const text = renderHistoryTable([historyEntry(failed, NOW), historyEntry(pending, NOW)]);
    expect(text).toBe(
      "NAME                       KIND       VERSION   OUTCOME             DURATION   DOWNTIME\n" +
        "web-upgrade-1-rollback-x   rollback   -         RestoreIncomplete   12m        -\n" +
        "web-upgrade-3              upgrade    ?→2.0.0   Pending             -          -\n",
    );
    expect(renderHistoryTable([historyEntry(pending, NOW)], { noHeaders: true })).toBe(
      "web-upgrade-3   upgrade   ?→2.0.0   Pending   -   -\n",
    );
  });
});
