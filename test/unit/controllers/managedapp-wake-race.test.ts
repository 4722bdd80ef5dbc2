// The ManagedApp module end to end over fake informers and the fake API, replaying the race of
// issue 19.3 step by step: the controller writes an app's first discovery summary (its workload
// lives in another namespace, so only that summary routes the workload's changes to the app);
// the workload turns ready before the app's informer has seen that write, so the change is
// routed by the old status and wakes nothing; then the informer sees the write. The app must end
// Ready=True at once, not at the next periodic resync.
import { afterEach, describe, expect, it } from "vitest";
import { API_VERSION, Kind } from "../../../src/api/index.ts";
import { buildManagedAppModule } from "../../../src/controllers/managedapp/module.ts";
import { WorkspacePool } from "../../../src/controllers/request/git-access.ts";
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

describe("ManagedApp wake routes and the app's own status write", () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });

  it("a readiness change that lands before the informer sees the app's write is not lost", async () => {
    const clock = new FakeClock();
    const api = new FakeObjectApi();
    const source = new PerKindSource();
    const app = api.seed({
      apiVersion: API_VERSION,
      kind: Kind.ManagedApp,
      metadata: { name: "web", namespace: "shop", generation: 1 },
      spec: { gitPath: "apps/web/release.yaml", kustomizationRef: { name: "apps" } },
    });
    source.items.set(Kind.ManagedApp, [app]);
    source.items.set("Kustomization", [kustomization()]);
    source.items.set("Deployment", [deployment(false, "10")]);

    const client = api as unknown as KubeClient;
    const module = buildManagedAppModule({
      client,
      clock,
      log: () => undefined,
      metrics: createMetrics({ processMetrics: false }),
      events: new EventRecorder({ client: api, clock, reportingInstance: "test" }),
      config: {
        allowCrossNamespaceRefs: false,
        workers: 1,
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
    const idle = () => {
      const s = queue.stats();
      return s.depth === 0 && s.inFlight === 0;
    };
    const writes = () => api.calls.filter((c) => c.op === "patchStatus").length;
    module.controller.start();

    // 1. The first pass: the Deployment is not ready; the summary now lists prod/web.
    await until("the first status write", () => writes() === 1 && idle());
    const written = api.peek(APP_REF);
    expect(readyOf(written)).toMatchObject({ status: "False" });
    expect(JSON.stringify(written?.["status"])).toContain('"namespace":"prod"');

    // 2. The Deployment turns ready while the informer still holds the app without a summary.
    await until("the watches are open", () => source.watches.size === module.informers.size);
    source.push("Deployment", { type: "MODIFIED", object: deployment(true, "11") });
    for (let i = 0; i < 10; i++) await flush();
    expect(writes()).toBe(1);

    // 3. The informer sees the app's own write.
    source.push(Kind.ManagedApp, { type: "MODIFIED", object: written as KubeObject });
    await until("the app is Ready", () => readyOf(api.peek(APP_REF))?.status === "True");
    await until("the queue is idle", idle);
    expect(writes()).toBe(2);
    // No periodic resync was needed: the fake clock never moved.
    expect(clock.now().toISOString()).toBe("2025-01-01T00:00:00.000Z");
  });
});
