// Objects the harness installs into a fresh cluster: CRDs from the binary cache, the storage
// classes of the CSI simulator, and the canary that proves the storage chain before any test.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import type { KubeClient, KubeObject } from "../../src/kube/client.ts";
import { isKubeError } from "../../src/kube/errors.ts";
import { DRIVER } from "./csi-sim/constants.ts";
import { eventually } from "./poll.ts";

export const STORAGE_CLASS = "csi-sim";
export const STORAGE_CLASS_WFFC = "csi-sim-wffc";
export const SNAPSHOT_CLASS = "csi-sim";

/** Reads every YAML document of every .yaml file in dir (but kustomization.yaml), in file-name order. */
export async function readManifests(dir: string): Promise<KubeObject[]> {
  // A kustomization.yaml (crds/ is a kustomize base) lists the manifests; it is not one.
  const files = (await readdir(dir))
    .filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml")
    .sort();
  const objects: KubeObject[] = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(await readFile(join(dir, file), "utf8"))) {
      if (doc.errors.length > 0)
        throw new Error(`${file}: ${doc.errors[0]?.message ?? "bad YAML"}`);
      const value: unknown = doc.toJS();
      if (value && typeof value === "object") objects.push(value as KubeObject);
    }
  }
  return objects;
}

/** Creates each object; one that exists already is left as it is (a fresh cluster has none). */
export async function createAll(client: KubeClient, objects: readonly KubeObject[]): Promise<void> {
  for (const obj of objects) {
    try {
      await client.create(obj);
    } catch (err) {
      if (!isKubeError(err, "AlreadyExists")) throw err;
    }
  }
}

function hasCondition(obj: KubeObject, type: string): boolean {
  const conditions = (
    obj["status"] as { conditions?: { type?: string; status?: string }[] } | undefined
  )?.conditions;
  return conditions?.some((c) => c.type === type && c.status === "True") ?? false;
}

/** Waits until check() is true; the harness names what it waited for when it gives up. */
async function waitFor(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
): Promise<void> {
  await eventually(`testbed: ${what}`, async () => ((await check()) ? true : undefined), {
    timeoutMs,
  });
}

export async function installCrds(client: KubeClient, dirs: readonly string[]): Promise<string[]> {
  const crds = (await Promise.all(dirs.map(readManifests))).flat();
  await createAll(client, crds);
  const names = crds.map((c) => c.metadata.name ?? "");
  await waitFor(`CRDs to be Established (${names.join(", ")})`, 30_000, async () => {
    const { items } = await client.list("apiextensions.k8s.io/v1", "CustomResourceDefinition");
    const established = new Set(
      items.filter((i) => hasCondition(i, "Established")).map((i) => i.metadata.name),
    );
    return names.every((n) => established.has(n));
  });
  return names;
}

export function storageObjects(): KubeObject[] {
  const storageClass = (name: string, mode: string, isDefault: boolean): KubeObject => ({
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: {
      name,
      ...(isDefault
        ? { annotations: { "storageclass.kubernetes.io/is-default-class": "true" } }
        : {}),
    },
    provisioner: DRIVER,
    reclaimPolicy: "Delete",
    volumeBindingMode: mode,
    allowVolumeExpansion: false,
  });
  return [
    storageClass(STORAGE_CLASS, "Immediate", true),
    storageClass(STORAGE_CLASS_WFFC, "WaitForFirstConsumer", false),
    {
      apiVersion: "snapshot.storage.k8s.io/v1",
      kind: "VolumeSnapshotClass",
      metadata: {
        name: SNAPSHOT_CLASS,
        annotations: { "snapshot.storage.kubernetes.io/is-default-class": "true" },
      },
      driver: DRIVER,
      deletionPolicy: "Delete",
    },
    {
      apiVersion: "storage.k8s.io/v1",
      kind: "CSIDriver",
      metadata: { name: DRIVER },
      // No attacher runs here; without this KCM's attach/detach controller would wait for one.
      spec: { attachRequired: false, podInfoOnMount: false, volumeLifecycleModes: ["Persistent"] },
    },
  ];
}

/**
 * Proves the storage chain end to end: a claim binds through KCM and the simulator, the real
 * snapshot-controller and the simulator make a snapshot ready, and both are cleaned up again.
 */
export async function runStorageCanary(client: KubeClient, timeoutMs = 60_000): Promise<void> {
  const ns = "testbed-canary";
  await createAll(client, [{ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } }]);
  const pvcRef = { apiVersion: "v1", kind: "PersistentVolumeClaim", namespace: ns, name: "canary" };
  const snapRef = {
    apiVersion: "snapshot.storage.k8s.io/v1",
    kind: "VolumeSnapshot",
    namespace: ns,
    name: "canary",
  };
  await client.create({
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name: "canary", namespace: ns },
    spec: {
      accessModes: ["ReadWriteOnce"],
      storageClassName: STORAGE_CLASS,
      resources: { requests: { storage: "1Mi" } },
    },
  });
  await waitFor("the canary claim to bind", timeoutMs, async () => {
    const pvc = await client.get(pvcRef);
    return (pvc["status"] as { phase?: string } | undefined)?.phase === "Bound";
  });
  await client.create({
    apiVersion: "snapshot.storage.k8s.io/v1",
    kind: "VolumeSnapshot",
    metadata: { name: "canary", namespace: ns },
    spec: {
      volumeSnapshotClassName: SNAPSHOT_CLASS,
      source: { persistentVolumeClaimName: "canary" },
    },
  });
  await waitFor("the canary snapshot to be ready", timeoutMs, async () => {
    const snap = await client.get(snapRef);
    return (snap["status"] as { readyToUse?: boolean } | undefined)?.readyToUse === true;
  });
  await client.delete(snapRef);
  await client.delete(pvcRef);
  await client.delete({ apiVersion: "v1", kind: "Namespace", name: ns });
}
