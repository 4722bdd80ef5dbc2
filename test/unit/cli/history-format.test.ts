import { describe, expect, it } from "vitest";
import { downtimeMs, historyEntry, renderHistoryTable } from "../../../src/cli/format/history.ts";
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
    });
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
