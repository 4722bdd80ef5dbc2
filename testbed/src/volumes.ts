// Reads and writes the bytes behind a PVC on the test bed: the CSI simulator keeps each volume
// in a folder and records it in the PV's volumeAttributes. This stands in for what an app writes.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { KubeClient } from "../../src/kube/client.ts";

export async function volumeFolder(
  client: KubeClient,
  namespace: string,
  pvc: string,
): Promise<string> {
  const claim = await client.get({
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    namespace,
    name: pvc,
  });
  const volumeName = (claim["spec"] as { volumeName?: string }).volumeName;
  if (!volumeName) throw new Error(`PVC ${namespace}/${pvc} is not bound`);
  const pv = await client.get({ apiVersion: "v1", kind: "PersistentVolume", name: volumeName });
  const path = (pv["spec"] as { csi?: { volumeAttributes?: Record<string, string> } }).csi
    ?.volumeAttributes?.["path"];
  if (!path) throw new Error(`PV ${volumeName} has no simulator folder`);
  return path;
}

export async function writeVolumeFile(
  client: KubeClient,
  namespace: string,
  pvc: string,
  file: string,
  content: string,
): Promise<void> {
  await writeFile(join(await volumeFolder(client, namespace, pvc), file), content);
}

export async function readVolumeFile(
  client: KubeClient,
  namespace: string,
  pvc: string,
  file: string,
): Promise<string> {
  return readFile(join(await volumeFolder(client, namespace, pvc), file), "utf8");
}
