// Requests do not pile up, and a failed upgrade's downtime is recorded, end to end on the full
// test bed under the controller's shipped RBAC: (1) an app with spec.requestHistory limits gets
// more finished requests than they allow; the oldest finished ones are deleted while the one
// still running stays, and once it has finished it stays still, as the upgrade a rollback may
// undo; (2) a broken upgrade rolled back by autoRollback: cairn_app_downtime_seconds observes
// its downtime from its ScaleDown to its rollback's successful HealthCheck, and `kubectl cairn
// history` shows the same figure.
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from "vitest";
import type { KubeClient, KubeObject } from "../../src/kube/client.ts";
import type { GitAccess } from "../../testbed/src/cluster.ts";
import { runCli } from "../integration/cli/support.ts";
import { TestController } from "../support/controller.ts";
import { setUpDemoApp, type DemoOptions } from "../support/demo-app.ts";
import { deleteNamespace, eventually, testClient } from "../support/kube.ts";
import { conditions, isReadyNow } from "../support/objects.ts";
import { assertAlive, completeOf, requestFinished } from "../support/requests.ts";

const API = "cairn.dev/v1alpha1";
const HOLD = "example.com/hold";

interface Step {
  name: string;
  startedAt: string;
  completedAt: string;
  reason: string;
}

describe("request history", () => {
  const admin: KubeClient = testClient();
  const gitOrNull = inject("git");
  const git = (): GitAccess => {
    if (!gitOrNull) throw new Error("the e2e tier needs the full test bed");
    return gitOrNull;
  };
  let controller: TestController;
  const namespaces: string[] = [];
  /** Downtime the controller must have observed under kind UpgradeRequest, in seconds. */
  const expectedDowntimes: number[] = [];

  beforeAll(async () => {
    git();
    controller = await TestController.prepare({
      admin,
      clusterKubeconfig: inject("kubeconfig"),
      suffix: "-history",
      extraArgs: ["--workers=4"],
    });
    await controller.start();
  }, 120_000);

  afterAll(async () => {
    await controller.cleanup();
    await Promise.all(namespaces.map((ns) => deleteNamespace(admin, ns)));
  });

  const upgradeRef = (ns: string, name: string) => ({
    apiVersion: API,
    kind: "UpgradeRequest",
    namespace: ns,
    name,
  });
  const complete = completeOf;
  const historyOf = (r: KubeObject) =>
    (r["status"] as { history?: Step[] } | undefined)?.history ?? [];
  const seconds = (from: string | undefined, to: string | undefined) =>
    (Date.parse(to ?? "") - Date.parse(from ?? "")) / 1000;

  const alive = () => assertAlive(controller);

  async function demoApp(opts: Omit<DemoOptions, "labels">) {
    const app = await setUpDemoApp(admin, git(), inject("helmRepoUrl"), {
      ...opts,
      labels: controller.labels,
    });
    namespaces.push(app.namespace);
    await eventually(
      `ManagedApp ${app.namespace}/demo Ready`,
      async () => {
        const a = await admin.get({
          apiVersion: API,
          kind: "ManagedApp",
          namespace: app.namespace,
          name: "demo",
        });
        return isReadyNow(a) ? a : undefined;
      },
      240_000,
    );
    return app;
  }

  async function upgrade(ns: string, name: string, spec: Record<string, unknown>) {
    return admin.create({
      apiVersion: API,
      kind: "UpgradeRequest",
      metadata: { name, namespace: ns, labels: { ...controller.labels } },
      spec: { managedAppRef: { name: "demo" }, ...spec },
    });
  }

  const finished = (ns: string, kind: "UpgradeRequest" | "RollbackRequest", name: string) =>
    requestFinished(
      admin,
      { apiVersion: API, kind, namespace: ns, name },
      { alive, timeoutMs: 300_000 },
    );

  async function names(ns: string, kind: "UpgradeRequest" | "RollbackRequest"): Promise<string[]> {
    const list = await admin.list(API, kind, { namespace: ns });
    return list.items.map((o) => o.metadata.name ?? "").sort();
  }

  it("deletes the oldest finished requests beyond the limits, never one still running or one a rollback may undo", async () => {
    const app = await demoApp({
      prefix: "hist-prune",
      spec: { requestHistory: { maxCount: 2, maxDryRunCount: 1 }, timeouts: { scaleDown: "10m" } },
    });
    const ns = app.namespace;
    // Two dry runs, then three real requests refused at Plan (no such version), one at a time.
    for (const n of [1, 2]) {
      await upgrade(ns, `c-plan-${n}`, { targetVersion: { chart: "1.1.0" }, dryRun: true });
      const r = await finished(ns, "UpgradeRequest", `c-plan-${n}`);
      expect(complete(r)?.reason, complete(r)?.message).toBe("DryRunSucceeded");
    }
    for (const n of [1, 2, 3]) {
      await upgrade(ns, `b-refused-${n}`, { targetVersion: { chart: "9.9.9" } });
      const r = await finished(ns, "UpgradeRequest", `b-refused-${n}`);
      expect(complete(r)?.reason).toBe("PlanFailed");
    }
    // The newest two real ones and the newest dry run stay.
    const leaves = async (expected: string[]) =>
      eventually(
        `the app's requests to be ${expected.join(", ")}`,
        async () => {
          alive();
          const left = await names(ns, "UpgradeRequest");
          return JSON.stringify(left) === JSON.stringify(expected) ? left : undefined;
        },
        120_000,
      );
    await leaves(["b-refused-2", "b-refused-3", "c-plan-2"]);

    // A real upgrade held at ScaleDown (a pod that does not go until its finalizer is removed),
    // and another request waiting for the app meanwhile: neither has finished, so neither counts
    // nor goes, through every pass the upgrade's progress causes.
    const pod = { apiVersion: "v1", kind: "Pod", namespace: ns, name: "demo-db-0" };
    await admin.mergePatch(pod, { metadata: { finalizers: [HOLD] } });
    onTestFinished(async () => {
      await admin.mergePatch(pod, { metadata: { finalizers: null } }).catch(() => undefined);
    });
    await upgrade(ns, "a-to-110", { targetVersion: { chart: "1.1.0" } });
    await eventually(
      "a-to-110 at ScaleDown",
      async () => {
        alive();
        const r = await admin.get(upgradeRef(ns, "a-to-110"));
        return (r["status"] as { step?: { name?: string } } | undefined)?.step?.name === "ScaleDown"
          ? r
          : undefined;
      },
      180_000,
    );
    await upgrade(ns, "b-refused-4", { targetVersion: { chart: "9.9.9" } });
    await eventually(
      "b-refused-4 waiting for the app",
      async () => {
        const r = await admin.get(upgradeRef(ns, "b-refused-4"));
        return conditions(r).some((c) => c.reason === "Waiting") ? r : undefined;
      },
      120_000,
    );
    expect(await names(ns, "UpgradeRequest")).toEqual([
      "a-to-110",
      "b-refused-2",
      "b-refused-3",
      "b-refused-4",
      "c-plan-2",
    ]);
    const running = await admin.get(upgradeRef(ns, "a-to-110"));
    expect(complete(running)?.status ?? "Unknown", "a-to-110 still running").toBe("Unknown");
    await admin.mergePatch(pod, { metadata: { finalizers: null } });

    const done = await finished(ns, "UpgradeRequest", "a-to-110");
    expect(complete(done)?.reason, complete(done)?.message).toBe("Succeeded");
    const steps = historyOf(done);
    expectedDowntimes.push(
      seconds(
        steps.find((s) => s.name === "ScaleDown")?.startedAt,
        steps.findLast((s) => s.name === "HealthCheck")?.completedAt,
      ),
    );
    await finished(ns, "UpgradeRequest", "b-refused-4");
    await upgrade(ns, "b-refused-5", { targetVersion: { chart: "9.9.9" } });
    await finished(ns, "UpgradeRequest", "b-refused-5");
    // a-to-110 is beyond the newest two now, but it is the upgrade a rollback would undo: it
    // stays, while the older refusals go.
    await leaves(["a-to-110", "b-refused-4", "b-refused-5", "c-plan-2"]);
    const events = await admin.list("events.k8s.io/v1", "Event", { namespace: ns });
    const notes = events.items
      .filter((e) => e["reason"] === "RequestsPruned")
      .map((e) => (typeof e["note"] === "string" ? e["note"] : ""));
    expect(notes.join("\n")).toContain("UpgradeRequest c-plan-1");
    expect(notes.join("\n")).toContain("UpgradeRequest b-refused-1");
  }, 600_000);

  it("records a failed upgrade's downtime until its rollback made the app healthy", async () => {
    const app = await demoApp({
      prefix: "hist-down",
      helmTimeout: "20s",
      spec: { autoRollback: true, timeouts: { health: "45s" } },
    });
    const ns = app.namespace;
    await upgrade(ns, "to-200", { targetVersion: { chart: "2.0.0" } });
    const up = await finished(ns, "UpgradeRequest", "to-200");
    expect(complete(up)?.reason, complete(up)?.message).toBe("RollbackTriggered");
    const rb = await finished(ns, "RollbackRequest", "to-200-rollback");
    expect(complete(rb)?.reason, complete(rb)?.message).toBe("Succeeded");
    const recovery = seconds(
      historyOf(up).find((s) => s.name === "ScaleDown")?.startedAt,
      historyOf(rb).findLast((s) => s.name === "HealthCheck" && s.reason === "Succeeded")
        ?.completedAt,
    );
    expect(recovery).toBeGreaterThan(0);
    expectedDowntimes.push(recovery);

    // The metric: the successful upgrade of the first case and this recovery, nothing else.
    const text = await controller.metrics();
    const sample = (name: string) =>
      Number(
        new RegExp(`^${name}\\{kind="UpgradeRequest"\\} (\\S+)$`, "m").exec(text)?.[1] ?? "NaN",
      );
    expect(sample("cairn_app_downtime_seconds_count")).toBe(expectedDowntimes.length);
    expect(sample("cairn_app_downtime_seconds_sum")).toBeCloseTo(
      expectedDowntimes.reduce((a, b) => a + b, 0),
      3,
    );

    // The plugin shows the same figure, and which rollback ended it.
    const json = await runCli(["history", "demo", "-n", ns, "-o", "json"]);
    expect(json.stderr).toBe("");
    const items = (
      JSON.parse(json.stdout) as {
        items: { name: string; downtimeSeconds: number | null; recoveredBy: string | null }[];
      }
    ).items;
    expect(items.find((i) => i.name === "to-200")).toMatchObject({
      downtimeSeconds: Math.round(recovery),
      recoveredBy: "to-200-rollback",
    });
    const table = await runCli(["history", "demo", "-n", ns, "--no-headers"]);
    const row = table.stdout.split("\n").find((l) => l.startsWith("to-200 "));
    expect(row?.split(/ {3,}/)[3]).toBe("RollbackTriggered");
    expect(row?.split(/ {3,}/)[5]).not.toBe("-");
  }, 600_000);
});
