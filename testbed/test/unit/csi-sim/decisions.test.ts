import { describe, expect, it } from "vitest";
import {
  ANN_FAULT_PROVISION,
  ANN_FAULT_SNAPSHOT,
  ANN_FAULT_SNAPSHOT_DELAY,
  ANN_SELECTED_NODE,
  ANN_SNAPSHOT_UPLOAD_DELAY,
  ANN_STORAGE_PROVISIONER,
  CONTENT_FINALIZER,
  DRIVER,
} from "../../../src/csi-sim/constants.ts";
import {
  decideProvision,
  shouldDeleteVolume,
  type DataSource,
} from "../../../src/csi-sim/provisioner.ts";
import { parseQuantity } from "../../../src/csi-sim/quantity.ts";
import {
  Pv,
  Pvc,
  StorageClass,
  VolumeSnapshot,
  VolumeSnapshotContent,
} from "../../../src/csi-sim/schemas.ts";
import { decideContent } from "../../../src/csi-sim/snapshotter.ts";

const GI = 2 ** 30;

describe("parseQuantity", () => {
  it.each([
    ["1Gi", GI],
    ["512Mi", 512 * 2 ** 20],
    ["1G", 1e9],
    ["100", 100],
    ["1.5Ki", 1536],
    ["1e3", 1000],
    ["2k", 2000],
    ["0.5", 1],
  ])("%s is %d bytes", (text, bytes) => {
    expect(parseQuantity(text)).toBe(bytes);
  });
  it.each(["", "Gi", "1GB", "abc", "1 Gi"])("rejects %j", (text) => {
    expect(parseQuantity(text)).toBeUndefined();
  });
});

const immediate = StorageClass.parse({
  metadata: { name: "sim", uid: "sc1" },
  provisioner: DRIVER,
  reclaimPolicy: "Delete",
  volumeBindingMode: "Immediate",
});
const wffc = StorageClass.parse({
  ...immediate,
  metadata: { name: "sim-wffc", uid: "sc2" },
  volumeBindingMode: "WaitForFirstConsumer",
});

function claim(
  over: {
    annotations?: Record<string, string>;
    storage?: string;
    dataSource?: object;
    className?: string;
  } = {},
) {
  return Pvc.parse({
    metadata: {
      name: "data",
      namespace: "shop",
      uid: "1234",
      annotations: { [ANN_STORAGE_PROVISIONER]: DRIVER, ...over.annotations },
    },
    spec: {
      storageClassName: over.className ?? "sim",
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage: over.storage ?? "1Gi" } },
      ...(over.dataSource ? { dataSource: over.dataSource, dataSourceRef: over.dataSource } : {}),
    },
  });
}
const none: DataSource = { kind: "none" };

function readySnapshot(restoreSize: number): DataSource {
  return {
    kind: "snapshot",
    name: "snap",
    snapshot: VolumeSnapshot.parse({
      metadata: { name: "snap", namespace: "shop", uid: "s1" },
      spec: { source: { persistentVolumeClaimName: "data" } },
      status: { readyToUse: true, boundVolumeSnapshotContentName: "c1" },
    }),
    content: VolumeSnapshotContent.parse({
      metadata: { name: "c1", uid: "c1" },
      spec: { driver: DRIVER, deletionPolicy: "Delete", source: { volumeHandle: "vol-x" } },
      status: { snapshotHandle: "snap-c1", readyToUse: true, restoreSize },
    }),
  };
}

describe("decideProvision", () => {
  it("creates a PV bound to the claim, with the class's policy and the data folder", () => {
    const d = decideProvision({
      pvc: claim(),
      storageClass: immediate,
      source: none,
      volumesDir: "/v",
    });
    expect(d.kind).toBe("create");
    if (d.kind !== "create") return;
    expect(d.copyFrom).toBeUndefined();
    expect(d.pv.metadata.name).toBe("pvc-1234");
    expect(d.pv["spec"]).toMatchObject({
      capacity: { storage: "1Gi" },
      accessModes: ["ReadWriteOnce"],
      volumeMode: "Filesystem",
      storageClassName: "sim",
      persistentVolumeReclaimPolicy: "Delete",
      claimRef: { namespace: "shop", name: "data", uid: "1234" },
      csi: { driver: DRIVER, volumeHandle: "vol-1234", volumeAttributes: { path: "/v/vol-1234" } },
    });
  });

  it("ignores claims of other drivers, bound claims and missing classes", () => {
    const other = StorageClass.parse({ ...immediate, provisioner: "ebs.csi.aws.com" });
    expect(
      decideProvision({ pvc: claim(), storageClass: other, source: none, volumesDir: "/v" }).kind,
    ).toBe("ignore");
    expect(
      decideProvision({ pvc: claim(), storageClass: undefined, source: none, volumesDir: "/v" })
        .kind,
    ).toBe("ignore");
    const bound = Pvc.parse({ ...claim(), spec: { ...claim().spec, volumeName: "pv1" } });
    expect(
      decideProvision({ pvc: bound, storageClass: immediate, source: none, volumesDir: "/v" }).kind,
    ).toBe("ignore");
  });

  it("waits for the PV controller's hand-over and, for WaitForFirstConsumer, a selected node", () => {
    const unannounced = Pvc.parse({
      ...claim(),
      metadata: { ...claim().metadata, annotations: {} },
    });
    expect(
      decideProvision({ pvc: unannounced, storageClass: immediate, source: none, volumesDir: "/v" })
        .kind,
    ).toBe("wait");
    expect(
      decideProvision({
        pvc: claim({ className: "sim-wffc" }),
        storageClass: wffc,
        source: none,
        volumesDir: "/v",
      }).kind,
    ).toBe("wait");
    const selected = decideProvision({
      pvc: claim({ className: "sim-wffc", annotations: { [ANN_SELECTED_NODE]: "kwok-node-1" } }),
      storageClass: wffc,
      source: none,
      volumesDir: "/v",
    });
    expect(selected.kind).toBe("create");
    if (selected.kind === "create") {
      expect(JSON.stringify(selected.pv["spec"])).toContain('"values":["kwok-node-1"]');
    }
  });

  it("restores from a ready snapshot whose size fits", () => {
    const d = decideProvision({
      pvc: claim({
        dataSource: { apiGroup: "snapshot.storage.k8s.io", kind: "VolumeSnapshot", name: "snap" },
      }),
      storageClass: immediate,
      source: readySnapshot(GI),
      volumesDir: "/v",
    });
    expect(d).toMatchObject({ kind: "create", copyFrom: { kind: "snapshot", handle: "snap-c1" } });
  });

  it("fails, naming the reason, for a snapshot that is missing, not ready or larger than the request", () => {
    const pvc = claim({ storage: "512Mi" });
    expect(
      decideProvision({
        pvc,
        storageClass: immediate,
        source: { kind: "snapshot", name: "snap" },
        volumesDir: "/v",
      }),
    ).toEqual({
      kind: "fail",
      message: "VolumeSnapshot shop/snap not found",
    });
    const tooBig = decideProvision({
      pvc,
      storageClass: immediate,
      source: readySnapshot(GI),
      volumesDir: "/v",
    });
    expect(tooBig.kind).toBe("fail");
    expect(tooBig.kind === "fail" && tooBig.message).toMatch(
      /less than the size 1073741824 of the snapshot snap/,
    );
    const src = readySnapshot(1);
    if (src.kind !== "snapshot" || !src.snapshot) throw new Error("fixture");
    const notReady: DataSource = {
      ...src,
      snapshot: { ...src.snapshot, status: { readyToUse: false } },
    };
    expect(
      decideProvision({ pvc, storageClass: immediate, source: notReady, volumesDir: "/v" }),
    ).toMatchObject({
      kind: "fail",
      message: "VolumeSnapshot snap is not ready to use",
    });
  });

  it("fails as told by the fault annotation", () => {
    const d = decideProvision({
      pvc: claim({ annotations: { [ANN_FAULT_PROVISION]: "disk full" } }),
      storageClass: immediate,
      source: none,
      volumesDir: "/v",
    });
    expect(d).toEqual({ kind: "fail", message: "disk full" });
  });
});

describe("shouldDeleteVolume", () => {
  const pv = (phase: string, policy: string, driver = DRIVER) =>
    Pv.parse({
      metadata: { name: "pv", uid: "u" },
      spec: { csi: { driver, volumeHandle: "vol-1" }, persistentVolumeReclaimPolicy: policy },
      status: { phase },
    });
  it("deletes only released volumes of ours with policy Delete", () => {
    expect(shouldDeleteVolume(pv("Released", "Delete"))).toBe(true);
    expect(shouldDeleteVolume(pv("Released", "Retain"))).toBe(false);
    expect(shouldDeleteVolume(pv("Bound", "Delete"))).toBe(false);
    expect(shouldDeleteVolume(pv("Released", "Delete", "other"))).toBe(false);
  });
});

describe("decideContent", () => {
  const content = (over: object = {}) =>
    VolumeSnapshotContent.parse({
      metadata: { name: "c1", uid: "abc" },
      spec: { driver: DRIVER, deletionPolicy: "Delete", source: { volumeHandle: "vol-1" } },
      ...over,
    });
  const sourcePv = Pv.parse({
    metadata: { name: "pv", uid: "u" },
    spec: { capacity: { storage: "2Gi" }, csi: { driver: DRIVER, volumeHandle: "vol-1" } },
  });
  const sourcePvc = (annotations: Record<string, string>) =>
    Pvc.parse({ metadata: { name: "data", namespace: "shop", uid: "1", annotations }, spec: {} });
  const base = { sourcePv, sourcePvc: sourcePvc({}), firstSeenMs: 1_000, nowMs: 1_000 };

  it("cuts a dynamic snapshot with the source volume's size", () => {
    expect(decideContent({ ...base, content: content() })).toEqual({
      kind: "cut",
      volumeHandle: "vol-1",
      snapshotHandle: "snap-abc",
      restoreSize: 2 * GI,
      uploadMs: 0,
    });
  });

  it("cuts at once and reports ready only after the upload delay, timed from the cut", () => {
    const slow = sourcePvc({ [ANN_SNAPSHOT_UPLOAD_DELAY]: "60" });
    expect(decideContent({ ...base, sourcePvc: slow, content: content() })).toMatchObject({
      kind: "cut",
      uploadMs: 60_000,
    });
    // Cut at t = 10 s (nanoseconds in status.creationTime, as the sidecar reports it).
    const cut = content({
      status: { snapshotHandle: "snap-abc", readyToUse: false, creationTime: 10_000 * 1e6 },
    });
    expect(decideContent({ ...base, sourcePvc: slow, content: cut, nowMs: 40_000 })).toEqual({
      kind: "delay",
      remainingMs: 30_000,
    });
    expect(decideContent({ ...base, sourcePvc: slow, content: cut, nowMs: 70_000 })).toEqual({
      kind: "uploaded",
    });
    // The source claim gone: nothing says the upload is slow, so it ends.
    expect(decideContent({ ...base, sourcePvc: undefined, content: cut, nowMs: 40_000 })).toEqual({
      kind: "uploaded",
    });
  });

  it("leaves ready contents and other drivers alone", () => {
    expect(
      decideContent({
        ...base,
        content: content({ status: { readyToUse: true, snapshotHandle: "x" } }),
      }).kind,
    ).toBe("ignore");
    const foreign = content();
    expect(
      decideContent({ ...base, content: { ...foreign, spec: { ...foreign.spec, driver: "x" } } })
        .kind,
    ).toBe("ignore");
  });

  it("adopts a pre-provisioned snapshot", () => {
    const c = content();
    expect(
      decideContent({
        ...base,
        content: { ...c, spec: { ...c.spec, source: { snapshotHandle: "snap-old" } } },
      }),
    ).toEqual({
      kind: "adopt",
      snapshotHandle: "snap-old",
    });
  });

  it("reports the error and delay faults", () => {
    expect(
      decideContent({
        ...base,
        sourcePvc: sourcePvc({ [ANN_FAULT_SNAPSHOT]: "quota exceeded" }),
        content: content(),
      }),
    ).toEqual({
      kind: "error",
      message: "quota exceeded",
    });
    expect(
      decideContent({
        ...base,
        sourcePvc: sourcePvc({ [ANN_FAULT_SNAPSHOT_DELAY]: "5" }),
        content: content(),
        nowMs: 3_000,
      }),
    ).toEqual({
      kind: "delay",
      remainingMs: 3_000,
    });
    expect(
      decideContent({
        ...base,
        sourcePvc: sourcePvc({ [ANN_FAULT_SNAPSHOT_DELAY]: "5" }),
        content: content(),
        nowMs: 6_000,
      }).kind,
    ).toBe("cut");
  });

  it("releases a content being deleted, dropping data only for deletionPolicy Delete", () => {
    const deleting = (policy: string) => {
      const c = content({ status: { snapshotHandle: "snap-abc", readyToUse: true } });
      return {
        ...c,
        metadata: {
          ...c.metadata,
          deletionTimestamp: "2026-01-01T00:00:00Z",
          finalizers: [CONTENT_FINALIZER],
        },
        spec: { ...c.spec, deletionPolicy: policy },
      };
    };
    expect(decideContent({ ...base, content: deleting("Delete") })).toEqual({
      kind: "release",
      deleteData: true,
      snapshotHandle: "snap-abc",
    });
    expect(decideContent({ ...base, content: deleting("Retain") })).toEqual({
      kind: "release",
      deleteData: false,
      snapshotHandle: "snap-abc",
    });
  });
});
