import { describe, expect, it } from "vitest";
import {
  appChanged,
  appRoutes,
  objectRoutes,
  route,
  routesChanged,
} from "../../../src/controllers/managedapp/routing.ts";
import type { KubeObject } from "../../../src/kube/client.ts";
import { captured, capturedList } from "../../fixtures/load.ts";

function app(status: Record<string, unknown> | undefined, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: "cairn.dev/v1alpha1",
    kind: "ManagedApp",
    metadata: { name: "demo", namespace: "shop", generation: 3 },
    spec,
    ...(status ? { status } : {}),
  } as KubeObject;
}

const discovered = {
  observedGeneration: 3,
  discovery: {
    pvcs: [{ namespace: "shop", name: "demo-uploads" }],
    workloads: [
      { kind: "Deployment", namespace: "shop", name: "demo-web" },
      { kind: "StatefulSet", namespace: "data", name: "demo-db" },
    ],
  },
};

const noReplicaSet = () => undefined;

describe("ManagedApp routing", () => {
  it("indexes an app under what its current discovery lists and the PVCs its spec names", () => {
    expect(
      appRoutes(app(discovered, { volumeSnapshots: { pvcs: [{ name: "scratch" }] } })).sort(),
    ).toEqual(
      [
        route.pvc("shop", "scratch"),
        route.workload("Deployment", "shop", "demo-web"),
        route.workload("StatefulSet", "data", "demo-db"),
        route.pvc("shop", "demo-uploads"),
      ].sort(),
    );
  });

  it("lets an app without a current summary hear its whole namespaces", () => {
    expect(appRoutes(app(undefined))).toEqual([route.namespace("shop")]);
    const stale = appRoutes(app({ ...discovered, observedGeneration: 2 }));
    expect(stale).toContain(route.namespace("shop"));
    expect(stale).toContain(route.namespace("data"));
    const many = Array.from({ length: 128 }, (_, i) => ({
      kind: "Deployment",
      namespace: "shop",
      name: `w${i}`,
    }));
    expect(appRoutes(app({ observedGeneration: 3, discovery: { workloads: many } }))).toContain(
      route.namespace("shop"),
    );
  });

  it("routes a Deployment's pod through its ReplicaSet, never by name", () => {
    const [rs] = capturedList("replicasets.json");
    const pod = capturedList("pods.json").find((p) => p.metadata.name?.startsWith("demo-web"));
    if (!rs || !pod) throw new Error("fixtures");
    const routes = objectRoutes(pod, (ns, name) =>
      ns === "shop" && name === "demo-web-76c4cd86db" ? rs : undefined,
    );
    expect(routes).toEqual([
      route.namespace("shop"),
      route.pvc("shop", "demo-uploads"),
      route.workload("Deployment", "shop", "demo-web"),
    ]);
  });

  it("wakes the whole namespace for a pod whose ReplicaSet is not known yet", () => {
    const pod = capturedList("pods.json").find((p) => p.metadata.name?.startsWith("demo-web"));
    if (!pod) throw new Error("fixtures");
    expect(objectRoutes(pod, noReplicaSet)).toBeUndefined();
  });

  it("routes a StatefulSet's pod, workloads by the PVCs they mount, and PVCs by name", () => {
    const db = capturedList("pods.json").find((p) => p.metadata.name === "demo-db-0");
    if (!db) throw new Error("fixtures");
    expect(objectRoutes(db, noReplicaSet)).toEqual([
      route.namespace("shop"),
      route.pvc("shop", "data-demo-db-0"),
      route.workload("StatefulSet", "shop", "demo-db"),
    ]);
    expect(objectRoutes(captured("deployment.json"), noReplicaSet)).toEqual([
      route.namespace("shop"),
      route.workload("Deployment", "shop", "demo-web"),
      route.pvc("shop", "demo-uploads"),
    ]);
    const [pvc] = capturedList("pvcs.json");
    if (!pvc) throw new Error("fixtures");
    expect(objectRoutes(pvc, noReplicaSet)).toEqual([
      route.namespace("shop"),
      route.pvc("shop", "data-demo-db-0"),
    ]);
  });
});

describe("appChanged", () => {
  const base = app(discovered);
  const changed = (change: (o: { metadata: Record<string, unknown> }) => void) => {
    const copy = structuredClone(base) as unknown as { metadata: Record<string, unknown> };
    change(copy);
    return copy as unknown as KubeObject;
  };

  it("ignores a status-only update (the echo of the controller's own write)", () => {
    const echo = { ...base, status: { ...discovered, currentVersion: "1.0.0" } } as KubeObject;
    expect(appChanged(base, echo)).toBe(false);
  });

  it("reacts to a new generation, labels, annotations, finalizers or a deletion", () => {
    expect(
      appChanged(
        base,
        changed((o) => (o.metadata["generation"] = 4)),
      ),
    ).toBe(true);
    expect(
      appChanged(
        base,
        changed((o) => (o.metadata["labels"] = { a: "b" })),
      ),
    ).toBe(true);
    expect(
      appChanged(
        base,
        changed((o) => (o.metadata["annotations"] = { a: "b" })),
      ),
    ).toBe(true);
    expect(
      appChanged(
        base,
        changed((o) => (o.metadata["finalizers"] = ["x"])),
      ),
    ).toBe(true);
    expect(
      appChanged(
        base,
        changed((o) => (o.metadata["deletionTimestamp"] = "2026-01-01T00:00:00Z")),
      ),
    ).toBe(true);
  });
});

describe("routesChanged", () => {
  it("is false for a status echo that keeps the routes", () => {
    const echo = app({ ...discovered, currentVersion: "1.0.0" });
    expect(routesChanged(app(discovered), echo)).toBe(false);
  });

  it("is true for the first summary, a new workload, or one that left", () => {
    expect(routesChanged(app(undefined), app(discovered))).toBe(true);
    const more = structuredClone(discovered);
    more.discovery.workloads.push({ kind: "Deployment", namespace: "shop", name: "demo-worker" });
    expect(routesChanged(app(discovered), app(more))).toBe(true);
    expect(routesChanged(app(more), app(discovered))).toBe(true);
  });
});
