import { describe, expect, it } from "vitest";
import { renderUpdatesTable, summarizeUpdates } from "../../../src/cli/format/updates.ts";
import { app, condition } from "./fixtures.ts";

const NOW = new Date("2026-01-01T12:00:00Z");

const web = app(
  "web",
  {
    versionPolicy: {
      constraint: "<2.0.0",
      autoUpdate: "minor",
      maintenanceWindows: [{ days: ["Sat"], start: "02:00", duration: "2h" }],
    },
  },
  {
    conditions: [
      condition("UpdateAvailable", "True", "NewerVersion", "chart web 1.1.0 (running 1.0.0) …"),
      condition(
        "AutoUpdate",
        "False",
        "OutsideWindow",
        "1.1.0 waits for the next maintenance window, at 2026-01-03T02:00:00.000Z (Sat 02:00+2h UTC)",
      ),
    ],
    currentVersion: "1.0.0",
    availableUpdate: "1.1.0",
    updateCheck: {
      source: { kind: "HelmRepository", namespace: "shop", name: "charts" },
      url: "https://charts.example/",
      chart: "web",
      revision: "sha256:abc",
      checkedAt: "2026-01-01T11:58:00Z",
    },
  },
);
const notes = app(
  "notes",
  {},
  {
    conditions: [
      condition(
        "UpdateAvailable",
        "Unknown",
        "NotChecked",
        "update checks read the chart versions of the app's HelmRelease; the app has no spec.helmReleaseRef",
      ),
    ],
    currentVersion: "2.0",
  },
);

describe("summarizeUpdates", () => {
  it("reports the current and available version, the source, when, and the policy", () => {
    expect(summarizeUpdates(web)).toEqual({
      namespace: "shop",
      name: "web",
      current: "1.0.0",
      available: "1.1.0",
      state: "NewerVersion",
      message: "chart web 1.1.0 (running 1.0.0) …",
      source: "HelmRepository shop/charts",
      chart: "web",
      checkedAt: "2026-01-01T11:58:00Z",
      policy: "<2.0.0, no pre-releases",
      constraint: "<2.0.0",
      prereleases: false,
      autoUpdate: "minor",
      autoState: "OutsideWindow",
      autoMessage:
        "1.1.0 waits for the next maintenance window, at 2026-01-03T02:00:00.000Z (Sat 02:00+2h UTC)",
    });
    expect(summarizeUpdates(app("new")).state).toBe("NotReported");
  });
});

describe("renderUpdatesTable", () => {
  it("shows one row per app, says why an app is not checked and what its automatic upgrade waits for", () => {
    const text = renderUpdatesTable([web, notes].map(summarizeUpdates), false, NOW);
    const lines = text.trimEnd().split("\n");
    expect(lines[0]).toMatch(
      /^NAME\s+CURRENT\s+AVAILABLE\s+STATE\s+SOURCE\s+CHECKED\s+POLICY\s+AUTO$/,
    );
    expect(lines[1]).toMatch(
      /^web\s+1\.0\.0\s+1\.1\.0\s+NewerVersion\s+HelmRepository\/shop\/charts\s+2m\s+<2\.0\.0\s+minor\/OutsideWindow$/,
    );
    expect(lines[2]).toMatch(/^notes\s+2\.0\s+-\s+NotChecked\s+-\s+-\s+any\s+none$/);
    expect(lines.slice(-2)).toEqual([
      "web: auto: 1.1.0 waits for the next maintenance window, at 2026-01-03T02:00:00.000Z (Sat 02:00+2h UTC)",
      "notes: update checks read the chart versions of the app's HelmRelease; the app has no spec.helmReleaseRef",
    ]);
  });

  it("names the image of an app versioned by an image tag as its source", () => {
    const cache = app(
      "cache",
      { versionPolicy: { versionPath: "images[0].newTag", image: { name: "ghcr.io/org/cache" } } },
      {
        conditions: [condition("UpdateAvailable", "False", "UpToDate", "no version of image …")],
        currentVersion: "7.2.0",
        updateCheck: {
          image: "ghcr.io/org/cache",
          url: "https://ghcr.io/org/cache",
          checkedAt: "2026-01-01T11:00:00Z",
        },
      },
    );
    const summary = summarizeUpdates(cache);
    expect(summary).toMatchObject({ source: "Image ghcr.io/org/cache", chart: null });
    expect(renderUpdatesTable([summary], false, NOW).split("\n")[1]).toMatch(
      /^cache\s+7\.2\.0\s+-\s+UpToDate\s+Image\/ghcr\.io\/org\/cache\s+1h\s+any\s+none$/,
    );
  });

  it("names the OCIRepository of a chart from spec.chartRef as its source", () => {
    const api = app(
      "api",
      {},
      {
        conditions: [condition("UpdateAvailable", "True", "NewerVersion", "chart api 1.1.0 …")],
        currentVersion: "1.0.0",
        availableUpdate: "1.1.0",
        updateCheck: {
          source: { kind: "OCIRepository", namespace: "shop", name: "api-chart" },
          url: "oci://registry.example/charts/api",
          chart: "api",
          checkedAt: "2026-01-01T11:00:00Z",
        },
      },
    );
    const summary = summarizeUpdates(api);
    expect(summary).toMatchObject({ source: "OCIRepository shop/api-chart", chart: "api" });
    expect(renderUpdatesTable([summary], false, NOW).split("\n")[1]).toMatch(
      /^api\s+1\.0\.0\s+1\.1\.0\s+NewerVersion\s+OCIRepository\/shop\/api-chart\s+1h\s/,
    );
  });

  it("adds the namespace with --all-namespaces", () => {
    const text = renderUpdatesTable([summarizeUpdates(web)], true, NOW);
    expect(text.split("\n")[0]).toMatch(/^NAMESPACE\s+NAME/);
    expect(text.split("\n")[1]).toMatch(/^shop\s+web/);
  });
});
