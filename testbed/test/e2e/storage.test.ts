// CSI on the test bed: KCM's binder, the real snapshot-controller and the simulator together.
// Volumes carry data, so a restore is checked byte for byte.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import type { KubeClient, KubeObject } from "../../../src/kube/client.ts";
import { ANN_FAULT_SNAPSHOT, ANN_FAULT_SNAPSHOT_DELAY } from "../../src/csi-sim/constants.ts";
import { STORAGE_CLASS, STORAGE_CLASS_WFFC } from "../../src/cluster-objects.ts";
import {
  createTestNamespace,
  deleteNamespace,
  eventually,
  isPodReady,
  testClient,
} from "../../../test/support/kube.ts";
import { getOrUndefined, statusOf, warningEvents } from "../../../test/support/objects.ts";
import { readVolumeFile, volumeFolder, writeVolumeFile } from "../../../test/support/volumes.ts";

const SNAP = "snapshot.storage.k8s.io/v1";

interface SnapshotStatus {
  readyToUse: boolean;
  boundVolumeSnapshotContentName: string;
  restoreSize: string;
  error: { message?: string };
}

describe("CSI provisioning and snapshots with data", () => {
  let client: KubeClient;
  let ns: string;
  const pvcRef = (name: string) => ({
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    namespace: ns,
    name,
  });
  const snapRef = (name: string) => ({
    apiVersion: SNAP,
    kind: "VolumeSnapshot",
    namespace: ns,
    name,
  });

  function claim(
    name: string,
    opts: {
      className?: string;
      size?: string;
      fromSnapshot?: string;
      annotations?: Record<string, string>;
    } = {},
  ): KubeObject {
    return {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: {
        name,
        namespace: ns,
        ...(opts.annotations ? { annotations: opts.annotations } : {}),
      },
      spec: {
        accessModes: ["ReadWriteOnce"],
        storageClassName: opts.className ?? STORAGE_CLASS,
        resources: { requests: { storage: opts.size ?? "1Gi" } },
        ...(opts.fromSnapshot
          ? {
              dataSourceRef: {
                apiGroup: "snapshot.storage.k8s.io",
                kind: "VolumeSnapshot",
                name: opts.fromSnapshot,
              },
            }
          : {}),
      },
    };
  }

  async function phase(name: string): Promise<string | undefined> {
    return statusOf<{ phase: string }>(await client.get(pvcRef(name))).phase;
  }

  async function bound(name: string): Promise<void> {
    await eventually(`PVC ${name} Bound`, async () =>
      (await phase(name)) === "Bound" ? true : undefined,
    );
  }

  async function snapshot(name: string, pvc: string): Promise<void> {
    await client.create({
      apiVersion: SNAP,
      kind: "VolumeSnapshot",
      metadata: { name, namespace: ns },
      spec: { volumeSnapshotClassName: "csi-sim", source: { persistentVolumeClaimName: pvc } },
    });
  }

  async function readySnapshot(name: string): Promise<Partial<SnapshotStatus>> {
    return eventually(`VolumeSnapshot ${name} readyToUse`, async () => {
      const s = statusOf<SnapshotStatus>(await client.get(snapRef(name)));
      return s.readyToUse ? s : undefined;
    });
  }

  beforeAll(async () => {
    client = testClient();
    ns = await createTestNamespace(client, "storage");
  });
  afterAll(async () => {
    await deleteNamespace(client, ns);
  });

  it("restores a snapshot's bytes, not bytes written after it", async () => {
    await client.create(claim("data"));
    await bound("data");
    await writeVolumeFile(client, ns, "data", "db.txt", "version 1 rows");

    await snapshot("before-upgrade", "data");
    const status = await readySnapshot("before-upgrade");
    expect(status.restoreSize).toBe("1Gi");
    const content = await client.get({
      apiVersion: SNAP,
      kind: "VolumeSnapshotContent",
      name: status.boundVolumeSnapshotContentName ?? "",
    });
    const contentStatus = statusOf<{
      snapshotHandle: string;
      creationTime: number;
      restoreSize: number;
    }>(content);
    expect(contentStatus.snapshotHandle).toMatch(/^snap-/);
    expect(contentStatus.restoreSize).toBe(2 ** 30);
    expect(contentStatus.creationTime).toBeGreaterThan(Date.parse("2026-01-01") * 1e6);

    await writeVolumeFile(client, ns, "data", "db.txt", "version 2 migrated rows");

    await client.create(claim("restored", { fromSnapshot: "before-upgrade" }));
    await bound("restored");
    expect(await readVolumeFile(client, ns, "restored", "db.txt")).toBe("version 1 rows");
    expect(await readVolumeFile(client, ns, "data", "db.txt")).toBe("version 2 migrated rows");
    expect(await volumeFolder(client, ns, "restored")).not.toBe(
      await volumeFolder(client, ns, "data"),
    );
  });

  it("keeps a restore smaller than the snapshot Pending with a Warning event", async () => {
    await client.create(claim("too-small", { size: "512Mi", fromSnapshot: "before-upgrade" }));
    const warnings = await eventually("a ProvisioningFailed warning", async () => {
      const events = await warningEvents(client, ns, "too-small");
      return events.length > 0 ? events : undefined;
    });
    expect(warnings.join("\n")).toMatch(
      /ProvisioningFailed: requested volume size 536870912 is less than the size 1073741824/,
    );
    expect(await phase("too-small")).toBe("Pending");
  });

  it("waits for a snapshot that is not ready yet, then restores from it", async () => {
    await client.create(claim("slow", { annotations: { [ANN_FAULT_SNAPSHOT_DELAY]: "4" } }));
    await bound("slow");
    await writeVolumeFile(client, ns, "slow", "f", "slow data");
    await snapshot("slow-snap", "slow");
    await client.create(claim("from-slow", { fromSnapshot: "slow-snap" }));
    const warnings = await eventually("a not-ready warning", async () => {
      const events = await warningEvents(client, ns, "from-slow");
      return events.length > 0 ? events : undefined;
    });
    expect(warnings.join("\n")).toMatch(/VolumeSnapshot slow-snap is not ready to use/);
    expect(await phase("from-slow")).toBe("Pending");
    await readySnapshot("slow-snap");
    await bound("from-slow");
    expect(await readVolumeFile(client, ns, "from-slow", "f")).toBe("slow data");
  });

  it("shows a snapshot error in the VolumeSnapshot's status", async () => {
    await client.create(
      claim("faulty", { annotations: { [ANN_FAULT_SNAPSHOT]: "storage backend quota exceeded" } }),
    );
    await bound("faulty");
    await snapshot("faulty-snap", "faulty");
    const error = await eventually("status.error on the snapshot", async () => {
      const s = statusOf<SnapshotStatus>(await client.get(snapRef("faulty-snap")));
      return s.error?.message ? s.error.message : undefined;
    });
    expect(error).toContain("storage backend quota exceeded");
    expect(statusOf<SnapshotStatus>(await client.get(snapRef("faulty-snap"))).readyToUse).not.toBe(
      true,
    );
  });

  it("binds a WaitForFirstConsumer claim only once a pod uses it", async () => {
    await client.create(claim("late", { className: STORAGE_CLASS_WFFC }));
    // The binder leaves it alone until the scheduler picks a node for a consumer.
    expect(await phase("late")).toBe("Pending");
    await client.create({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "consumer", namespace: ns },
      spec: {
        containers: [
          {
            name: "app",
            image: "registry.invalid/app:1",
            volumeMounts: [{ name: "v", mountPath: "/data" }],
          },
        ],
        volumes: [{ name: "v", persistentVolumeClaim: { claimName: "late" } }],
      },
    });
    await bound("late");
    const pod = await eventually("the consumer pod Ready", async () => {
      const p = await client.get({
        apiVersion: "v1",
        kind: "Pod",
        namespace: ns,
        name: "consumer",
      });
      return isPodReady(p) ? p : undefined;
    });
    const claimObj = await client.get(pvcRef("late"));
    const selected = claimObj.metadata.annotations?.["volume.kubernetes.io/selected-node"];
    expect(selected).toBe((pod["spec"] as { nodeName?: string }).nodeName);
  });

  it("deletes the content and data of a deleted snapshot, and the volume of a deleted claim", async () => {
    await client.create(claim("short-lived"));
    await bound("short-lived");
    await snapshot("gone-soon", "short-lived");
    const status = await readySnapshot("gone-soon");
    const contentRef = {
      apiVersion: SNAP,
      kind: "VolumeSnapshotContent",
      name: status.boundVolumeSnapshotContentName ?? "",
    };
    const handle =
      statusOf<{ snapshotHandle: string }>(await client.get(contentRef)).snapshotHandle ?? "";
    const volumePath = await volumeFolder(client, ns, "short-lived");
    const snapshotPath = volumePath.replace(/\/volumes\/[^/]+$/, `/snapshots/${handle}`);
    expect(existsSync(snapshotPath)).toBe(true);

    await client.delete(snapRef("gone-soon"));
    await eventually("the content deleted", async () =>
      (await getOrUndefined(client, contentRef)) ? undefined : true,
    );
    expect(existsSync(snapshotPath)).toBe(false);

    const pvName = (await client.get(pvcRef("short-lived")))["spec"] as { volumeName: string };
    await client.delete(pvcRef("short-lived"));
    await eventually("the released PV deleted", async () =>
      (await getOrUndefined(client, {
        apiVersion: "v1",
        kind: "PersistentVolume",
        name: pvName.volumeName,
      }))
        ? undefined
        : true,
    );
    expect(existsSync(volumePath)).toBe(false);
  });
});
