import { describe, expect, it } from "vitest";
import { ManagedApp } from "../../../src/api/managedapp.ts";
import {
  autoRequest,
  autoRequestName,
  decideAutoUpdate,
  isSkipMarker,
  type AutoUpdateInput,
} from "../../../src/controllers/managedapp/auto-update.ts";
import type { KubeObject } from "../../../src/kube/client.ts";

const API = "cairn.dev/v1alpha1";
// 2026-12-07 is a Monday.
const NOW = new Date("2026-12-07T03:00:00Z");

const app = (versionPolicy: Record<string, unknown>, labels?: Record<string, string>) =>
  ManagedApp.parse({
    apiVersion: API,
    kind: "ManagedApp",
    metadata: { name: "web", namespace: "shop", ...(labels ? { labels } : {}) },
    spec: { gitPath: "a.yaml", kustomizationRef: { name: "apps" }, versionPolicy },
  });

const request = (name: string, complete?: ["True" | "False", string]): KubeObject => ({
  apiVersion: API,
  kind: "UpgradeRequest",
  metadata: { name, namespace: "shop", labels: { "cairn.dev/auto-update": "true" } },
  spec: { managedAppRef: { name: "web" } },
  ...(complete
    ? {
        status: {
          conditions: [
            {
              type: "Complete",
              status: complete[0],
              reason: complete[1],
              message: "",
              lastTransitionTime: "2026-12-01T00:00:00Z",
            },
          ],
        },
      }
    : {}),
});

function input(over: Partial<AutoUpdateInput> = {}): AutoUpdateInput {
  return {
    app: app({ autoUpdate: "minor" }),
    current: "1.0.0",
    availableUpdate: "2.0.0",
    autoTarget: "1.1.0",
    ready: true,
    frozen: false,
    running: undefined,
    requestNamed: () => undefined,
    now: NOW,
    ...over,
  };
}

describe("autoRequestName", () => {
  it("is the app and the version as a DNS label, with a hash where names could collide", () => {
    expect(autoRequestName("web", "1.1.0")).toBe("web-auto-1-1-0");
    expect(autoRequestName("web", "v2.0.0")).toBe("web-auto-v2-0-0");
    const rc1 = autoRequestName("web", "1.2.0-rc.1");
    const rc2 = autoRequestName("web", "1.2.0-rc-1");
    expect(rc1).toMatch(/^web-auto-1-2-0-rc-1-[0-9a-f]{8}$/);
    expect(rc1).not.toBe(rc2);
    const long = autoRequestName("a".repeat(50), "10.20.30");
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^a{50}-[a-z0-9-]*-?[0-9a-f]{8}$/);
    expect(long).not.toBe(autoRequestName("a".repeat(50), "10.20.31"));
  });
});

describe("decideAutoUpdate", () => {
  it("is off without autoUpdate", () => {
    expect(decideAutoUpdate(input({ app: app({}) }))).toEqual({ kind: "off" });
  });

  it("starts the upgrade to the newest version within the level, named after it", () => {
    expect(decideAutoUpdate(input())).toEqual({
      kind: "start",
      name: "web-auto-1-1-0",
      version: "1.1.0",
    });
  });

  it("says why nothing is offered, naming an update beyond the level", () => {
    expect(decideAutoUpdate(input({ autoTarget: undefined }))).toEqual({
      kind: "hold",
      condition: {
        status: "False",
        reason: "UpToDate",
        message:
          "no newer version within autoUpdate: minor is offered; 2.0.0 is available but beyond autoUpdate: minor of 1.0.0, so it is upgraded to by hand only",
      },
    });
  });

  it("follows its own request while it runs, and skips a version whose request failed", () => {
    const running = request("web-auto-1-1-0");
    expect(decideAutoUpdate(input({ requestNamed: () => running }))).toEqual({
      kind: "hold",
      condition: {
        status: "True",
        reason: "UpgradeStarted",
        message: "UpgradeRequest web-auto-1-1-0 upgrades to 1.1.0",
      },
    });
    const rolledBack = request("web-auto-1-1-0", ["False", "RollbackTriggered"]);
    expect(decideAutoUpdate(input({ requestNamed: () => rolledBack }))).toEqual({
      kind: "hold",
      condition: {
        status: "False",
        reason: "VersionSkipped",
        message:
          "1.1.0 is skipped: its automatic UpgradeRequest web-auto-1-1-0 ended RollbackTriggered; delete that request to let Cairn try 1.1.0 again",
      },
    });
    expect(isSkipMarker(rolledBack)).toBe(true);
    expect(isSkipMarker(running)).toBe(false);
    expect(isSkipMarker(request("web-auto-1-0-1", ["True", "Succeeded"]))).toBe(false);
  });

  it("waits for another request, a frozen app and an app that is not Ready, in that order", () => {
    const reasons = (over: Partial<AutoUpdateInput>) => {
      const d = decideAutoUpdate(input(over));
      return d.kind === "hold" ? d.condition.reason : d.kind;
    };
    const busy = { kind: "UpgradeRequest", name: "by-hand" };
    expect(reasons({ running: busy, frozen: true, ready: false })).toBe("RequestRunning");
    expect(reasons({ frozen: true, ready: false })).toBe("AppFrozen");
    expect(reasons({ ready: false })).toBe("AppNotReady");
  });

  it("waits outside the maintenance windows until the next one opens, and starts inside", () => {
    const windows = [{ days: ["Mon"], start: "04:00", duration: "1h" }];
    const closed = decideAutoUpdate(
      input({ app: app({ autoUpdate: "minor", maintenanceWindows: windows }) }),
    );
    expect(closed).toEqual({
      kind: "hold",
      condition: {
        status: "False",
        reason: "OutsideWindow",
        message:
          "1.1.0 waits for the next maintenance window, at 2026-12-07T04:00:00.000Z (Mon 04:00+1h UTC)",
      },
      requeueAfterMs: 3_600_000,
    });
    const open = decideAutoUpdate(
      input({
        app: app({ autoUpdate: "minor", maintenanceWindows: windows }),
        now: new Date("2026-12-07T04:30:00Z"),
      }),
    );
    expect(open).toMatchObject({ kind: "start", version: "1.1.0" });
  });
});

describe("autoRequest", () => {
  it("is an ordinary UpgradeRequest to the version, labelled with the app's labels and as automatic", () => {
    expect(
      autoRequest(app({ autoUpdate: "patch" }, { team: "a" }), "web-auto-1-0-1", "1.0.1"),
    ).toEqual({
      apiVersion: API,
      kind: "UpgradeRequest",
      metadata: {
        name: "web-auto-1-0-1",
        namespace: "shop",
        labels: { team: "a", "cairn.dev/managed-app": "web", "cairn.dev/auto-update": "true" },
      },
      spec: { managedAppRef: { name: "web" }, targetVersion: { chart: "1.0.1" } },
    });
  });
});
