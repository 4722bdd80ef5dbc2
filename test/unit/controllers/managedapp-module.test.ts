// The ManagedApp module end to end over fake informers and the fake API.
//
// A routine Flux reconcile (issue 19.1): kustomize-controller's Ready=Unknown/Reconciling=True
// pass over the revision it applied before wakes the app, and the pass writes nothing and records
// no Event; a new revision in flight shows at once.
//
// The race of issue 19.3, replayed step by step: the controller writes an app's first discovery summary (its workload
// lives in another namespace, so only that summary routes the workload's changes to the app);
// the workload turns ready before the app's informer has seen that write, so the change is
// routed by the old status and wakes nothing; then the informer sees the write. The app must end
// Ready=True at once, not at the next periodic resync.
//
// The race of issue 18.7: a readiness flap faster than the app's informer (Ready=False written,
// Ready again before the informer has seen that write) must end with Ready=True in the API.
import { afterEach, describe, expect, it } from "vitest";
import { API_VERSION, Kind } from "../../../src/api/index.ts";
import { buildManagedAppModule } from "../../../src/controllers/managedapp/module.ts";
import { WorkspacePool } from "../../../src/git/workspace-pool.ts";
import type {
  KubeClient,
  KubeObject,
  ListResult,
  WatchEvent,
  WatchOptions,
} from "../../../src/kube/client.ts";
import { createMetrics } from "../../../src/metrics.ts";
import { EventRecorder } from "../../../src/runtime/events.ts";
import { InformerFactory } from "../../../src/runtime/informer-factory.ts";
import type { WatchSource } from "../../../src/runtime/informer.ts";
import { flush, until } from "../../fakes/async.ts";
import { FakeClock } from "../../fakes/clock.ts";
import { FakeObjectApi } from "../../fakes/object-api.ts";
import { FakeWatch } from "../../fakes/watch-source.ts";
import { captured } from "../../fixtures/load.ts";

/** Lists answer per kind from what the test seeded; each kind's latest watch is the test's. */
class PerKindSource implements WatchSource {
  readonly items = new Map<string, KubeObject[]>();
  readonly watches = new Map<string, FakeWatch>();

  list(_apiVersion: string, kind: string): Promise<ListResult> {
    return Promise.resolve({ items: this.items.get(kind) ?? [], resourceVersion: "1" });
  }

  watch(apiVersion: string, kind: string, opts: WatchOptions = {}): AsyncIterable<WatchEvent> {
    const watch = new FakeWatch(apiVersion, kind, opts);
    this.watches.set(kind, watch);
    return watch.stream();
  }

  push(kind: string, event: WatchEvent): void {
    const watch = this.watches.get(kind);
    if (!watch) throw new Error(`no ${kind} watch`);
    watch.push(event);
  }
}

const APP_REF = { apiVersion: API_VERSION, kind: Kind.ManagedApp, namespace: "shop", name: "web" };

function kustomization(): KubeObject {
  const k = captured("kustomization.json");
  // The app's Deployment lives in namespace prod (a targetNamespace, say), not in the app's own.
  (k["status"] as { inventory: unknown }).inventory = {
    entries: [{ id: "prod_web_apps_Deployment", v: "v1" }],
  };
  return k;
}

function deployment(available: boolean, resourceVersion: string): KubeObject {
  const d = captured("deployment.json");
  Object.assign(d.metadata, { namespace: "prod", name: "web", resourceVersion });
  const ready = available ? 1 : 0;
  Object.assign(d["status"] as object, { readyReplicas: ready, availableReplicas: ready });
  return d;
}

const readyOf = (obj: KubeObject | undefined) =>
  (
    obj?.["status"] as
      { conditions?: { type: string; status: string; reason?: string }[] } | undefined
  )?.conditions?.find((c) => c.type === "Ready");

interface Seed {
  readonly kustomization: KubeObject;
  readonly deployment: KubeObject;
  /** Makes the app a HelmRelease app of this HelmRelease (shop/demo). */
  readonly helmRelease?: KubeObject;
}

/** The module over fake informers seeded with one app, its Kustomization and its Deployment. */
async function harness(seed: Seed, stops: (() => Promise<void>)[]) {
  const clock = new FakeClock();
  const api = new FakeObjectApi();
  const source = new PerKindSource();
  const app = api.seed({
    apiVersion: API_VERSION,
    kind: Kind.ManagedApp,
    metadata: { name: "web", namespace: "shop", generation: 1 },
    spec: {
      gitPath: "apps/web/release.yaml",
      kustomizationRef: { name: "apps" },
      ...(seed.helmRelease ? { helmReleaseRef: { name: "demo" } } : {}),
    },
  });
  source.items.set(Kind.ManagedApp, [app]);
  if (seed.helmRelease) source.items.set("HelmRelease", [seed.helmRelease]);
  source.items.set("Kustomization", [seed.kustomization]);
  source.items.set("Deployment", [seed.deployment]);
  const module = buildManagedAppModule({
    client: api as unknown as KubeClient,
    clock,
    log: () => undefined,
    metrics: createMetrics({ processMetrics: false }),
    events: new EventRecorder({ client: api, clock, reportingInstance: "test" }),
    config: {
      allowCrossNamespaceRefs: false,
      workers: 1,
      maxAutoUpgrades: 1,
      suspendedWarningAfterMs: 3_600_000,
      gitCacheDir: "/nonexistent",
    },
    informers: new InformerFactory({ source, clock }),
    gitWorkspaces: new WorkspacePool(),
  });
  const abort = new AbortController();
  const running = [...module.informers.values()].map((i) => i.run(abort.signal));
  stops.push(async () => {
    abort.abort();
    await module.controller.shutdown(1_000);
    await Promise.all(running);
  });
  for (const i of module.informers.values()) await i.waitForSync(abort.signal);
  const queue = module.controller.queue;
  module.controller.start();
  await until("the watches are open", () => source.watches.size === module.informers.size);
  return {
    clock,
    api,
    source,
    idle: () => {
      const s = queue.stats();
      return s.depth === 0 && s.inFlight === 0;
    },
    /** Keys added to the queue so far: each wake-up of the app. */
    passes: () => queue.stats().adds,
    writes: () => api.calls.filter((c) => c.op === "patchStatus").length,
    events: () =>
      api.calls
        .filter((c) => c.op === "create")
        .map((c) => c.body as { type?: string; reason?: string })
        .map((e) => `${e.type ?? ""} ${e.reason ?? ""}`),
  };
}

describe("ManagedApp wake routes and the app's own status write", () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });

  it("a readiness change that lands before the informer sees the app's write is not lost", async () => {
    const h = await harness(
      { kustomization: kustomization(), deployment: deployment(false, "10") },
      stops,
    );

    // 1. The first pass: the Deployment is not ready; the summary now lists prod/web.
    await until("the first status write", () => h.writes() === 1 && h.idle());
    const written = h.api.peek(APP_REF);
    expect(readyOf(written)).toMatchObject({ status: "False" });
    expect(JSON.stringify(written?.["status"])).toContain('"namespace":"prod"');

    // 2. The Deployment turns ready while the informer still holds the app without a summary.
    h.source.push("Deployment", { type: "MODIFIED", object: deployment(true, "11") });
    for (let i = 0; i < 10; i++) await flush();
    expect(h.writes()).toBe(1);

    // 3. The informer sees the app's own write.
    h.source.push(Kind.ManagedApp, { type: "MODIFIED", object: written as KubeObject });
    await until("the app is Ready", () => readyOf(h.api.peek(APP_REF))?.status === "True");
    await until("the queue is idle", h.idle);
    expect(h.writes()).toBe(2);
    // No periodic resync was needed: the fake clock never moved.
    expect(h.clock.now().toISOString()).toBe("2025-01-01T00:00:00.000Z");
  });

  // The informer's copy of the app lags behind the controller's own write: a pass that starts
  // from it must not take that copy's status for what the API holds, or a change back to what
  // the copy shows writes nothing and the API keeps the older verdict until the periodic resync.
  it("a pass that starts from a copy older than its own write still writes the change back", async () => {
    const h = await harness(
      { kustomization: kustomization(), deployment: deployment(true, "10") },
      stops,
    );
    await until("the first status write", () => h.writes() === 1 && h.idle());
    const first = h.api.peek(APP_REF) as KubeObject;
    expect(readyOf(first)).toMatchObject({ status: "True" });
    h.source.push(Kind.ManagedApp, { type: "MODIFIED", object: first });
    await until("the echo handled", h.idle);

    // The Deployment goes unready: Ready=False is written, the informer does not see it yet.
    h.source.push("Deployment", { type: "MODIFIED", object: deployment(false, "11") });
    await until(
      "Ready=False written",
      () => readyOf(h.api.peek(APP_REF))?.status === "False" && h.idle(),
    );
    const before = h.writes();

    // Ready again before the informer caught up: the API must say True again.
    h.source.push("Deployment", { type: "MODIFIED", object: deployment(true, "12") });
    await until("the queue is idle", h.idle);
    for (let i = 0; i < 10; i++) await flush();
    expect(readyOf(h.api.peek(APP_REF))).toMatchObject({ status: "True" });
    expect(h.writes()).toBe(before + 1);
  });
});

/** The Kustomization as kustomize-controller writes it at the start of a reconcile of `revision`. */
function reconciling(revision: string, resourceVersion: string): KubeObject {
  const k = kustomization();
  Object.assign(k.metadata, { resourceVersion });
  const status = k["status"] as { conditions: unknown[] };
  status.conditions = [
    {
      type: "Ready",
      status: "Unknown",
      reason: "Progressing",
      message: "Reconciliation in progress",
      observedGeneration: 1,
      lastTransitionTime: "2026-11-25T11:45:36Z",
    },
    {
      type: "Reconciling",
      status: "True",
      reason: "Progressing",
      message: `Fetching manifests for revision ${revision} with a timeout of 2m0s`,
      observedGeneration: 1,
      lastTransitionTime: "2026-11-25T11:45:36Z",
    },
  ];
  return k;
}

describe("a Flux reconcile seen by the ManagedApp controller", () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });

  it("of the applied revision writes nothing and records no Event; a new revision shows at once", async () => {
    const h = await harness(
      { kustomization: kustomization(), deployment: deployment(true, "10") },
      stops,
    );
    await until("the app Ready", () => h.writes() === 1 && h.idle());
    expect(readyOf(h.api.peek(APP_REF))).toMatchObject({ status: "True" });
    h.source.push(Kind.ManagedApp, { type: "MODIFIED", object: h.api.peek(APP_REF) as KubeObject });
    await until("the echo handled", h.idle);
    const eventsBefore = h.events();
    expect(eventsBefore).toEqual(["Normal Ready"]);

    // The routine pass: Ready=Unknown/Reconciling=True over the applied revision, then Ready again.
    const passes = h.passes();
    const applied = (kustomization()["status"] as { lastAppliedRevision: string })
      .lastAppliedRevision;
    h.source.push("Kustomization", { type: "MODIFIED", object: reconciling(applied, "600") });
    await until("the routine reconcile seen", () => h.passes() > passes && h.idle());
    const back = kustomization();
    Object.assign(back.metadata, { resourceVersion: "601" });
    h.source.push("Kustomization", { type: "MODIFIED", object: back });
    await until("the reconcile's end seen", () => h.passes() > passes + 1 && h.idle());
    for (let i = 0; i < 5; i++) await flush();
    expect(h.writes()).toBe(1);
    expect(h.events()).toEqual(eventsBefore);

    // A new revision in flight is progressing: Ready=False and a Warning, at once.
    const next = "main@sha1:9d1e0b7a2a8f4c7b1e3d5f6a7b8c9d0e1f2a3b4c";
    h.source.push("Kustomization", { type: "MODIFIED", object: reconciling(next, "602") });
    await until("Ready=False", () => readyOf(h.api.peek(APP_REF))?.status === "False");
    expect(readyOf(h.api.peek(APP_REF))).toMatchObject({ reason: "KustomizationProgressing" });
    await until("the Warning", () => h.events().includes("Warning KustomizationProgressing"));
  });
});

/** The HelmRelease as helm-controller leaves it once it attempted `revision`. */
function attempted(helmRelease: KubeObject, revision: string): KubeObject {
  const hr = structuredClone(helmRelease);
  Object.assign(hr.metadata, { resourceVersion: `hr-${revision}` });
  Object.assign(hr["status"] as object, { lastAttemptedRevision: revision });
  return hr;
}

/** An UpgradeRequest of the app "web" with these conditions (type → status). */
function upgradeRequest(
  conditions: Record<string, string>,
  resourceVersion: string,
  dryRun = false,
): KubeObject {
  return {
    apiVersion: API_VERSION,
    kind: Kind.UpgradeRequest,
    metadata: {
      name: "web-upgrade",
      namespace: "shop",
      resourceVersion,
      labels: { "cairn.dev/managed-app": "web" },
    },
    spec: { managedAppRef: { name: "web" }, targetVersion: { chart: "1.2.0" }, dryRun },
    status: {
      conditions: Object.entries(conditions).map(([type, status]) => ({
        type,
        status,
        reason: "Succeeded",
        message: "",
        lastTransitionTime: "2025-01-01T00:00:00Z",
      })),
    },
  };
}

describe("a request that holds the app", () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });

  it("is shown once; nothing is written, recorded or read from Helm's storage until it ends", async () => {
    const helmRelease = captured("helmrelease.json");
    const h = await harness(
      { kustomization: kustomization(), deployment: deployment(true, "10"), helmRelease },
      stops,
    );
    const secretLists = () =>
      h.api.calls.filter((c) => c.op === "list" && c.key.startsWith("v1/Secret/")).length;
    // Its version is read from Git, which this harness has not: that reading ends in a
    // condition of its own, in one or two writes.
    await until("the first status write", () => h.writes() >= 1 && h.idle());
    h.source.push(Kind.ManagedApp, { type: "MODIFIED", object: h.api.peek(APP_REF) as KubeObject });
    await until("the echo handled", h.idle);
    const before = structuredClone(h.api.peek(APP_REF)?.["status"]) as Record<string, unknown>;
    const readyBefore = readyOf(h.api.peek(APP_REF));
    expect(readyBefore?.reason).not.toBe("OperationInProgress");
    const listsBefore = secretLists();
    expect(listsBefore).toBeGreaterThan(0);

    // Waiting in Admit, or a dry run: the app is not held.
    h.source.push(Kind.UpgradeRequest, {
      type: "ADDED",
      object: upgradeRequest({ Admitted: "True" }, "20", true),
    });
    h.source.push(Kind.UpgradeRequest, {
      type: "MODIFIED",
      object: upgradeRequest({ Admitted: "False" }, "21"),
    });
    await until("the queue is idle", h.idle);
    for (let i = 0; i < 5; i++) await flush();
    expect(readyOf(h.api.peek(APP_REF))).toEqual(readyBefore);

    // Admitted: one write says so.
    h.source.push(Kind.UpgradeRequest, {
      type: "MODIFIED",
      object: upgradeRequest({ Admitted: "True" }, "22"),
    });
    await until(
      "Ready=Unknown",
      () => readyOf(h.api.peek(APP_REF))?.reason === "OperationInProgress" && h.idle(),
    );
    const held = h.api.peek(APP_REF) as KubeObject;
    expect(readyOf(held)).toMatchObject({ status: "Unknown" });
    expect(JSON.stringify(readyOf(held))).toContain("UpgradeRequest web-upgrade");
    // FluxSuspended says the same in that write, before the request suspends anything.
    const fluxSuspended = (obj: KubeObject | undefined) =>
      (
        obj?.["status"] as
          { conditions?: { type: string; status: string; reason: string }[] } | undefined
      )?.conditions?.find((c) => c.type === "FluxSuspended");
    expect(fluxSuspended(held)).toMatchObject({
      status: "Unknown",
      reason: "OperationInProgress",
    });
    h.source.push(Kind.ManagedApp, { type: "MODIFIED", object: held });
    await until("the echo handled", h.idle);
    const writes = h.writes();
    const events = h.events();

    // The request suspends the Kustomization and stops the workload, and Flux applies a new
    // revision and helm-controller starts an upgrade (a change that would list the release
    // Secrets): none of it is read or written.
    const passes = h.passes();
    const suspendedK = kustomization();
    Object.assign(suspendedK.metadata, { resourceVersion: "601" });
    (suspendedK["spec"] as { suspend?: boolean }).suspend = true;
    h.source.push("Kustomization", { type: "MODIFIED", object: suspendedK });
    h.source.push("Deployment", { type: "MODIFIED", object: deployment(false, "11") });
    // The HelmRelease's new chart version is applied: the app's version stays until the end.
    const bumped = attempted(helmRelease, "1.2.0");
    (bumped["spec"] as { chart: { spec: { version: string } } }).chart.spec.version = "1.2.0";
    h.source.push("HelmRelease", { type: "MODIFIED", object: bumped });
    const applying = reconciling("main@sha1:9d1e0b7a2a8f4c7b1e3d5f6a7b8c9d0e1f2a3b4c", "602");
    (applying["spec"] as { suspend?: boolean }).suspend = true;
    h.source.push("Kustomization", { type: "MODIFIED", object: applying });
    await until("the changes seen", () => h.passes() > passes && h.idle());
    for (let i = 0; i < 5; i++) await flush();
    expect(h.writes()).toBe(writes);
    expect(h.events()).toEqual(events);
    expect(secretLists()).toBe(listsBefore);
    expect((h.api.peek(APP_REF)?.["status"] as { currentVersion?: string }).currentVersion).toBe(
      (before as { currentVersion?: string }).currentVersion,
    );
    const status = h.api.peek(APP_REF)?.["status"] as Record<string, unknown>;
    expect(status["discovery"]).toEqual(before["discovery"]);

    // The request ends: the next pass checks the app in full again, with no Event of its own
    // (the request's outcome Event is on the app).
    h.source.push("Deployment", { type: "MODIFIED", object: deployment(true, "12") });
    const back = kustomization();
    Object.assign(back.metadata, { resourceVersion: "603" });
    h.source.push("Kustomization", { type: "MODIFIED", object: back });
    h.source.push("HelmRelease", { type: "MODIFIED", object: attempted(helmRelease, "1.2.1") });
    h.source.push(Kind.UpgradeRequest, {
      type: "MODIFIED",
      object: upgradeRequest({ Admitted: "True", Complete: "True" }, "23"),
    });
    await until(
      "the app checked again",
      () => readyOf(h.api.peek(APP_REF))?.reason !== "OperationInProgress" && h.idle(),
    );
    expect(readyOf(h.api.peek(APP_REF))).toEqual(readyBefore);
    expect(fluxSuspended(h.api.peek(APP_REF))).toMatchObject({
      status: "False",
      reason: "NotSuspended",
    });
    expect(secretLists()).toBeGreaterThan(listsBefore);
    expect(h.events()).toEqual(events);
  });
});

describe("a Flux object another app's request holds", () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });

  const suspendedOf = (obj: KubeObject | undefined) =>
    (
      obj?.["status"] as { conditions?: { type: string; reason?: string }[] } | undefined
    )?.conditions?.find((c) => c.type === "FluxSuspended");

  it("explains the suspend while that request runs, and no longer once it ends", async () => {
    const h = await harness(
      { kustomization: kustomization(), deployment: deployment(true, "10") },
      stops,
    );
    await until("the first status write", () => h.writes() === 1 && h.idle());
    h.source.push(Kind.ManagedApp, { type: "MODIFIED", object: h.api.peek(APP_REF) as KubeObject });
    await until("the echo handled", h.idle);

    // App "other" shares the Kustomization; its request suspends it and lists itself as holder.
    const other: KubeObject = {
      ...upgradeRequest({ Admitted: "True" }, "30"),
      metadata: {
        name: "other-up",
        namespace: "shop",
        uid: "u-other",
        resourceVersion: "30",
        labels: { "cairn.dev/managed-app": "other" },
      },
    };
    Object.assign(other["status"] as object, {
      suspended: [{ kind: "Kustomization", namespace: "shop", name: "apps" }],
    });
    h.source.push(Kind.UpgradeRequest, { type: "ADDED", object: other });
    const held = kustomization();
    Object.assign(held.metadata, {
      resourceVersion: "700",
      annotations: {
        "cairn.dev/suspended-by": JSON.stringify([
          {
            kind: "UpgradeRequest",
            namespace: "shop",
            name: "other-up",
            uid: "u-other",
            upgrade: "other-up",
          },
        ]),
      },
    });
    (held["spec"] as { suspend?: boolean }).suspend = true;
    h.source.push("Kustomization", { type: "MODIFIED", object: held });
    await until(
      "FluxSuspended names the other app's request",
      () => suspendedOf(h.api.peek(APP_REF))?.reason === "OperationInProgress" && h.idle(),
    );
    expect(JSON.stringify(suspendedOf(h.api.peek(APP_REF)))).toContain("UpgradeRequest other-up");
    expect(h.events().filter((e) => e.startsWith("Warning"))).toEqual([]);
    h.source.push(Kind.ManagedApp, { type: "MODIFIED", object: h.api.peek(APP_REF) as KubeObject });
    await until("the echo handled", h.idle);

    // The request ends and leaves the object suspended (a freeze): only the request changed.
    const ended = structuredClone(other);
    Object.assign(ended.metadata, { resourceVersion: "31" });
    (ended["status"] as { conditions: unknown[] }).conditions.push({
      type: "Complete",
      status: "False",
      reason: "RestoreIncomplete",
      message: "",
      lastTransitionTime: "2025-01-01T00:00:00Z",
    });
    h.source.push(Kind.UpgradeRequest, { type: "MODIFIED", object: ended });
    await until(
      "FluxSuspended back to a suspend nobody explains",
      () => suspendedOf(h.api.peek(APP_REF))?.reason === "Suspended" && h.idle(),
    );
  });
});
