import { describe, expect, it } from "vitest";
import { snapshotsToPrune } from "../../../../src/controllers/request/retention.ts";
import type { KubeObject } from "../../../../src/kube/client.ts";

/** A snapshot of `pvc` made by request `uid` on day `day` of March 2025. */
function snap(name: string, pvc: string, uid: string, day: number): KubeObject {
  return {
    apiVersion: "snapshot.storage.k8s.io/v1",
    kind: "VolumeSnapshot",
    metadata: {
      name,
      namespace: "shop",
      creationTimestamp: `2025-03-${String(day).padStart(2, "0")}T10:00:00Z`,
      labels: { "cairn.dev/managed-app": "pg", "cairn.dev/request-uid": uid },
    },
    spec: { source: { persistentVolumeClaimName: pvc } },
  };
}

const names = (list: readonly KubeObject[]) => list.map((s) => s.metadata.name).sort();
const none = new Set<string>();

describe("snapshotsToPrune", () => {
  // Three upgrades (u1 oldest … u3 newest), each snapshotting two PVCs; listed out of order.
  const all = [
    snap("a-u2", "data-a", "u2", 2),
    snap("a-u1", "data-a", "u1", 1),
    snap("b-u3", "data-b", "u3", 3),
    snap("a-u3", "data-a", "u3", 3),
    snap("b-u1", "data-b", "u1", 1),
    snap("b-u2", "data-b", "u2", 2),
  ];

  it.each([
    [1, ["a-u1", "a-u2", "b-u1", "b-u2"]],
    [2, ["a-u1", "b-u1"]],
    [3, []],
    [10, []],
  ])("keeps the newest %d per PVC", (maxCount, doomed) => {
    expect(names(snapshotsToPrune(all, maxCount, none))).toEqual(doomed);
  });

  it("keeps all with maxCount 0", () => {
    expect(snapshotsToPrune(all, 0, none)).toEqual([]);
  });

  it("never deletes the snapshots of a protected request, however old", () => {
    expect(names(snapshotsToPrune(all, 1, new Set(["u1"])))).toEqual(["a-u2", "b-u2"]);
    expect(names(snapshotsToPrune(all, 1, new Set(["u1", "u2"])))).toEqual([]);
  });

  it("a protected request does not make room for more: the newest still count toward maxCount", () => {
    // u3 is newest and protected; maxCount 1 keeps u3 and the protection changes nothing else.
    expect(names(snapshotsToPrune(all, 1, new Set(["u3"])))).toEqual([
      "a-u1",
      "a-u2",
      "b-u1",
      "b-u2",
    ]);
  });

  it("counts per PVC, not overall", () => {
    const uneven = [
      snap("a-1", "data-a", "u1", 1),
      snap("a-2", "data-a", "u2", 2),
      snap("a-3", "data-a", "u3", 3),
      snap("b-1", "data-b", "u1", 1),
    ];
    expect(names(snapshotsToPrune(uneven, 2, none))).toEqual(["a-1"]);
  });

  it("orders by creation time, not by name or list order", () => {
    const list = [
      snap("z-old", "data-a", "u1", 1),
      snap("a-new", "data-a", "u3", 20),
      snap("m-mid", "data-a", "u2", 9),
    ];
    expect(names(snapshotsToPrune(list, 1, none))).toEqual(["m-mid", "z-old"]);
    expect(names(snapshotsToPrune([...list].reverse(), 2, none))).toEqual(["z-old"]);
  });

  it("returns the snapshot objects themselves", () => {
    const [older, newer] = [snap("old", "data-a", "u1", 1), snap("new", "data-a", "u2", 2)];
    expect(snapshotsToPrune([newer, older], 1, none)).toEqual([older]);
    expect(snapshotsToPrune([newer, older], 1, none)[0]).toBe(older);
  });

  it("does not protect an unlabelled snapshot through an empty uid", () => {
    const unlabelled: KubeObject = {
      apiVersion: "snapshot.storage.k8s.io/v1",
      kind: "VolumeSnapshot",
      metadata: { name: "bare", creationTimestamp: "2025-03-01T00:00:00Z" },
      spec: { source: { persistentVolumeClaimName: "data-a" } },
    };
    const list = [unlabelled, snap("new", "data-a", "u2", 2)];
    expect(names(snapshotsToPrune(list, 1, new Set(["u2"])))).toEqual(["bare"]);
  });

  it("is empty without snapshots", () => {
    expect(snapshotsToPrune([], 1, none)).toEqual([]);
  });
});
