import { describe, expect, it } from "vitest";
import { workloadsToStop } from "../../../src/discovery/workloads.ts";
import type { KubeObject } from "../../../src/kube/client.ts";
import { captured, capturedList, derive } from "../../fixtures/load.ts";

const PLANNED = [
  { namespace: "shop", name: "data-demo-db-0" },
  { namespace: "shop", name: "demo-uploads" },
];

function shop() {
  return {
    deployments: [captured("deployment.json")],
    statefulSets: [captured("statefulset.json")],
    replicaSets: capturedList("replicasets.json"),
    pods: capturedList("pods.json"),
  };
}

function webPod(): KubeObject {
  const pod = shop().pods.find((p) => p.metadata.name?.startsWith("demo-web-"));
  if (!pod) throw new Error("captured pods include the web pod");
  return pod;
}

/** The captured web pod, renamed and re-owned, still mounting demo-uploads. */
function podOwnedBy(
  name: string,
  owner: { kind: string; name: string; apiVersion?: string } | undefined,
  phase = "Running",
) {
  return derive(webPod(), (p) => {
    Object.assign(p.metadata, {
      name,
      uid: `uid-${name}`,
      ownerReferences: owner
        ? [
            {
              apiVersion: owner.apiVersion ?? "batch/v1",
              kind: owner.kind,
              name: owner.name,
              uid: `uid-${owner.name}`,
              controller: true,
            },
          ]
        : [],
    });
    (p["status"] as { phase: string }).phase = phase;
  });
}

describe("workloadsToStop on the captured demo app", () => {
  it("stops the StatefulSet and the Deployment, each with its reasons and replica count", () => {
    const plan = workloadsToStop({ pvcs: PLANNED, objects: shop() });
    expect(plan.unstoppable).toEqual([]);
    expect(plan.unsafe).toEqual([]);
    expect(plan.invalid).toEqual([]);
    expect(plan.workloads).toEqual([
      {
        kind: "Deployment",
        namespace: "shop",
        name: "demo-web",
        replicas: 1,
        reasons: [
          { source: "PodTemplate", pvc: "demo-uploads", volume: "uploads" },
          { source: "Pod", pvc: "demo-uploads", pod: webPod().metadata.name, volume: "uploads" },
        ],
      },
      {
        kind: "StatefulSet",
        namespace: "shop",
        name: "demo-db",
        replicas: 1,
        reasons: [
          { source: "ClaimTemplate", pvc: "data-demo-db-0", template: "data", ordinal: 0 },
          { source: "Pod", pvc: "data-demo-db-0", pod: "demo-db-0", volume: "data" },
        ],
      },
    ]);
  });

  it("finds the same workloads from templates alone when the app is at 0", () => {
    const objects = {
      ...shop(),
      deployments: shop().deployments.map((d) =>
        derive(d, (x) => ((x["spec"] as { replicas: number }).replicas = 0)),
      ),
      pods: [],
    };
    const plan = workloadsToStop({ pvcs: PLANNED, objects });
    expect(plan.workloads.map((w) => [w.kind, w.name, w.replicas])).toEqual([
      ["Deployment", "demo-web", 0],
      ["StatefulSet", "demo-db", 1],
    ]);
  });

  it("includes a Deployment outside the app that mounts a planned PVC", () => {
    const reporter = derive(captured("deployment.json"), (d) => {
      Object.assign(d.metadata, { name: "reporting", uid: "uid-reporting" });
      (d["spec"] as { replicas: number }).replicas = 2;
    });
    const plan = workloadsToStop({
      pvcs: PLANNED,
      objects: { ...shop(), deployments: [...shop().deployments, reporter] },
    });
    expect(plan.workloads.find((w) => w.name === "reporting")).toEqual({
      kind: "Deployment",
      namespace: "shop",
      name: "reporting",
      replicas: 2,
      reasons: [{ source: "PodTemplate", pvc: "demo-uploads", volume: "uploads" }],
    });
  });

  it("ignores workloads that mount other PVCs or sit in another namespace", () => {
    const elsewhere = derive(captured("deployment.json"), (d) => {
      Object.assign(d.metadata, { namespace: "other", uid: "uid-other" });
    });
    const plan = workloadsToStop({
      pvcs: [{ namespace: "shop", name: "data-demo-db-0" }],
      objects: { ...shop(), deployments: [...shop().deployments, elsewhere] },
    });
    expect(plan.workloads.map((w) => `${w.kind}/${w.namespace}/${w.name}`)).toEqual([
      "StatefulSet/shop/demo-db",
    ]);
  });

  it("reports pods of Jobs, DaemonSets and bare pods as writers Cairn cannot stop", () => {
    const pods = [
      ...shop().pods,
      podOwnedBy("backup-29-x", { kind: "Job", name: "backup-29" }),
      podOwnedBy("agent-abc", { kind: "DaemonSet", name: "agent", apiVersion: "apps/v1" }),
      podOwnedBy("debug", undefined),
      podOwnedBy("backup-28-y", { kind: "Job", name: "backup-28" }, "Succeeded"),
    ];
    const plan = workloadsToStop({ pvcs: PLANNED, objects: { ...shop(), pods } });
    expect(plan.unstoppable.map((u) => [u.pod, u.controller, u.running])).toEqual([
      ["backup-29-x", { kind: "Job", name: "backup-29" }, true],
      ["agent-abc", { kind: "DaemonSet", name: "agent" }, true],
      ["debug", undefined, true],
      ["backup-28-y", { kind: "Job", name: "backup-28" }, false],
    ]);
    expect(plan.unstoppable[0]).toMatchObject({
      namespace: "shop",
      pvcs: ["demo-uploads"],
      terminating: false,
    });
    expect(plan.unstoppable[0]?.message).toBe(
      "pod shop/backup-29-x mounts demo-uploads and is controlled by Job backup-29, which Cairn cannot scale",
    );
    expect(plan.workloads).toHaveLength(2);
  });

  it("reports a pod whose ReplicaSet is unknown, or whose Deployment is gone, instead of guessing", () => {
    const orphanRs = podOwnedBy("demo-web-zzz-1", {
      kind: "ReplicaSet",
      name: "demo-web-zzz",
      apiVersion: "apps/v1",
    });
    const plan = workloadsToStop({
      pvcs: PLANNED,
      objects: { ...shop(), deployments: [], pods: [...shop().pods, orphanRs] },
    });
    expect(plan.unstoppable.map((u) => [u.pod, u.controller?.kind])).toEqual([
      [webPod().metadata.name, "Deployment"],
      ["demo-web-zzz-1", "ReplicaSet"],
    ]);
    expect(plan.unstoppable[0]?.message).toContain("which was not found");
  });

  it("marks a terminating writer", () => {
    const leaving = derive(podOwnedBy("debug", undefined), (p) => {
      Object.assign(p.metadata, { deletionTimestamp: "2026-11-25T11:30:00Z" });
    });
    const plan = workloadsToStop({ pvcs: PLANNED, objects: { ...shop(), pods: [leaving] } });
    expect(plan.unstoppable).toEqual([
      expect.objectContaining({ pod: "debug", terminating: true }),
    ]);
  });

  it("reports a StatefulSet that deletes its PVCs on scale-down as unsafe to scale", () => {
    const deleting = derive(captured("statefulset.json"), (s) => {
      (s["spec"] as Record<string, unknown>)["persistentVolumeClaimRetentionPolicy"] = {
        whenDeleted: "Retain",
        whenScaled: "Delete",
      };
    });
    const plan = workloadsToStop({
      pvcs: PLANNED,
      objects: { ...shop(), statefulSets: [deleting] },
    });
    expect(plan.unsafe).toEqual([
      expect.objectContaining({
        kind: "StatefulSet",
        namespace: "shop",
        name: "demo-db",
        reason: "RetentionDeletesOnScale",
      }),
    ]);
  });
});
