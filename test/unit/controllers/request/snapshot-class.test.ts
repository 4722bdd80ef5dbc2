import { describe, expect, it } from "vitest";
import { pickClass } from "../../../../src/controllers/upgrade/snapshot-class.ts";
import type { KubeObject } from "../../../../src/kube/client.ts";

const HOSTPATH = "hostpath.csi.k8s.io";
const EBS = "ebs.csi.aws.com";

function cls(name: string, driver: string, isDefault?: boolean): KubeObject {
  return {
    apiVersion: "snapshot.storage.k8s.io/v1",
    kind: "VolumeSnapshotClass",
    metadata: {
      name,
      ...(isDefault === undefined
        ? {}
        : {
            annotations: {
              "snapshot.storage.kubernetes.io/is-default-class": isDefault ? "true" : "false",
            },
          }),
    },
    driver,
    deletionPolicy: "Delete",
  };
}

describe("pickClass with a class named by the app", () => {
  const classes = [cls("fast", HOSTPATH), cls("ebs", EBS, true)];

  it("takes it when it exists for the PVCs' driver", () => {
    expect(pickClass(classes, HOSTPATH, "fast")).toEqual({
      ok: true,
      name: "fast",
      message: `VolumeSnapshotClass fast (driver ${HOSTPATH})`,
    });
  });

  it("refuses a class that does not exist, naming the field", () => {
    expect(pickClass(classes, HOSTPATH, "slow")).toEqual({
      ok: false,
      message: "spec.volumeSnapshots.volumeSnapshotClassName: VolumeSnapshotClass slow not found",
    });
  });

  it("refuses a class of another driver, naming both drivers", () => {
    expect(pickClass(classes, HOSTPATH, "ebs")).toEqual({
      ok: false,
      message: `spec.volumeSnapshots.volumeSnapshotClassName: VolumeSnapshotClass ebs is for driver ${EBS}, the PVCs use ${HOSTPATH}`,
    });
  });

  it("refuses a class without a driver", () => {
    const odd: KubeObject = {
      apiVersion: "snapshot.storage.k8s.io/v1",
      kind: "VolumeSnapshotClass",
      metadata: { name: "odd" },
    };
    const out = pickClass([odd], HOSTPATH, "odd");
    expect(out.ok).toBe(false);
    expect(out.message).toContain("is for driver ?");
  });

  it("does not look at defaults when a class is named", () => {
    const withDefault = [cls("fast", HOSTPATH), cls("default", HOSTPATH, true)];
    expect(pickClass(withDefault, HOSTPATH, "fast")).toMatchObject({ ok: true, name: "fast" });
  });
});

describe("pickClass without a named class", () => {
  it("takes the driver's default class among several", () => {
    const classes = [
      cls("a", HOSTPATH),
      cls("b", HOSTPATH, true),
      cls("c", HOSTPATH, false),
      cls("ebs-default", EBS, true),
    ];
    expect(pickClass(classes, HOSTPATH, undefined)).toEqual({
      ok: true,
      name: "b",
      message: `VolumeSnapshotClass b (driver ${HOSTPATH})`,
    });
  });

  it("takes the driver's only class even without the default annotation", () => {
    const classes = [cls("only", HOSTPATH), cls("ebs-default", EBS, true), cls("ebs-2", EBS)];
    expect(pickClass(classes, HOSTPATH, undefined)).toMatchObject({ ok: true, name: "only" });
  });

  it("takes the driver's only class even when annotated not-default", () => {
    expect(pickClass([cls("only", HOSTPATH, false)], HOSTPATH, undefined)).toMatchObject({
      ok: true,
      name: "only",
    });
  });

  it("refuses when several classes exist for the driver and none is the default", () => {
    const classes = [cls("a", HOSTPATH), cls("b", HOSTPATH, false), cls("ebs", EBS, true)];
    expect(pickClass(classes, HOSTPATH, undefined)).toEqual({
      ok: false,
      message: `several VolumeSnapshotClasses exist for driver ${HOSTPATH} and none is the default; set spec.volumeSnapshots.volumeSnapshotClassName`,
    });
  });

  it("refuses when two classes of the driver both claim to be the default", () => {
    const out = pickClass(
      [cls("a", HOSTPATH, true), cls("b", HOSTPATH, true)],
      HOSTPATH,
      undefined,
    );
    expect(out.ok).toBe(false);
    expect(out.message).toContain("spec.volumeSnapshots.volumeSnapshotClassName");
  });

  it("refuses when no class exists for the driver (another driver's default does not count)", () => {
    expect(pickClass([cls("ebs", EBS, true)], HOSTPATH, undefined)).toEqual({
      ok: false,
      message: `no VolumeSnapshotClass exists for driver ${HOSTPATH}`,
    });
    expect(pickClass([], HOSTPATH, undefined)).toEqual({
      ok: false,
      message: `no VolumeSnapshotClass exists for driver ${HOSTPATH}`,
    });
  });
});
