// A Helm chart stored as an OCI artifact, read as Helm's registry client reads it from a
// HelmRepository of `type: oci`: the manifest of <url>/<chart>:<version> (a `+` in the version
// becomes `_` in the tag), its layer of media type application/vnd.cncf.helm.chart.content.v1.tar+gzip,
// checked against its digest. Plain HTTP only with the HelmRepository's spec.insecure. Anonymous,
// or with spec.secretRef: username/password keys or a .dockerconfigjson; a registry that answers
// 401 with a Bearer challenge is asked for a token first (the distribution token flow).
import { createHash } from "node:crypto";
import { z } from "zod";
import type { KubeClient } from "../kube/client.ts";
import type { RepositorySettings } from "./chart-source.ts";
import { IndexReadError, IndexReadReason, secretData } from "./fetch-index.ts";

export const HELM_CHART_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
const MANIFEST_TYPES = [
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
];
const TIMEOUT_MS = 60_000;
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

const Manifest = z.object({
  layers: z.array(z.object({ mediaType: z.string(), digest: z.string(), size: z.number() })),
});

interface Credentials {
  readonly username: string;
  readonly password: string;
}

/** Where a chart lives: the registry's base URL and the repository path in it. */
export function ociChartLocation(
  repositoryUrl: string,
  chart: string,
  insecure: boolean,
): { base: string; host: string; repository: string } {
  const url = new URL(repositoryUrl.replace(/^oci:\/\//, insecure ? "http://" : "https://"));
  const path = url.pathname.replace(/^\/+|\/+$/g, "");
  return {
    base: `${url.protocol}//${url.host}`,
    host: url.host,
    repository: path ? `${path}/${chart}` : chart,
  };
}

/** Helm's tag for a chart version: OCI tags may not hold "+". */
export const ociTag = (version: string) => version.replace(/\+/g, "_");

async function credentialsOf(
  client: Pick<KubeClient, "get">,
  settings: RepositorySettings,
  host: string,
): Promise<Credentials | undefined> {
  if (!settings.secretName) return undefined;
  const data = await secretData(
    client,
    settings.ref.namespace,
    settings.secretName,
    "spec.secretRef",
  );
  const { username, password } = data;
  if (username !== undefined && password !== undefined) return { username, password };
  const config = data[".dockerconfigjson"];
  if (config === undefined) return undefined;
  const auths = (JSON.parse(config) as { auths?: Record<string, Record<string, string>> }).auths;
  const entry = auths?.[host] ?? auths?.[`https://${host}`] ?? auths?.[`http://${host}`];
  if (!entry) return undefined;
  if (entry["username"] !== undefined && entry["password"] !== undefined)
    return { username: entry["username"], password: entry["password"] };
  const decoded = entry["auth"] ? Buffer.from(entry["auth"], "base64").toString("utf8") : "";
  const colon = decoded.indexOf(":");
  return colon > 0
    ? { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
    : undefined;
}

const basic = (c: Credentials) =>
  `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}`;

/** The challenge's parameters: Bearer realm="…",service="…",scope="…". */
function challenge(header: string): { scheme: string; params: Record<string, string> } {
  const [scheme = "", ...rest] = header.trim().split(/\s+/);
  const params: Record<string, string> = {};
  for (const m of rest.join(" ").matchAll(/(\w+)="([^"]*)"/g)) params[m[1] ?? ""] = m[2] ?? "";
  return { scheme: scheme.toLowerCase(), params };
}

/** GETs a registry URL, answering a 401's challenge once (Basic, or a Bearer token). */
async function registryGet(
  url: string,
  accept: string,
  credentials: Credentials | undefined,
  signal: AbortSignal,
): Promise<Response> {
  const get = (authorization?: string) =>
    fetch(url, {
      headers: { Accept: accept, ...(authorization ? { Authorization: authorization } : {}) },
      signal,
    });
  const first = await get();
  if (first.status !== 401) return first;
  await first.body?.cancel();
  const { scheme, params } = challenge(first.headers.get("www-authenticate") ?? "");
  if (scheme === "basic") return credentials ? get(basic(credentials)) : first;
  if (scheme !== "bearer" || !params["realm"]) return first;
  const tokenUrl = new URL(params["realm"]);
  if (params["service"]) tokenUrl.searchParams.set("service", params["service"]);
  if (params["scope"]) tokenUrl.searchParams.set("scope", params["scope"]);
  const tokenRes = await fetch(tokenUrl, {
    headers: credentials ? { Authorization: basic(credentials) } : {},
    signal,
  });
  if (!tokenRes.ok) return tokenRes;
  const body = (await tokenRes.json()) as { token?: string; access_token?: string };
  const token = body.token ?? body.access_token;
  return token ? get(`Bearer ${token}`) : first;
}

async function bytesOf(res: Response, where: string, maxBytes: number): Promise<Buffer> {
  const reader = (res.body as ReadableStream<Uint8Array> | null)?.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const next = await reader?.read();
    if (!next || next.done) break;
    size += next.value.length;
    if (size > maxBytes) {
      await reader?.cancel();
      throw new IndexReadError(
        IndexReadReason.IndexInvalid,
        `${where}: larger than ${maxBytes / 1024 / 1024} MiB`,
      );
    }
    chunks.push(next.value);
  }
  return Buffer.concat(chunks);
}

/** The chart archive of chart@version from an OCI HelmRepository; rejects with IndexReadError. */
export async function fetchOciChart(
  client: Pick<KubeClient, "get">,
  settings: RepositorySettings,
  chart: string,
  version: string,
  maxBytes: number,
): Promise<Buffer> {
  const { base, host, repository } = ociChartLocation(settings.url, chart, settings.insecure);
  const credentials = await credentialsOf(client, settings, host);
  const signal = AbortSignal.timeout(TIMEOUT_MS);
  const ref = `${settings.url.replace(/\/+$/, "")}/${chart}:${ociTag(version)}`;
  const fail = (reason: string, message: string) =>
    new IndexReadError(reason, `${ref}: ${message}`);
  let res: Response;
  try {
    res = await registryGet(
      `${base}/v2/${repository}/manifests/${ociTag(version)}`,
      MANIFEST_TYPES.join(", "),
      credentials,
      signal,
    );
  } catch (err) {
    throw fail(IndexReadReason.IndexUnreachable, (err as Error).message);
  }
  if (res.status === 404) {
    await res.body?.cancel();
    throw fail(
      IndexReadReason.IndexUnreachable,
      `chart ${chart} ${version} is not in the registry`,
    );
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw fail(IndexReadReason.IndexUnreachable, `manifest: HTTP ${res.status}`);
  }
  const manifest = Manifest.safeParse(
    JSON.parse((await bytesOf(res, ref, MAX_MANIFEST_BYTES)).toString("utf8")),
  );
  const layer = manifest.success
    ? manifest.data.layers.find((l) => l.mediaType === HELM_CHART_LAYER)
    : undefined;
  if (!layer) throw fail(IndexReadReason.IndexInvalid, "no Helm chart layer in the manifest");
  if (layer.size > maxBytes)
    throw fail(IndexReadReason.IndexInvalid, `the chart is larger than ${maxBytes} bytes`);
  let blob: Response;
  try {
    blob = await registryGet(
      `${base}/v2/${repository}/blobs/${layer.digest}`,
      HELM_CHART_LAYER,
      credentials,
      signal,
    );
  } catch (err) {
    throw fail(IndexReadReason.IndexUnreachable, (err as Error).message);
  }
  if (!blob.ok) {
    await blob.body?.cancel();
    throw fail(IndexReadReason.IndexUnreachable, `chart layer: HTTP ${blob.status}`);
  }
  const archive = await bytesOf(blob, ref, maxBytes);
  const digest = `sha256:${createHash("sha256").update(archive).digest("hex")}`;
  if (digest !== layer.digest)
    throw fail(IndexReadReason.IndexInvalid, `the chart layer does not match ${layer.digest}`);
  return archive;
}

const TagList = z.object({ tags: z.array(z.string()).nullish() });
const MAX_TAG_PAGES = 20;

/**
 * The chart versions an OCI repository offers: its tags (distribution's tags/list, following
 * the Link header's next pages), a `_` read back as the `+` Helm replaced. Rejects with
 * IndexReadError.
 */
export async function listOciChartVersions(
  client: Pick<KubeClient, "get">,
  settings: RepositorySettings,
  chart: string,
): Promise<string[]> {
  const { base, host, repository } = ociChartLocation(settings.url, chart, settings.insecure);
  const credentials = await credentialsOf(client, settings, host);
  const signal = AbortSignal.timeout(TIMEOUT_MS);
  const where = `${settings.url.replace(/\/+$/, "")}/${chart}`;
  const versions: string[] = [];
  let next: string | undefined = `${base}/v2/${repository}/tags/list`;
  for (let page = 0; next !== undefined && page < MAX_TAG_PAGES; page++) {
    let res: Response;
    try {
      res = await registryGet(next, "application/json", credentials, signal);
    } catch (err) {
      throw new IndexReadError(
        IndexReadReason.IndexUnreachable,
        `${where}: ${(err as Error).message}`,
      );
    }
    if (res.status === 404) {
      await res.body?.cancel();
      return versions;
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new IndexReadError(
        IndexReadReason.IndexUnreachable,
        `${where}: tags: HTTP ${res.status}`,
      );
    }
    const parsed = TagList.safeParse(
      JSON.parse((await bytesOf(res, where, MAX_MANIFEST_BYTES)).toString("utf8")),
    );
    if (!parsed.success)
      throw new IndexReadError(IndexReadReason.IndexInvalid, `${where}: the tag list is not valid`);
    versions.push(...(parsed.data.tags ?? []).map((t) => t.replace(/_/g, "+")));
    const link = /<([^>]+)>;\s*rel="?next"?/.exec(res.headers.get("link") ?? "")?.[1];
    next = link === undefined ? undefined : new URL(link, base).toString();
  }
  return versions;
}
