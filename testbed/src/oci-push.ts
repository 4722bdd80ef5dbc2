// Publishes the packaged test-bed charts to the bed's OCI registry the way `helm push` does:
// the chart archive as a layer of media type application/vnd.cncf.helm.chart.content.v1.tar+gzip,
// Chart.yaml's fields as the config (application/vnd.cncf.helm.config.v1+json), under
// <registry>/charts/<name>:<version>, through the OCI distribution API (monolithic blob uploads,
// then the manifest). Test images (pushImage) go the same way.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { PackagedChart } from "./helm-repo.ts";

export const HELM_CHART_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
export const HELM_CHART_CONFIG = "application/vnd.cncf.helm.config.v1+json";
const MANIFEST = "application/vnd.oci.image.manifest.v1+json";
/** The repository path under which charts are pushed: oci://<host>/charts. */
export const OCI_CHART_PATH = "charts";

const sha256 = (data: Buffer) => `sha256:${createHash("sha256").update(data).digest("hex")}`;

async function uploadBlob(base: string, repository: string, data: Buffer): Promise<string> {
  const digest = sha256(data);
  // A monolithic upload of a blob the registry already holds is accepted again.
  const start = await fetch(`${base}/v2/${repository}/blobs/uploads/`, { method: "POST" });
  const location = start.headers.get("location");
  if (start.status !== 202 || !location)
    throw new Error(`starting an upload to ${repository}: HTTP ${start.status}`);
  const url = new URL(location, base);
  url.searchParams.set("digest", digest);
  const put = await fetch(url, {
    method: "PUT",
    headers: { "content-type": "application/octet-stream" },
    body: data,
  });
  if (put.status !== 201)
    throw new Error(`uploading ${digest} to ${repository}: HTTP ${put.status}`);
  return digest;
}

/**
 * Pushes one chart; `base` is the registry's http://host:port, `path` the repository path the
 * chart's name is appended to (a test may publish under its own).
 */
export async function pushChart(
  base: string,
  chart: PackagedChart,
  path: string = OCI_CHART_PATH,
): Promise<void> {
  const repository = `${path}/${chart.name}`;
  const archive = await readFile(chart.file);
  const { name, version, appVersion } = chart;
  const config = Buffer.from(JSON.stringify({ apiVersion: "v2", name, version, appVersion }));
  const layerDigest = await uploadBlob(base, repository, archive);
  const configDigest = await uploadBlob(base, repository, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST,
      config: { mediaType: HELM_CHART_CONFIG, digest: configDigest, size: config.length },
      layers: [{ mediaType: HELM_CHART_LAYER, digest: layerDigest, size: archive.length }],
    }),
  );
  await putManifest(base, repository, chart.version, manifest);
}

/** Stores a manifest under a tag; its blobs must be uploaded first. */
async function putManifest(
  base: string,
  repository: string,
  tag: string,
  manifest: Buffer,
): Promise<void> {
  const put = await fetch(`${base}/v2/${repository}/manifests/${tag}`, {
    method: "PUT",
    headers: { "content-type": MANIFEST },
    body: manifest,
  });
  if (put.status !== 201)
    throw new Error(`pushing ${repository}:${tag}: HTTP ${put.status} ${await put.text()}`);
}

const IMAGE_CONFIG = "application/vnd.oci.image.config.v1+json";
const IMAGE_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";

/**
 * Pushes a minimal container image (a config and one small layer) as `<repository>:<tag>`, so
 * that the registry lists the tag as it would a real image's.
 */
export async function pushImage(base: string, repository: string, tag: string): Promise<void> {
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config: { Labels: { "org.opencontainers.image.version": tag } },
      rootfs: { type: "layers", diff_ids: [] },
    }),
  );
  const layer = Buffer.from(`the layer of ${repository}:${tag}`);
  const configDigest = await uploadBlob(base, repository, config);
  const layerDigest = await uploadBlob(base, repository, layer);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST,
      config: { mediaType: IMAGE_CONFIG, digest: configDigest, size: config.length },
      layers: [{ mediaType: IMAGE_LAYER, digest: layerDigest, size: layer.length }],
    }),
  );
  await putManifest(base, repository, tag, manifest);
}
