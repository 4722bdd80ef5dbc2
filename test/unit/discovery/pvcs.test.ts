import { describe, expect, it } from "vitest";
import { inventoryOf } from "../../../src/discovery/inventory.ts";
import { discoverPvcs, type NamespaceObjects } from "../../../src/discovery/pvcs.ts";
import { workloadRefs, type WorkloadRef } from "../../../src/discovery/refs.ts";
import type { KubeObject } from "../../../src/kube/client.ts";
import { captured, capturedList, derive } from "../../fixtures/load.ts";

/** The shop namespace as captured after the upgrade to 1.1.0 (suffix "" ) or at another moment. */
type Objects = { [K in keyof NamespaceObjects]: KubeObject[] };

function shop(suffix = ""): Objects {
  return {
    deployments: [captured(`deployment${suffix}.json`)],
    statefulSets: [captured(`statefulset${suffix}.json`)],
    replicaSets: capturedList(`replicasets${suffix}.json`),
    pods: capturedList(`pods${suffix}.json`),
    pvcs: capturedList(`pvcs${suffix}.json`),
  };
}

function appWorkloads(): WorkloadRef[] {
  const inv = inventoryOf(captured("helmrelease.json"));
  if (!inv.found) throw new Error("the captured HelmRelease has an inventory");
  return workloadRefs(inv.inventory.refs);
}

const set = <T extends object>(obj: T, path: string[], value: unknown): T =>
  derive(obj, (o) => {
    let at = o as Record<string, unknown>;
    for (const p of path.slice(0, -1)) at = (at[p] ??= {}) as Record<string, unknown>;
    at[path.at(-1) ?? ""] = value;
  });

function pvc(name: string, accessModes: string[], namespace = "shop"): KubeObject {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name, namespace, uid: `uid-${name}` },
    spec: { accessModes },
    status: { phase: "Bound" },
  };
}

function names(result: ReturnType<typeof discoverPvcs>) {
  return result.pvcs.map((p) => `${p.namespace}/${p.name}`);
}

describe("discoverPvcs on the captured demo app", () => {
  it("finds the StatefulSet's claim and the Deployment's PVC, each with its reasons", () => {
    const result = discoverPvcs({ workloads: appWorkloads(), objects: shop() });
    expect(result.invalid).toEqual([]);
    expect(result.missing).toEqual([]);
    expect(result.skipped).toEqual([]);
    expect(result.pvcs).toEqual([
      {
        namespace: "shop",
        name: "data-demo-db-0",
        accessModes: ["ReadWriteOnce"],
        reasons: [
          {
            source: "ClaimTemplate",
            workload: { kind: "StatefulSet", namespace: "shop", name: "demo-db" },
            template: "data",
            ordinal: 0,
            inRange: true,
          },
          {
            source: "Pod",
            workload: { kind: "StatefulSet", namespace: "shop", name: "demo-db" },
            pod: "demo-db-0",
            volume: "data",
          },
        ],
      },
      {
        namespace: "shop",
        name: "demo-uploads",
        accessModes: ["ReadWriteOnce"],
        reasons: [
          {
            source: "PodTemplate",
            workload: { kind: "Deployment", namespace: "shop", name: "demo-web" },
            volume: "uploads",
          },
          {
            source: "Pod",
            workload: { kind: "Deployment", namespace: "shop", name: "demo-web" },
            pod: expect.stringMatching(/^demo-web-[a-z0-9]+-[a-z0-9]+$/) as unknown as string,
            volume: "uploads",
          },
        ],
      },
    ]);
  });

  it("gives the same PVCs when the app is scaled to 0 and its pods are gone", () => {
    const objects = shop();
    const stopped = {
      ...objects,
      deployments: objects.deployments.map((d) => set(d, ["spec", "replicas"], 0)),
      statefulSets: objects.statefulSets.map((s) => set(s, ["spec", "replicas"], 0)),
      pods: [],
    };
    const running = discoverPvcs({ workloads: appWorkloads(), objects });
    const atZero = discoverPvcs({ workloads: appWorkloads(), objects: stopped });
    expect(names(atZero)).toEqual(names(running));
    const claim = atZero.pvcs.find((p) => p.name === "data-demo-db-0");
    expect(claim?.reasons).toEqual([
      expect.objectContaining({ source: "ClaimTemplate", ordinal: 0, inRange: false }),
    ]);
  });

  it("discovers the same from the broken 2.0.0 rollout, with pods Pending", () => {
    const result = discoverPvcs({ workloads: appWorkloads(), objects: shop("-2.0.0-failed") });
    expect(names(result)).toEqual(["shop/data-demo-db-0", "shop/demo-uploads"]);
  });
});

describe("discoverPvcs", () => {
  const sts = () => captured("statefulset.json");

  it("uses spec.ordinals.start and reports claims of ordinals in use that do not exist", () => {
    const objects = {
      ...shop(),
      statefulSets: [set(set(sts(), ["spec", "ordinals"], { start: 2 }), ["spec", "replicas"], 2)],
      pods: [],
      pvcs: [pvc("data-demo-db-2", ["ReadWriteOnce"])],
    };
    const result = discoverPvcs({
      workloads: [{ kind: "StatefulSet", namespace: "shop", name: "demo-db" }],
      objects,
    });
    expect(names(result)).toEqual(["shop/data-demo-db-2"]);
    expect(result.missing.map((m) => m.name)).toEqual(["data-demo-db-3"]);
  });

  it("matches existing claims of the pattern beyond the replica count, and nothing else", () => {
    const objects = {
      ...shop(),
      pods: [],
      pvcs: [
        pvc("data-demo-db-0", ["ReadWriteOnce"]),
        pvc("data-demo-db-7", ["ReadWriteOnce"]),
        pvc("data-demo-db-07", ["ReadWriteOnce"]),
        pvc("data-demo-db-x", ["ReadWriteOnce"]),
        pvc("data-demo-db-0-backup", ["ReadWriteOnce"]),
        pvc("data-demo-db-worker-0", ["ReadWriteOnce"]),
        pvc("data-demo-db-1", ["ReadWriteOnce"], "elsewhere"),
      ],
    };
    const result = discoverPvcs({
      workloads: [{ kind: "StatefulSet", namespace: "shop", name: "demo-db" }],
      objects,
    });
    expect(names(result)).toEqual(["shop/data-demo-db-0", "shop/data-demo-db-7"]);
    expect(result.pvcs[1]?.reasons).toEqual([
      expect.objectContaining({ ordinal: 7, inRange: false }),
    ]);
  });

  it("keeps ReadWriteOncePod and skips ReadWriteMany and ReadOnlyMany", () => {
    const objects = {
      ...shop(),
      pvcs: [pvc("data-demo-db-0", ["ReadWriteOncePod"]), pvc("demo-uploads", ["ReadWriteMany"])],
    };
    const result = discoverPvcs({ workloads: appWorkloads(), objects });
    expect(names(result)).toEqual(["shop/data-demo-db-0"]);
    expect(result.skipped).toEqual([
      expect.objectContaining({
        namespace: "shop",
        name: "demo-uploads",
        why: "NotSingleWriter",
        accessModes: ["ReadWriteMany"],
      }),
    ]);
  });

  it("replaces auto-discovery with explicit PVCs, whatever their access mode", () => {
    const objects = { ...shop(), pvcs: [...shop().pvcs, pvc("shared", ["ReadWriteMany"])] };
    const result = discoverPvcs({
      workloads: appWorkloads(),
      objects,
      explicit: [
        { namespace: "shop", name: "shared" },
        { namespace: "shop", name: "gone" },
      ],
    });
    expect(result.pvcs).toEqual([
      {
        namespace: "shop",
        name: "shared",
        accessModes: ["ReadWriteMany"],
        reasons: [{ source: "Explicit" }],
      },
    ]);
    expect(result.missing).toEqual([
      { namespace: "shop", name: "gone", reasons: [{ source: "Explicit" }] },
    ]);
  });

  it("removes excluded PVCs and says so", () => {
    const result = discoverPvcs({
      workloads: appWorkloads(),
      objects: shop(),
      exclude: [{ namespace: "shop", name: "demo-uploads" }],
    });
    expect(names(result)).toEqual(["shop/data-demo-db-0"]);
    expect(result.skipped.map((s) => [s.name, s.why])).toEqual([["demo-uploads", "Excluded"]]);
  });

  it("follows controller owner references, never name prefixes", () => {
    const objects = shop();
    const webPod = objects.pods.find((p) => p.metadata.name?.startsWith("demo-web-"));
    if (!webPod) throw new Error("captured pods include the web pod");
    // A pod whose name starts like the Deployment's but that another Deployment's ReplicaSet owns,
    // and a bare pod of the same prefix: neither belongs to demo-web.
    const foreignRs = {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: {
        name: "demo-web-worker-5d9f",
        namespace: "shop",
        uid: "rs-worker",
        ownerReferences: [
          {
            apiVersion: "apps/v1",
            kind: "Deployment",
            name: "demo-web-worker",
            uid: "dep-worker",
            controller: true,
          },
        ],
      },
    };
    const foreignPod = derive(webPod, (p) => {
      Object.assign(p.metadata, {
        name: "demo-web-worker-5d9f-abcde",
        uid: "pod-worker",
        ownerReferences: [
          {
            apiVersion: "apps/v1",
            kind: "ReplicaSet",
            name: foreignRs.metadata.name,
            uid: "rs-worker",
            controller: true,
          },
        ],
      });
      (p["spec"] as { volumes: unknown[] }).volumes = [
        { name: "cache", persistentVolumeClaim: { claimName: "worker-cache" } },
      ];
    });
    const barePod = derive(foreignPod, (p) => {
      Object.assign(p.metadata, { name: "demo-web-debug", uid: "pod-bare", ownerReferences: [] });
    });
    const result = discoverPvcs({
      workloads: appWorkloads(),
      objects: {
        ...objects,
        replicaSets: [...objects.replicaSets, foreignRs],
        pods: [...objects.pods, foreignPod, barePod],
        pvcs: [...objects.pvcs, pvc("worker-cache", ["ReadWriteOnce"])],
      },
    });
    expect(names(result)).toEqual(["shop/data-demo-db-0", "shop/demo-uploads"]);
  });

  it("includes what a pod of an older ReplicaSet still mounts mid-rollout", () => {
    const objects = shop();
    const webPod = objects.pods.find((p) => p.metadata.name?.startsWith("demo-web-"));
    if (!webPod) throw new Error("captured pods include the web pod");
    const oldRs = objects.replicaSets.find(
      (rs) => (rs["spec"] as { replicas: number }).replicas === 0,
    );
    if (!oldRs) throw new Error("captured ReplicaSets include the scaled-down one");
    const oldPod = derive(webPod, (p) => {
      Object.assign(p.metadata, {
        name: `${oldRs.metadata.name ?? ""}-old00`,
        uid: "old-pod",
        ownerReferences: [
          {
            apiVersion: "apps/v1",
            kind: "ReplicaSet",
            name: oldRs.metadata.name,
            uid: oldRs.metadata.uid,
            controller: true,
          },
        ],
      });
      (p["spec"] as { volumes: unknown[] }).volumes = [
        { name: "legacy", persistentVolumeClaim: { claimName: "old-uploads" } },
      ];
    });
    const result = discoverPvcs({
      workloads: appWorkloads(),
      objects: {
        ...objects,
        pods: [...objects.pods, oldPod],
        pvcs: [...objects.pvcs, pvc("old-uploads", ["ReadWriteOnce"])],
      },
    });
    expect(result.pvcs.find((p) => p.name === "old-uploads")?.reasons).toEqual([
      {
        source: "Pod",
        workload: { kind: "Deployment", namespace: "shop", name: "demo-web" },
        pod: oldPod.metadata.name,
        volume: "legacy",
      },
    ]);
  });

  it("does not count pods of an earlier workload with the same name (uid mismatch)", () => {
    const objects = shop();
    const recreated = objects.statefulSets.map((s) => set(s, ["metadata", "uid"], "a-new-uid"));
    const result = discoverPvcs({
      workloads: [{ kind: "StatefulSet", namespace: "shop", name: "demo-db" }],
      objects: { ...objects, statefulSets: recreated },
    });
    expect(result.pvcs[0]?.reasons.map((r) => r.source)).toEqual(["ClaimTemplate"]);
  });

  it("reports workloads that do not exist and objects that cannot be read", () => {
    const objects = { ...shop(), pods: [...shop().pods, { metadata: { namespace: "shop" } }] };
    const result = discoverPvcs({
      workloads: [...appWorkloads(), { kind: "Deployment", namespace: "shop", name: "ghost" }],
      objects,
    });
    expect(result.missingWorkloads).toEqual([
      { kind: "Deployment", namespace: "shop", name: "ghost" },
    ]);
    expect(result.invalid).toEqual([
      expect.objectContaining({ kind: "Pod", namespace: "shop", name: undefined }),
    ]);
    expect(names(result)).toEqual(["shop/data-demo-db-0", "shop/demo-uploads"]);
  });
});
