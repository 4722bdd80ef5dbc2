import { describe, expect, it } from "vitest";
import type { PlannedVolume, PlannedWorkload } from "../../../../src/api/index.ts";
import {
  busyPods,
  replicasToRecord,
  specReplicas,
  workloadRef,
} from "../../../../src/controllers/request/workloads.ts";
import type { KubeObject } from "../../../../src/kube/client.ts";

const workload = (kind: string, name: string, replicas?: number, uid?: string): KubeObject => ({
  apiVersion: "apps/v1",
  kind,
  metadata: { name, namespace: "shop", ...(uid ? { uid } : {}) },
  spec: replicas === undefined ? {} : { replicas },
});

describe("specReplicas", () => {
  it.each([
    ["3 replicas", workload("Deployment", "web", 3), 3],
    ["0 replicas", workload("Deployment", "web", 0), 0],
    ["no spec.replicas (the API's default is 1)", workload("Deployment", "web"), 1],
    ["no spec at all", { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web" } }, 1],
    [
      "a non-number",
      { apiVersion: "apps/v1", kind: "Deployment", metadata: {}, spec: { replicas: "3" } },
      1,
    ],
    ["no object", undefined, undefined],
  ] as [string, KubeObject | undefined, number | undefined][])("%s → %s", (_, obj, want) => {
    expect(specReplicas(obj)).toBe(want);
  });
});

describe("workloadRef", () => {
  it("is an apps/v1 reference", () => {
    expect(workloadRef({ kind: "StatefulSet", namespace: "shop", name: "pg" })).toEqual({
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      namespace: "shop",
      name: "pg",
    });
  });
});

describe("replicasToRecord", () => {
  const pg: PlannedWorkload = { kind: "StatefulSet", namespace: "shop", name: "pg", replicas: 3 };
  const web: PlannedWorkload = { kind: "Deployment", namespace: "shop", name: "web", replicas: 2 };

  it("records the live count of every planned workload", () => {
    const live = new Map([
      ["pg", workload("StatefulSet", "pg", 5)],
      ["web", workload("Deployment", "web", 4)],
    ]);
    expect(replicasToRecord([pg, web], [], (w) => live.get(w.name))).toEqual([
      { kind: "StatefulSet", namespace: "shop", name: "pg", original: 5 },
      { kind: "Deployment", namespace: "shop", name: "web", original: 4 },
    ]);
  });

  it("never re-records a workload already recorded, even if it was scaled since", () => {
    const recorded = [{ kind: "StatefulSet" as const, namespace: "shop", name: "pg", original: 3 }];
    const seen: string[] = [];
    const out = replicasToRecord([pg, web], recorded, (w) => {
      seen.push(w.name);
      return workload(w.kind, w.name, 0);
    });
    expect(out.map((r) => r.name)).toEqual(["web"]);
    expect(seen).toEqual(["web"]);
    expect(replicasToRecord([pg], recorded, () => workload("StatefulSet", "pg", 0))).toEqual([]);
  });

  it("matches recorded workloads by kind, namespace and name", () => {
    const otherKind = [{ kind: "Deployment" as const, namespace: "shop", name: "pg", original: 1 }];
    const otherNs = [{ kind: "StatefulSet" as const, namespace: "dev", name: "pg", original: 1 }];
    const live = () => workload("StatefulSet", "pg", 3);
    expect(replicasToRecord([pg], otherKind, live)).toHaveLength(1);
    expect(replicasToRecord([pg], otherNs, live)).toHaveLength(1);
  });

  it("falls back to the plan's count when the live workload is at 0", () => {
    expect(replicasToRecord([pg], [], () => workload("StatefulSet", "pg", 0))).toEqual([
      { kind: "StatefulSet", namespace: "shop", name: "pg", original: 3 },
    ]);
  });

  it("falls back to the plan's count when the workload is not found", () => {
    expect(replicasToRecord([web], [], () => undefined)).toEqual([
      { kind: "Deployment", namespace: "shop", name: "web", original: 2 },
    ]);
  });

  it("records 1 for a live workload without spec.replicas", () => {
    expect(replicasToRecord([web], [], () => workload("Deployment", "web"))[0]?.original).toBe(1);
  });

  it("is empty without planned workloads", () => {
    expect(replicasToRecord([], [], () => undefined)).toEqual([]);
  });
});

describe("busyPods", () => {
  const volumes: PlannedVolume[] = [{ namespace: "shop", name: "data-pg-0" }];
  const DEPLOY_UID = "uid-deploy-web";
  const STS_UID = "uid-sts-pg";
  const RS_UID = "uid-rs-web-abc";
  const workloadUids = new Set([DEPLOY_UID, STS_UID]);
  const rsOwners = new Map([
    [RS_UID, DEPLOY_UID],
    ["uid-rs-other", "uid-deploy-other"],
  ]);

  const pod = (
    name: string,
    opts: {
      namespace?: string;
      claims?: string[];
      owners?: { kind: string; uid?: string }[];
    } = {},
  ): KubeObject => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: opts.namespace ?? "shop",
      ...(opts.owners ? { ownerReferences: opts.owners } : {}),
    },
    spec: {
      volumes: [
        { name: "tmp", emptyDir: {} },
        ...(opts.claims ?? []).map((c) => ({ name: c, persistentVolumeClaim: { claimName: c } })),
      ],
    },
  });

  it("names a pod that mounts a planned PVC", () => {
    expect(
      busyPods([pod("backup-1", { claims: ["data-pg-0"] })], volumes, new Set(), new Map()),
    ).toEqual(["shop/backup-1"]);
  });

  it("ignores a pod mounting a PVC of the same name in another namespace", () => {
    expect(
      busyPods(
        [pod("x", { namespace: "dev", claims: ["data-pg-0"] })],
        volumes,
        new Set(),
        new Map(),
      ),
    ).toEqual([]);
  });

  it("names a pod owned through a ReplicaSet of a planned Deployment", () => {
    const p = pod("web-abc-1", { owners: [{ kind: "ReplicaSet", uid: RS_UID }] });
    expect(busyPods([p], [], workloadUids, rsOwners)).toEqual(["shop/web-abc-1"]);
  });

  it("names a pod owned directly by a planned StatefulSet", () => {
    const p = pod("pg-0", { owners: [{ kind: "StatefulSet", uid: STS_UID }] });
    expect(busyPods([p], [], workloadUids, rsOwners)).toEqual(["shop/pg-0"]);
  });

  it("ignores a finished pod that still names a planned PVC or belongs to a planned workload", () => {
    const finished = (name: string, phase: string, opts: Parameters<typeof pod>[1]) => ({
      ...pod(name, opts),
      status: { phase },
    });
    const pods = [
      finished("backup-29", "Succeeded", {
        claims: ["data-pg-0"],
        owners: [{ kind: "Job", uid: "uid-job" }],
      }),
      finished("backup-30", "Failed", { claims: ["data-pg-0"] }),
      finished("pg-0", "Failed", { owners: [{ kind: "StatefulSet", uid: STS_UID }] }),
    ];
    expect(busyPods(pods, volumes, workloadUids, rsOwners)).toEqual([]);
    // Running and pending ones still count.
    const running = {
      ...pod("backup-31", { claims: ["data-pg-0"] }),
      status: { phase: "Running" },
    };
    expect(busyPods([...pods, running], volumes, workloadUids, rsOwners)).toEqual([
      "shop/backup-31",
    ]);
  });

  it("ignores unrelated pods", () => {
    const pods = [
      pod("other-rs", { owners: [{ kind: "ReplicaSet", uid: "uid-rs-other" }] }),
      pod("unknown-rs", { owners: [{ kind: "ReplicaSet", uid: "uid-rs-unknown" }] }),
      pod("job", { owners: [{ kind: "Job", uid: "uid-job" }] }),
      pod("no-uid", { owners: [{ kind: "StatefulSet" }] }),
      pod("other-claim", { claims: ["data-redis-0"] }),
      pod("bare"),
    ];
    expect(busyPods(pods, volumes, workloadUids, rsOwners)).toEqual([]);
  });

  it("follows the ReplicaSet map only for ReplicaSet owners", () => {
    // A non-ReplicaSet owner whose uid happens to be a key of the map does not count.
    const p = pod("odd", { owners: [{ kind: "Job", uid: RS_UID }] });
    expect(busyPods([p], [], workloadUids, rsOwners)).toEqual([]);
  });

  it("lists each busy pod once, in input order, among unrelated ones", () => {
    const pods = [
      pod("pg-0", { claims: ["data-pg-0"], owners: [{ kind: "StatefulSet", uid: STS_UID }] }),
      pod("bare"),
      pod("web-abc-1", { owners: [{ kind: "ReplicaSet", uid: RS_UID }] }),
    ];
    expect(busyPods(pods, volumes, workloadUids, rsOwners)).toEqual([
      "shop/pg-0",
      "shop/web-abc-1",
    ]);
  });

  it("copes with a pod without spec", () => {
    const p: KubeObject = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p", namespace: "shop" },
    };
    expect(busyPods([p], volumes, workloadUids, rsOwners)).toEqual([]);
  });
});
