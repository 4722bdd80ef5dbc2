// Shards (docs/sharding.md) on the full test bed: two real controller processes side by side, as
// the chart's sharding.shards renders them: a main one that takes every app outside shard "b"
// ("sharding.cairn.dev/key notin (b)") and shard b ("sharding.cairn.dev/key=b"), each with its
// own Lease. Both also select this file's apps (cairn.dev/test), as every e2e controller does.
// Who acted is read from the Events each process records (reportingInstance is its identity)
// and from its metrics, and shown by stopping shard b: its requests wait, the others go on.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { KubeClient, KubeObject } from "../../src/kube/client.ts";
import { LocalCairn } from "../../testbed/src/cairn.ts";
import { setUpDemoApp } from "../support/demo-app.ts";
import { deleteNamespace, eventually, testClient } from "../support/kube.ts";
import { conditions, isReadyNow } from "../support/objects.ts";

const API = "cairn.dev/v1alpha1";
const KEY = "sharding.cairn.dev/key";
const TEST_LABELS = { "cairn.dev/test": "cairn-shards" };

describe("shards", () => {
  const admin: KubeClient = testClient();
  const git = inject("git");
  let main: LocalCairn;
  let shardB: LocalCairn;
  const prepared: LocalCairn[] = [];
  let nsA = "";
  let nsB = "";

  const appRef = (namespace: string) => ({
    apiVersion: API,
    kind: "ManagedApp",
    namespace,
    name: "demo",
  });
  const requestRef = (namespace: string, name: string) => ({
    apiVersion: API,
    kind: "UpgradeRequest",
    namespace,
    name,
  });

  async function request(
    namespace: string,
    name: string,
    spec: Record<string, unknown>,
    labels: Record<string, string> = {},
  ): Promise<void> {
    await admin.create({
      apiVersion: API,
      kind: "UpgradeRequest",
      metadata: { name, namespace, labels },
      spec: { managedAppRef: { name: "demo" }, ...spec },
    });
  }

  const complete = (r: KubeObject) => conditions(r).find((c) => c.type === "Complete");

  async function finished(namespace: string, name: string): Promise<KubeObject> {
    return eventually(
      `UpgradeRequest ${namespace}/${name} to finish`,
      async () => {
        for (const c of [main, shardB]) {
          if (c.process && !c.process.running)
            throw new Error(`a controller exited:\n${c.logTail()}`);
        }
        const r = await admin.get(requestRef(namespace, name));
        const done = complete(r);
        return done && done.status !== "Unknown" ? r : undefined;
      },
      300_000,
    );
  }

  /** The controllers (reportingInstance) that recorded Events about an object. */
  async function reporters(namespace: string, kind: string, name: string): Promise<string[]> {
    const { items } = await admin.list("events.k8s.io/v1", "Event", { namespace });
    return [
      ...new Set(
        items
          .filter((e) => {
            const regarding = e["regarding"] as { kind?: string; name?: string };
            return regarding.kind === kind && regarding.name === name;
          })
          .map((e) => String(e["reportingInstance"])),
      ),
    ].sort();
  }

  /** reporters, once there are any: the recorder writes Events after the status they tell of. */
  const reportersOnce = (namespace: string, kind: string, name: string) =>
    eventually(`Events about ${kind} ${namespace}/${name}`, async () => {
      const found = await reporters(namespace, kind, name);
      return found.length > 0 ? found : undefined;
    });

  /** The apps (namespace/name) a controller's cairn_app_info reports. */
  async function appsIn(controller: LocalCairn): Promise<string[]> {
    const text = await controller.metrics();
    return [...text.matchAll(/^cairn_app_info\{([^}]*)\}/gm)]
      .map((m) => {
        const label = (name: string) => new RegExp(`\\b${name}="([^"]*)"`).exec(m[1] ?? "")?.[1];
        return `${label("namespace") ?? ""}/${label("name") ?? ""}`;
      })
      .filter((app) => app.startsWith("sha-") || app.startsWith("shb-"))
      .sort();
  }

  beforeAll(async () => {
    if (!git) throw new Error("the e2e tier needs the full test bed");
    const clusterKubeconfig = inject("kubeconfig");
    // Each in a namespace of its own, so each holds a Lease of its own (the chart puts shards
    // in one namespace with Leases named apart; the shipped RBAC here names one Lease).
    main = await LocalCairn.prepare({
      admin,
      clusterKubeconfig,
      suffix: "-shards",
      labels: TEST_LABELS,
      selector: `${KEY} notin (b)`,
      leaderElect: true,
    });
    shardB = await LocalCairn.prepare({
      admin,
      clusterKubeconfig,
      suffix: "-shards-b",
      labels: TEST_LABELS,
      selector: `${KEY}=b`,
      leaderElect: true,
    });
    prepared.push(main, shardB);
    const helmRepoUrl = inject("helmRepoUrl");
    const [a, b] = await Promise.all([
      setUpDemoApp(admin, git, helmRepoUrl, {
        prefix: "sha",
        helmTimeout: "20s",
        labels: TEST_LABELS,
      }),
      setUpDemoApp(admin, git, helmRepoUrl, {
        prefix: "shb",
        helmTimeout: "20s",
        labels: { ...TEST_LABELS, [KEY]: "b" },
      }),
    ]);
    nsA = a.namespace;
    nsB = b.namespace;
    await Promise.all([main.start(), shardB.start()]);
    for (const ns of [nsA, nsB]) {
      await eventually(
        `the ManagedApp in ${ns} Ready`,
        async () => (isReadyNow(await admin.get(appRef(ns))) ? true : undefined),
        240_000,
      );
    }
  }, 600_000);

  afterAll(async () => {
    for (const c of prepared) await c.cleanup();
    for (const ns of [nsA, nsB]) if (ns) await deleteNamespace(admin, ns);
  });

  it("runs each shard under a Lease of its own", async () => {
    for (const c of [main, shardB]) {
      const lease = await admin.get({
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        namespace: c.namespace,
        name: "cairn-controller",
      });
      expect((lease["spec"] as { holderIdentity?: string }).holderIdentity).toBe(c.identity);
    }
  });

  it("each controller reconciles only the ManagedApps of its shard", async () => {
    expect(await appsIn(main)).toEqual([`${nsA}/demo`]);
    expect(await appsIn(shardB)).toEqual([`${nsB}/demo`]);
    expect(await reportersOnce(nsA, "ManagedApp", "demo")).toEqual([main.identity]);
    expect(await reportersOnce(nsB, "ManagedApp", "demo")).toEqual([shardB.identity]);
  });

  it("upgrades in both shards complete, each handled only by its app's shard", async () => {
    await request(nsA, "to-110", { targetVersion: { chart: "1.1.0" } });
    await request(nsB, "to-110", { targetVersion: { chart: "1.1.0" } });
    const [a, b] = await Promise.all([finished(nsA, "to-110"), finished(nsB, "to-110")]);
    expect(complete(a)?.reason, complete(a)?.message).toBe("Succeeded");
    expect(complete(b)?.reason, complete(b)?.message).toBe("Succeeded");
    expect(await reportersOnce(nsA, "UpgradeRequest", "to-110")).toEqual([main.identity]);
    expect(await reportersOnce(nsB, "UpgradeRequest", "to-110")).toEqual([shardB.identity]);
    // The owner copies its selector's labels from the app: the request names its shard.
    expect(b.metadata.labels).toMatchObject({ ...TEST_LABELS, [KEY]: "b" });
    expect(a.metadata.labels).toMatchObject(TEST_LABELS);
    expect(a.metadata.labels).not.toHaveProperty(KEY);
  });

  it("a request for a shard-b app waits while shard b is down, though its own labels match the main controller", async () => {
    await shardB.stop();
    // Its labels alone match the main controller's selector (no shard key): only its app says
    // it belongs to shard b.
    await request(nsB, "dry-b", { targetVersion: { chart: "2.0.0" }, dryRun: true }, TEST_LABELS);
    // A request created after it, which the main controller finishes: by then it has seen
    // dry-b too (one watch, in order) and left it alone.
    await request(nsA, "dry-a", { targetVersion: { chart: "2.0.0" }, dryRun: true });
    expect(complete(await finished(nsA, "dry-a"))?.reason).toBe("DryRunSucceeded");
    const waiting = await admin.get(requestRef(nsB, "dry-b"));
    expect(waiting["status"]).toBeUndefined();
    expect(waiting.metadata["finalizers"]).toBeUndefined();
    expect(waiting.metadata.labels).not.toHaveProperty(KEY);
    expect(await reporters(nsB, "UpgradeRequest", "dry-b")).toEqual([]);

    await shardB.start();
    const done = await finished(nsB, "dry-b");
    expect(complete(done)?.reason, complete(done)?.message).toBe("DryRunSucceeded");
    expect(await reportersOnce(nsB, "UpgradeRequest", "dry-b")).toEqual([shardB.identity]);
    expect(done.metadata.labels).toMatchObject({ [KEY]: "b" });
  });

  it("a request for an app that does not exist is answered by the one controller its labels select", async () => {
    const ghost = { managedAppRef: { name: "no-such-app" }, targetVersion: { chart: "2.0.0" } };
    await request(nsA, "ghost-main", ghost, TEST_LABELS);
    await request(nsA, "ghost-b", ghost, { ...TEST_LABELS, [KEY]: "b" });
    for (const [name, owner] of [
      ["ghost-main", main],
      ["ghost-b", shardB],
    ] as const) {
      const r = await finished(nsA, name);
      expect(complete(r)?.reason).toBe("AppNotFound");
      expect(complete(r)?.message).toContain("spec.managedAppRef.name");
      expect(await reportersOnce(nsA, "UpgradeRequest", name)).toEqual([owner.identity]);
    }
  });

  it("moving an idle app to shard b hands it, and its next request, to shard b", async () => {
    // What `kubectl label managedapp demo sharding.cairn.dev/key=b --overwrite` does.
    await admin.mergePatch(appRef(nsA), { metadata: { labels: { [KEY]: "b" } } });
    await eventually("shard b to report the moved app", async () =>
      (await appsIn(shardB)).includes(`${nsA}/demo`) ? true : undefined,
    );
    await eventually("the main controller to drop it", async () =>
      (await appsIn(main)).includes(`${nsA}/demo`) ? undefined : true,
    );
    await request(nsA, "after-move", { targetVersion: { chart: "2.0.0" }, dryRun: true });
    const r = await finished(nsA, "after-move");
    expect(complete(r)?.reason, complete(r)?.message).toBe("DryRunSucceeded");
    expect(await reportersOnce(nsA, "UpgradeRequest", "after-move")).toEqual([shardB.identity]);
    expect(r.metadata.labels).toMatchObject({ [KEY]: "b" });
  });

  it("an app moved while its request runs: the new shard resumes the request from its status", async () => {
    // Back to the main controller (what removing the label does), idle.
    await admin.jsonPatch(appRef(nsA), [
      { op: "remove", path: `/metadata/labels/${KEY.replace("/", "~1")}` },
    ]);
    await eventually("the main controller to report the app again", async () =>
      (await appsIn(main)).includes(`${nsA}/demo`) ? true : undefined,
    );
    // The main controller dies mid-request, right after the snapshots (Flux suspended, the
    // workloads stopped), so the two controllers never run a pass at the same time.
    await main.stop();
    await main.start(["--failpoint=UpgradeRequest/Snapshot"]);
    await request(nsA, "mid-move", { targetVersion: { chart: "1.0.0" }, allowDowngrade: true });
    await main.exited(240_000);
    expect(main.logTail()).toContain('"failpoint":"UpgradeRequest/Snapshot"');
    await main.stop();
    const midway = await admin.get(requestRef(nsA, "mid-move"));
    expect((midway["status"] as { step?: { name?: string } }).step?.name).toBe("Snapshot");

    await admin.mergePatch(appRef(nsA), { metadata: { labels: { [KEY]: "b" } } });
    const r = await finished(nsA, "mid-move");
    expect(complete(r)?.reason, complete(r)?.message).toBe("Succeeded");
    // Both wrote Events about it: the main controller up to its crash, shard b from then on.
    expect(await reportersOnce(nsA, "UpgradeRequest", "mid-move")).toEqual(
      [main.identity, shardB.identity].sort(),
    );
    expect(r.metadata.labels).toMatchObject({ [KEY]: "b" });
  });
});
