import { describe, expect, it } from "vitest";
import { ManagedApp } from "../../../src/api/index.ts";
import {
  appNotification,
  forwardAppEvents,
  notifiedObject,
} from "../../../src/controllers/notifications.ts";
import { startedEvent } from "../../../src/controllers/request/runner.ts";
import type { KubeApi, KubeObject, ObjectRef } from "../../../src/kube/client.ts";
import { KubeError } from "../../../src/kube/errors.ts";
import type { RecordedEvent } from "../../../src/runtime/events.ts";
import { FluxNotifier, type FluxEvent } from "../../../src/runtime/flux-notifier.ts";

function app(spec: Record<string, unknown> = {}): ManagedApp {
  return ManagedApp.parse({
    apiVersion: "cairn.dev/v1alpha1",
    kind: "ManagedApp",
    metadata: { name: "shop", namespace: "team-a", uid: "u1" },
    spec: {
      gitPath: "apps/shop/release.yaml",
      kustomizationRef: { name: "apps" },
      ...spec,
    },
  });
}

const recorded: RecordedEvent = {
  regarding: {
    apiVersion: "cairn.dev/v1alpha1",
    kind: "ManagedApp",
    namespace: "team-a",
    name: "shop",
  },
  type: "Warning",
  reason: "RollbackTriggered",
  action: "Compensate",
  note: "UpgradeRequest up-1: FluxApplyFailed",
  at: new Date("2026-12-07T08:00:00.500Z"),
};

describe("notifiedObject", () => {
  it("is the app's HelmRelease when it has one, else its Kustomization, in the ref's namespace", () => {
    expect(notifiedObject(app())).toEqual({
      apiVersion: "kustomize.toolkit.fluxcd.io/v1",
      kind: "Kustomization",
      namespace: "team-a",
      name: "apps",
    });
    expect(
      notifiedObject(app({ helmReleaseRef: { name: "shop", namespace: "releases" } })),
    ).toEqual({
      apiVersion: "helm.toolkit.fluxcd.io/v2",
      kind: "HelmRelease",
      namespace: "releases",
      name: "shop",
    });
  });
});

describe("appNotification", () => {
  it("maps a Warning to error, names the app, and prefixes metadata with the object's group", () => {
    const e = appNotification(app({ helmReleaseRef: { name: "shop" } }), recorded, "cairn-0");
    expect(e).toEqual({
      involvedObject: {
        apiVersion: "helm.toolkit.fluxcd.io/v2",
        kind: "HelmRelease",
        namespace: "team-a",
        name: "shop",
      },
      severity: "error",
      timestamp: "2026-12-07T08:00:00Z",
      reason: "RollbackTriggered",
      message: "ManagedApp shop: UpgradeRequest up-1: FluxApplyFailed",
      metadata: {
        "helm.toolkit.fluxcd.io/managedapp": "team-a/shop",
        "helm.toolkit.fluxcd.io/action": "Compensate",
      },
      reportingController: "cairn",
      reportingInstance: "cairn-0",
    });
    expect(appNotification(app(), { ...recorded, type: "Normal" }, "x").severity).toBe("info");
  });
});

describe("startedEvent", () => {
  it("names the request and its versions", () => {
    expect(startedEvent("UpgradeRequest", "up-1", { from: "1.0.0", to: "1.1.0" })).toEqual({
      reason: "UpgradeStarted",
      message: "UpgradeRequest up-1: upgrade 1.0.0 → 1.1.0 started",
    });
    expect(startedEvent("RollbackRequest", "rb", undefined)).toEqual({
      reason: "RollbackStarted",
      message: "RollbackRequest rb: rollback started",
    });
  });
});

describe("forwardAppEvents", () => {
  function setUp(get: (ref: ObjectRef) => Promise<KubeObject>) {
    const posted: FluxEvent[] = [];
    const notifier = new FluxNotifier({
      url: "http://nc/",
      log: () => undefined,
      fetch: ((_u: string, init: RequestInit) => {
        posted.push(JSON.parse(init.body as string) as FluxEvent);
        return Promise.resolve(new Response(null, { status: 202 }));
      }) as typeof fetch,
    });
    const warnings: string[] = [];
    const reads: ObjectRef[] = [];
    const client = {
      get: (ref: ObjectRef) => {
        reads.push(ref);
        return get(ref);
      },
    } as unknown as KubeApi;
    const forward = forwardAppEvents({
      client,
      notifier,
      instance: "cairn-0",
      log: (_l, msg) => warnings.push(msg),
    });
    return { posted, warnings, reads, forward, notifier };
  }

  const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

  it("posts an Event on a ManagedApp about the app's Flux object, read when it happens", async () => {
    const t = setUp(() => Promise.resolve(app({ helmReleaseRef: { name: "shop" } }) as KubeObject));
    t.forward(recorded);
    await settle();
    await t.notifier.idle();
    expect(t.reads).toEqual([
      { apiVersion: "cairn.dev/v1alpha1", kind: "ManagedApp", namespace: "team-a", name: "shop" },
    ]);
    expect(t.posted.map((p) => [p.involvedObject.kind, p.reason])).toEqual([
      ["HelmRelease", "RollbackTriggered"],
    ]);
  });

  it("leaves Events on other objects in the cluster and skips a deleted app quietly", async () => {
    const t = setUp(() => Promise.reject(new KubeError("NotFound", "gone", 404)));
    t.forward({
      ...recorded,
      regarding: {
        apiVersion: "cairn.dev/v1alpha1",
        kind: "UpgradeRequest",
        namespace: "team-a",
        name: "up-1",
      },
    });
    t.forward(recorded);
    await settle();
    await t.notifier.idle();
    expect(t.reads).toHaveLength(1);
    expect(t.posted).toEqual([]);
    expect(t.warnings).toEqual([]);
  });

  it("logs an app it could not read", async () => {
    const t = setUp(() => Promise.reject(new Error("connection refused")));
    t.forward(recorded);
    await settle();
    expect(t.warnings).toEqual(["could not read a ManagedApp to notify about it"]);
  });
});
