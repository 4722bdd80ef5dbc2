import { describe, expect, it } from "vitest";
import { ManagedApp } from "../../../src/api/managedapp.ts";
import {
  pruneRequests,
  requestsOfApp,
} from "../../../src/controllers/managedapp/prune-requests.ts";
import type { KubeObject } from "../../../src/kube/client.ts";
import { KubeError } from "../../../src/kube/errors.ts";
import { FakeObjectApi } from "../../fakes/object-api.ts";
import { fakeWorld } from "../../fakes/world.ts";

const API = "cairn.dev/v1alpha1";
const NS = "shop";

const done = (reason: string, status: "True" | "False" = "True") => ({
  conditions: [
    { type: "Complete", status, reason, message: "", lastTransitionTime: "2026-01-01T00:00:00Z" },
  ],
});

function request(
  kind: "UpgradeRequest" | "RollbackRequest",
  name: string,
  minute: number,
  opts: {
    app?: string;
    label?: string;
    spec?: Record<string, unknown>;
    status?: unknown;
    auto?: boolean;
  } = {},
): KubeObject {
  return {
    apiVersion: API,
    kind,
    metadata: {
      name,
      namespace: NS,
      creationTimestamp: `2026-01-01T10:${String(minute).padStart(2, "0")}:00Z`,
      ...(opts.label || opts.auto
        ? {
            labels: {
              ...(opts.label ? { "cairn.dev/managed-app": opts.label } : {}),
              ...(opts.auto ? { "cairn.dev/auto-update": "true" } : {}),
            },
          }
        : {}),
    },
    spec:
      kind === "UpgradeRequest"
        ? { managedAppRef: { name: opts.app ?? "web" }, ...opts.spec }
        : { ...opts.spec },
    ...(opts.status ? { status: opts.status } : {}),
  };
}

const app = (requestHistory: Record<string, number>) =>
  ManagedApp.parse({
    apiVersion: API,
    kind: "ManagedApp",
    metadata: { name: "web", namespace: NS },
    spec: { gitPath: "a.yaml", kustomizationRef: { name: "apps" }, requestHistory },
  });

function setUp(objects: KubeObject[]) {
  const api = new FakeObjectApi();
  for (const o of objects) api.seed(o);
  const world = fakeWorld(api);
  return { api, informers: { upgrades: world.upgrades, rollbacks: world.rollbacks } };
}

const left = (api: FakeObjectApi, kind: string) =>
  api
    .objects(API, kind)
    .map((o) => o.metadata.name)
    .sort();

describe("requestsOfApp", () => {
  it("finds the app's requests by label, by managedAppRef, and a rollback through its upgrade", () => {
    const { informers } = setUp([
      request("UpgradeRequest", "u1", 1, { label: "web" }),
      request("UpgradeRequest", "u2", 2),
      request("UpgradeRequest", "other", 3, { app: "db" }),
      request("RollbackRequest", "r1", 4, { spec: { upgradeRequestRef: { name: "u2" } } }),
      request("RollbackRequest", "r2", 5, {
        label: "web",
        spec: { upgradeRequestRef: { name: "gone" } },
      }),
      request("RollbackRequest", "r3", 6, { spec: { upgradeRequestRef: { name: "other" } } }),
    ]);
    expect(
      requestsOfApp(informers, NS, "web")
        .map((r) => r.metadata.name)
        .sort(),
    ).toEqual(["r1", "r2", "u1", "u2"]);
  });
});

describe("pruneRequests", () => {
  it("deletes the app's oldest finished requests, keeps other apps' and unfinished ones", async () => {
    const { api, informers } = setUp([
      request("UpgradeRequest", "u1", 1, { status: done("PlanFailed", "False") }),
      request("UpgradeRequest", "u2", 2, { status: done("PlanFailed", "False") }),
      request("UpgradeRequest", "u3", 3),
      request("UpgradeRequest", "u4", 4, { status: done("PlanFailed", "False") }),
      request("UpgradeRequest", "db1", 0, { app: "db", status: done("PlanFailed", "False") }),
      request("UpgradeRequest", "p1", 5, {
        spec: { dryRun: true },
        status: done("DryRunSucceeded"),
      }),
      request("UpgradeRequest", "p2", 6, {
        spec: { dryRun: true },
        status: done("DryRunSucceeded"),
      }),
    ]);
    const deleted = await pruneRequests(api, informers, app({ maxCount: 1, maxDryRunCount: 1 }));
    expect(deleted.map((d) => d.name)).toEqual(["u1", "u2", "p1"]);
    expect(left(api, "UpgradeRequest")).toEqual(["db1", "p2", "u3", "u4"]);
    // Each deletion names the uid the informer saw.
    expect(api.callsOf("delete").map((c) => c.body)).toEqual(deleted.map((d) => ({ uid: d.uid })));
  });

  it("skips a request gone or replaced since the informer saw it, and fails on other errors", async () => {
    const objects = [
      request("UpgradeRequest", "u1", 1, { status: done("PlanFailed", "False") }),
      request("UpgradeRequest", "u2", 2, { status: done("PlanFailed", "False") }),
    ];
    const { api, informers } = setUp(objects);
    api.failNext("delete", new KubeError("Conflict", "precondition failed", 409));
    expect(await pruneRequests(api, informers, app({ maxCount: 1 }))).toEqual([]);
    api.failNext("delete", new KubeError("Forbidden", "no delete", 403));
    await expect(pruneRequests(api, informers, app({ maxCount: 1 }))).rejects.toThrow("no delete");
    expect((await pruneRequests(api, informers, app({ maxCount: 1 }))).map((d) => d.name)).toEqual([
      "u1",
    ]);
  });

  it("keeps an automatic request that did not succeed: it is what skips its version", async () => {
    const { api, informers } = setUp([
      request("UpgradeRequest", "web-auto-1-1-0", 1, {
        auto: true,
        status: done("RollbackTriggered", "False"),
      }),
      request("UpgradeRequest", "web-auto-1-0-1", 2, { auto: true, status: done("Succeeded") }),
      request("UpgradeRequest", "u3", 3, { status: done("PlanFailed", "False") }),
      request("UpgradeRequest", "u4", 4, { status: done("PlanFailed", "False") }),
    ]);
    const deleted = await pruneRequests(api, informers, app({ maxCount: 1 }));
    expect(deleted.map((d) => d.name)).toEqual(["web-auto-1-0-1", "u3"]);
    expect(left(api, "UpgradeRequest")).toEqual(["u4", "web-auto-1-1-0"]);
  });
});
