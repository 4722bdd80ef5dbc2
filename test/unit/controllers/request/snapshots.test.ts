import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  isOurs,
  quantityBytes,
  SNAPSHOT_API,
  snapshotName,
  snapshotObject,
  snapshotState,
} from "../../../../src/controllers/request/snapshots.ts";
import type { KubeObject } from "../../../../src/kube/client.ts";

const UID = "1234abcd-ef56-7890-abcd-ef0123456789";
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const sha = (s: string) => createHash("sha256").update(s).digest("hex");

describe("snapshotName", () => {
  it("is <pvc>-<first 8 hex of the uid, without dashes>", () => {
    expect(snapshotName("data-pg-0", UID)).toBe("data-pg-0-1234abcd");
    expect(snapshotName("data", "12-34-56-78-9a")).toBe("data-12345678");
  });

  it("is deterministic", () => {
    expect(snapshotName("data-pg-0", UID)).toBe(snapshotName("data-pg-0", UID));
    const long = "x".repeat(300);
    expect(snapshotName(long, UID)).toBe(snapshotName(long, UID));
  });

  it("differs between requests and between PVCs", () => {
    expect(snapshotName("data", UID)).not.toBe(snapshotName("data", "9876abcd-0000"));
    expect(snapshotName("data-0", UID)).not.toBe(snapshotName("data-1", UID));
  });

  it("keeps a name of exactly 253 characters as it is", () => {
    const pvc = "p".repeat(253 - 9);
    expect(snapshotName(pvc, UID)).toBe(`${pvc}-1234abcd`);
    expect(snapshotName(pvc, UID)).toHaveLength(253);
  });

  it("cuts a name that would be longer and adds a hash of the whole PVC name", () => {
    const pvc = "p".repeat(253 - 8);
    const name = snapshotName(pvc, UID);
    expect(name.length).toBeLessThanOrEqual(253);
    expect(name).toBe(`${"p".repeat(235)}-${sha(pvc).slice(0, 8)}-1234abcd`);
    expect(name).toMatch(DNS_SUBDOMAIN);
  });

  it.each([254, 300, 253 + 9, 1000])("a %d-character PVC name gives ≤ 253", (n) => {
    const name = snapshotName("a".repeat(n), UID);
    expect(name.length).toBeLessThanOrEqual(253);
    expect(name).toMatch(DNS_SUBDOMAIN);
    expect(name.endsWith("-1234abcd")).toBe(true);
  });

  it("two long names that differ only at the end stay distinct", () => {
    const common = "data-".repeat(60);
    const a = snapshotName(`${common}aaaa`, UID);
    const b = snapshotName(`${common}bbbb`, UID);
    expect(a.length).toBeLessThanOrEqual(253);
    expect(b.length).toBeLessThanOrEqual(253);
    expect(a).not.toBe(b);
  });

  it("does not leave a dash or dot before the hash where the cut falls", () => {
    const pvc = `${"a".repeat(233)}-.${"b".repeat(30)}`;
    const name = snapshotName(pvc, UID);
    expect(name).toBe(`${"a".repeat(233)}-${sha(pvc).slice(0, 8)}-1234abcd`);
    expect(name).toMatch(DNS_SUBDOMAIN);
  });
});

describe("snapshotObject", () => {
  const spec = {
    namespace: "shop",
    name: "data-pg-0-1234abcd",
    pvc: "data-pg-0",
    className: "csi-hostpath-snapclass",
    app: "pg",
    request: { name: "pg-to-16", uid: UID },
  };

  it("is a VolumeSnapshot of the PVC, labelled with app, request and PVC", () => {
    expect(snapshotObject(spec)).toEqual({
      apiVersion: "snapshot.storage.k8s.io/v1",
      kind: "VolumeSnapshot",
      metadata: {
        name: "data-pg-0-1234abcd",
        namespace: "shop",
        labels: {
          "cairn.dev/managed-app": "pg",
          "cairn.dev/request-uid": UID,
          "cairn.dev/request": "pg-to-16",
          "cairn.dev/pvc": "data-pg-0",
        },
      },
      spec: {
        source: { persistentVolumeClaimName: "data-pg-0" },
        volumeSnapshotClassName: "csi-hostpath-snapclass",
      },
    });
    expect(SNAPSHOT_API).toBe("snapshot.storage.k8s.io/v1");
  });

  it("leaves the class out when there is none (the driver's default applies)", () => {
    expect(snapshotObject({ ...spec, className: undefined })["spec"]).toEqual({
      source: { persistentVolumeClaimName: "data-pg-0" },
    });
    expect(snapshotObject({ ...spec, className: "" })["spec"]).not.toHaveProperty(
      "volumeSnapshotClassName",
    );
  });

  it("puts a hash in the PVC label when the name is too long for a label value", () => {
    const pvc63 = "p".repeat(63);
    expect(snapshotObject({ ...spec, pvc: pvc63 }).metadata.labels?.["cairn.dev/pvc"]).toBe(pvc63);
    const pvc64 = "p".repeat(64);
    const obj = snapshotObject({ ...spec, pvc: pvc64 });
    expect(obj.metadata.labels?.["cairn.dev/pvc"]).toBe(sha(pvc64).slice(0, 16));
    // The source keeps the real name.
    expect(obj["spec"]).toMatchObject({ source: { persistentVolumeClaimName: pvc64 } });
  });
});

const vs = (status?: unknown): KubeObject => ({
  apiVersion: SNAPSHOT_API,
  kind: "VolumeSnapshot",
  metadata: { name: "s", namespace: "shop" },
  ...(status === undefined ? {} : { status }),
});

describe("snapshotState", () => {
  it("is missing without an object", () => {
    expect(snapshotState(undefined)).toEqual({ state: "missing" });
  });

  it("is ready with readyToUse, carrying the restore size", () => {
    expect(snapshotState(vs({ readyToUse: true, restoreSize: "10Gi" }))).toEqual({
      state: "ready",
      restoreSize: "10Gi",
    });
    expect(snapshotState(vs({ readyToUse: true }))).toEqual({
      state: "ready",
      restoreSize: undefined,
    });
  });

  it("is ready even if an old error is still reported", () => {
    expect(
      snapshotState(vs({ readyToUse: true, error: { message: "transient", time: "t" } })).state,
    ).toBe("ready");
  });

  it("is error when the snapshot controller reports one", () => {
    expect(
      snapshotState(
        vs({
          readyToUse: false,
          error: { message: "quota exceeded", time: "2025-03-01T12:00:00Z" },
        }),
      ),
    ).toEqual({ state: "error", message: "quota exceeded", since: "2025-03-01T12:00:00Z" });
    expect(snapshotState(vs({ error: { message: "boom" } }))).toEqual({
      state: "error",
      message: "boom",
      since: undefined,
    });
  });

  it("is pending while being cut, or before the snapshot controller saw it", () => {
    expect(snapshotState(vs({ readyToUse: false }))).toEqual({
      state: "pending",
      message: "being cut (readyToUse is false)",
    });
    expect(snapshotState(vs({ readyToUse: false, error: {} }))).toMatchObject({
      state: "pending",
    });
    expect(snapshotState(vs())).toEqual({
      state: "pending",
      message: "waiting for the snapshot controller",
    });
  });
});

describe("isOurs", () => {
  const labelled = (labels?: Record<string, string>): KubeObject => ({
    apiVersion: SNAPSHOT_API,
    kind: "VolumeSnapshot",
    metadata: { name: "s", ...(labels ? { labels } : {}) },
  });

  it("is true only for the request's uid label", () => {
    expect(isOurs(labelled({ "cairn.dev/request-uid": UID }), UID)).toBe(true);
    expect(isOurs(labelled({ "cairn.dev/request-uid": "other" }), UID)).toBe(false);
    expect(isOurs(labelled({ "cairn.dev/request": UID }), UID)).toBe(false);
    expect(isOurs(labelled(), UID)).toBe(false);
  });
});

describe("quantityBytes", () => {
  it.each([
    ["1073741824", 1073741824],
    ["10Gi", 10 * 2 ** 30],
    ["1.5Gi", 1.5 * 2 ** 30],
    ["500M", 500e6],
    ["1k", 1000],
    ["1Ki", 1024],
    ["2Mi", 2 * 2 ** 20],
    ["1Ti", 2 ** 40],
    ["3G", 3e9],
    ["1T", 1e12],
    ["1Pi", 2 ** 50],
    ["1E", 1e18],
    ["0", 0],
  ])("%s is %d bytes", (q, bytes) => {
    expect(quantityBytes(q)).toBe(bytes);
  });

  it("reads the milli suffix", () => {
    expect(quantityBytes("1500m")).toBeCloseTo(1.5);
  });

  it.each([undefined, "", "10GB", "Gi", "ten", "-1Gi", "10 Gi", "1Xi"])(
    "%j is not a quantity it reads",
    (q) => {
      expect(quantityBytes(q)).toBeUndefined();
    },
  );

  it("orders sizes across units", () => {
    expect(quantityBytes("1Gi") ?? 0).toBeGreaterThan(quantityBytes("1G") ?? Infinity);
    expect(quantityBytes("1024Mi")).toBe(quantityBytes("1Gi"));
  });
});
