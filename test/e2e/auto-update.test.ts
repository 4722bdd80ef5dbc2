// Automatic upgrades (versionPolicy.autoUpdate) end to end on the full test bed: the real
// controller under its shipped RBAC, two Flux-managed Helm apps with PVCs, the bed's Helm
// repository offering demo 1.0.0, 1.1.0 and 2.0.0 (a chart that never gets healthy). Nothing
// starts outside a maintenance window; inside one, `autoUpdate: minor` upgrades both apps to
// 1.1.0 (not 2.0.0), one after the other under --max-auto-upgrades=1; a version whose automatic
// upgrade was rolled back is not tried again.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { KubeClient, KubeObject } from "../../src/kube/client.ts";
import { TestController } from "../support/controller.ts";
import { chartVersionInGit, setUpDemoApp, type DemoApp } from "../support/demo-app.ts";
import { deleteNamespace, eventually, testClient } from "../support/kube.ts";
import { conditions, isReadyNow } from "../support/objects.ts";

const API = "cairn.dev/v1alpha1";
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const missingGit = (): never => {
  throw new Error("the e2e tier needs the full test bed");
};

describe("automatic upgrades", () => {
  const admin: KubeClient = testClient();
  const git = inject("git");
  let controller: TestController;
  const apps: DemoApp[] = [];

  const appRef = (app: DemoApp) => ({
    apiVersion: API,
    kind: "ManagedApp",
    namespace: app.namespace,
    name: "demo",
  });
  const requestRef = (app: DemoApp, name: string) => ({
    apiVersion: API,
    kind: "UpgradeRequest",
    namespace: app.namespace,
    name,
  });
  const autoCondition = (o: KubeObject) => conditions(o).find((c) => c.type === "AutoUpdate");
  const complete = (r: KubeObject) => conditions(r).find((c) => c.type === "Complete");

  function alive(): void {
    if (!controller.process?.running)
      throw new Error(`controller exited:\n${controller.logTail()}`);
  }

  async function autoReason(app: DemoApp, reason: string, timeoutMs = 120_000) {
    let last: unknown;
    return eventually(
      `${app.namespace}: AutoUpdate ${reason}`,
      async () => {
        alive();
        const obj = await admin.get(appRef(app));
        last = obj["status"];
        const c = autoCondition(obj);
        return c?.reason === reason ? c : undefined;
      },
      timeoutMs,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}; the app's status was ${JSON.stringify(last)}`);
    });
  }

  async function requestsOf(app: DemoApp): Promise<readonly KubeObject[]> {
    return (await admin.list(API, "UpgradeRequest", { namespace: app.namespace })).items;
  }

  async function finished(app: DemoApp, name: string): Promise<KubeObject> {
    return eventually(
      `UpgradeRequest ${app.namespace}/${name} to finish`,
      async () => {
        alive();
        const r = await admin.get(requestRef(app, name)).catch(() => undefined);
        const c = r && complete(r);
        const holding = ((r?.metadata["finalizers"] ?? []) as string[]).length > 0;
        return r && c && c.status !== "Unknown" && !holding ? r : undefined;
      },
      240_000,
    ).catch(async (err: unknown) => {
      const now = autoCondition(await admin.get(appRef(app)));
      throw new Error(
        `${String(err)}; AutoUpdate: ${JSON.stringify(now)}; controller log:\n${controller.logTail(40)}`,
      );
    });
  }

  async function readyApp(app: DemoApp) {
    return eventually(
      `ManagedApp ${app.namespace}/demo Ready`,
      async () => (isReadyNow(await admin.get(appRef(app))) ? true : undefined),
      240_000,
    );
  }

  beforeAll(async () => {
    if (!git) missingGit();
    controller = await TestController.prepare({
      admin,
      clusterKubeconfig: inject("kubeconfig"),
      suffix: "-auto",
      extraArgs: ["--workers=4", "--max-auto-upgrades=1"],
    });
    // A window that is closed now: three days from today, for an hour.
    const closedDay = DAYS[(new Date().getUTCDay() + 3) % 7] ?? "Sun";
    for (const prefix of ["auto-a", "auto-b"]) {
      apps.push(
        await setUpDemoApp(admin, git ?? missingGit(), inject("helmRepoUrl"), {
          prefix,
          helmTimeout: "20s",
          labels: controller.labels,
          spec: {
            versionPolicy: {
              autoUpdate: "minor",
              maintenanceWindows: [{ days: [closedDay], start: "00:00", duration: "1h" }],
            },
          },
        }),
      );
    }
    await controller.start();
    for (const app of apps) await readyApp(app);
  }, 500_000);

  afterAll(async () => {
    await controller.cleanup();
    await Promise.all(apps.map((a) => deleteNamespace(admin, a.namespace)));
  });

  it("starts nothing outside a window, then upgrades within the level, one app at a time", async () => {
    const [a, b] = apps;
    if (!a || !b) throw new Error("two apps");
    for (const app of apps) {
      const c = await autoReason(app, "OutsideWindow");
      expect(c.status).toBe("False");
      expect(c.message).toMatch(/^1\.1\.0 waits for the next maintenance window, at \d{4}-/);
      expect(await requestsOf(app)).toEqual([]);
    }
    // Every day, all day: the window is open now. Both apps at once, one slot.
    const always = [{ days: DAYS, start: "00:00", duration: "24h" }];
    await Promise.all(
      apps.map((app) =>
        admin.mergePatch(appRef(app), { spec: { versionPolicy: { maintenanceWindows: always } } }),
      ),
    );
    const done = await Promise.all(apps.map((app) => finished(app, "demo-auto-1-1-0")));
    for (const r of done) {
      expect(complete(r)?.reason, complete(r)?.message).toBe("Succeeded");
      expect(r.metadata.labels).toMatchObject({
        "cairn.dev/auto-update": "true",
        "cairn.dev/managed-app": "demo",
      });
      expect(r["spec"]).toMatchObject({ targetVersion: { chart: "1.1.0" } });
    }
    // Never both at once: the second was created only after the first had finished.
    const created = (r: KubeObject) => {
      const at = r.metadata["creationTimestamp"];
      return typeof at === "string" ? at : "";
    };
    const [first, second] = [...done].sort((x, y) => created(x).localeCompare(created(y)));
    const firstDone =
      (first?.["status"] as { completedAt?: string } | undefined)?.completedAt ?? "";
    expect(Date.parse(second ? created(second) : "")).toBeGreaterThanOrEqual(
      Math.floor(Date.parse(firstDone) / 1000) * 1000,
    );
    for (const app of apps) {
      expect(await chartVersionInGit(git ?? missingGit(), app.repo)).toBe("1.1.0");
      // 2.0.0 is offered, but beyond autoUpdate: minor.
      const c = await autoReason(app, "UpToDate");
      expect(c.message).toContain("2.0.0 is available but beyond autoUpdate: minor of 1.1.0");
    }
  });

  it("does not try a version again after its automatic upgrade was rolled back", async () => {
    const [a] = apps;
    if (!a) throw new Error("an app");
    await admin.mergePatch(appRef(a), {
      spec: { autoRollback: true, versionPolicy: { autoUpdate: "major" } },
    });
    const failed = await finished(a, "demo-auto-2-0-0");
    expect(complete(failed)?.reason, complete(failed)?.message).toBe("RollbackTriggered");
    const skipped = await autoReason(a, "VersionSkipped", 300_000);
    expect(skipped.message).toBe(
      "2.0.0 is skipped: its automatic UpgradeRequest demo-auto-2-0-0 ended RollbackTriggered; delete that request to let Cairn try 2.0.0 again",
    );
    const rollbackName = "demo-auto-2-0-0-rollback";
    await eventually(
      "the rollback to finish",
      async () => {
        const r = await admin
          .get({
            apiVersion: API,
            kind: "RollbackRequest",
            namespace: a.namespace,
            name: rollbackName,
          })
          .catch(() => undefined);
        const c = r && complete(r);
        return c && c.status !== "Unknown" ? c : undefined;
      },
      300_000,
    );
    await readyApp(a);
    expect(await chartVersionInGit(git ?? missingGit(), a.repo)).toBe("1.1.0");
    // Ready again, in a window, 2.0.0 still offered: still skipped, and no new request.
    const after = autoCondition(await admin.get(appRef(a)));
    expect(after?.reason).toBe("VersionSkipped");
    expect((await requestsOf(a)).map((r) => r.metadata.name).sort()).toEqual([
      "demo-auto-1-1-0",
      "demo-auto-2-0-0",
    ]);
  });
});
