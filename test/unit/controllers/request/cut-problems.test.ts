// The re-check at the moment of the cut (cutProblems, on fresh reads): a planned workload scaled
// up again or a pod mounting a planned PVC again refuses the snapshot; finished pods do not.
import { describe, expect, it } from "vitest";
import { cutProblems } from "../../../../src/controllers/request/workloads.ts";
import type { KubeObject } from "../../../../src/kube/client.ts";

const volumes = [{ namespace: "shop", name: "data-pg-0" }];
const sts = (replicas: number): KubeObject => ({
  apiVersion: "apps/v1",
  kind: "StatefulSet",
  metadata: { name: "pg", namespace: "shop" },
  spec: { replicas },
});
const ref = { kind: "StatefulSet" as const, namespace: "shop", name: "pg", replicas: 2 };
const pod = (name: string, phase: string): KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "shop" },
  spec: { volumes: [{ name: "d", persistentVolumeClaim: { claimName: "data-pg-0" } }] },
  status: { phase },
});

describe("cutProblems", () => {
  it("is empty when everything is still stopped (finished pods ignored)", () => {
    expect(cutProblems([pod("backup-1", "Succeeded")], volumes, [{ ref, live: sts(0) }])).toEqual(
      [],
    );
  });

  it("names a workload scaled up again and a pod mounting a planned PVC again", () => {
    expect(cutProblems([pod("pg-0", "Pending")], volumes, [{ ref, live: sts(3) }])).toEqual([
      "StatefulSet shop/pg runs 3 replica(s) again",
      "pod shop/pg-0 mounts a planned PVC",
    ]);
  });

  it("treats a workload that is gone as stopped", () => {
    expect(cutProblems([], volumes, [{ ref, live: undefined }])).toEqual([]);
  });
});
