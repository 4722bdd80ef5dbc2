import { describe, expect, it } from "vitest";
import { renderStatusTable, summarizeApp } from "../../../src/cli/format/status.ts";
import { app, complete, condition, upgrade } from "./fixtures.ts";

const NOW = new Date("2026-01-01T12:00:00Z");

describe("summarizeApp", () => {
  const web = app(
    "web",
    {},
    {
      conditions: [condition("Ready", "True", "Succeeded", "references resolve")],
      currentVersion: "1.0.0",
      availableUpdate: "1.1.0",
      lastUpgrade: { name: "web-upgrade-0", version: "1.0.0", outcome: "Succeeded" },
    },
  );

  it("reports version, health, update and the oldest unfinished request as the operation", () => {
    const running = upgrade("web-upgrade-2", {
      created: "2026-01-01T11:50:00Z",
      status: {
        phase: "Committing",
        startedAt: "2026-01-01T11:50:00Z",
        step: { name: "Commit", startedAt: "2026-01-01T11:59:48Z" },
      },
    });
    const queued = upgrade("web-upgrade-3", { created: "2026-01-01T11:55:00Z" });
    const done = upgrade("web-upgrade-1", {
      created: "2026-01-01T10:00:00Z",
      status: { conditions: [complete("True", "Succeeded")] },
    });
    const summary = summarizeApp(web, [queued, running, done], NOW);
    expect(summary).toEqual({
      namespace: "shop",
      name: "web",
      version: "1.0.0",
      versionProblem: null,
      health: "Ready",
      healthMessage: "references resolve",
      availableUpdate: "1.1.0",
      operations: [
        {
          kind: "upgrade",
          name: "web-upgrade-2",
          phase: "Committing",
          step: "Commit",
          stepElapsedMs: 12_000,
        },
        { kind: "upgrade", name: "web-upgrade-3", phase: "Pending" },
      ],
      lastUpgrade: { name: "web-upgrade-0", version: "1.0.0", outcome: "Succeeded" },
    });
    const [header = "", row = ""] = renderStatusTable([summary], false).split("\n");
    expect(header).toMatch(
      /^NAME {3}VERSION {3}HEALTH {3}UPDATE {3}OPERATION +STEP +QUEUED +LAST UPGRADE$/,
    );
    expect(row).toBe(
      "web    1.0.0     Ready    1.1.0    web-upgrade-2   Commit(12s)   1        Succeeded/1.0.0",
    );
    expect(header.indexOf("LAST UPGRADE")).toBe(row.indexOf("Succeeded"));
    // One word a cell: awk '{print $5}' is the operation.
    expect(row.split(/\s+/)).toHaveLength(8);
  });

  it("says which request a queued one waits for", () => {
    const queued = upgrade("web-upgrade-3", {
      created: "2026-01-01T11:55:00Z",
      status: {
        phase: "Pending",
        conditions: [
          condition(
            "Planned",
            "False",
            "Waiting",
            "waiting for UpgradeRequest web-upgrade-2, which holds the app; planning once it lets go",
          ),
        ],
      },
    });
    const summary = summarizeApp(web, [queued], NOW);
    expect(summary.operations[0]?.waiting).toBe(
      "waiting for UpgradeRequest web-upgrade-2, which holds the app; planning once it lets go",
    );
    const [, row = ""] = renderStatusTable([summary], false).split("\n");
    expect(row.split(/\s+/)[5]).toBe("waits-for:web-upgrade-2");
  });

  it("shows the Ready reason when the app is not ready, and dashes for what is unknown", () => {
    const broken = app(
      "db",
      {},
      { conditions: [condition("Ready", "False", "ReferenceNotFound", "no Kustomization apps")] },
    );
    const summary = summarizeApp(broken, [], NOW);
    expect(summary.health).toBe("ReferenceNotFound");
    expect(summary.healthMessage).toBe("no Kustomization apps");
    expect(summarizeApp(app("new"), [], NOW).health).toBe("Unknown");
    const table = renderStatusTable([summary], true);
    expect(table).toBe(
      "NAMESPACE   NAME   VERSION   HEALTH              UPDATE   OPERATION   STEP   QUEUED   LAST UPGRADE\n" +
        "shop        db     -         ReferenceNotFound   -        -           -      0        -\n",
    );
  });

  it("keeps the last version when it cannot be read, with the reason beside it", () => {
    const notes = app(
      "notes",
      {},
      {
        currentVersion: "1.1.0",
        conditions: [
          condition("Ready", "True", "Succeeded", "healthy"),
          condition(
            "VersionResolved",
            "False",
            "VersionPathInvalid",
            "spec.versionPolicy.versionPath: metadata.labels.release is in none of the file's 1 document(s)",
          ),
        ],
      },
    );
    const summary = summarizeApp(notes, [], NOW);
    expect(summary.version).toBe("1.1.0");
    expect(summary.versionProblem).toEqual({
      reason: "VersionPathInvalid",
      message:
        "spec.versionPolicy.versionPath: metadata.labels.release is in none of the file's 1 document(s)",
    });
    const [, row = ""] = renderStatusTable([summary], false).split("\n");
    expect(row).toMatch(/^notes +1\.1\.0\(VersionPathInvalid\) +Ready /);
    // Unknown (no versionPath, not applied yet) is not a problem to show.
    const plain = app(
      "plain",
      {},
      { conditions: [condition("VersionResolved", "Unknown", "NoVersionPath", "not set")] },
    );
    expect(summarizeApp(plain, [], NOW).versionProblem).toBeNull();
  });
});
