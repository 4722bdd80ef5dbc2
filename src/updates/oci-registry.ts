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

/** Where an artifact lives: the registry's base URL and the repository path of an oci:// URL. */
export function ociLocation(
  url: string,
  insecure: boolean,
): { base: string; host: string; repository: string } {
  const parsed = new URL(url.replace(/^oci:\/\//, insecure ? "http://" : "https://"));
  return {
    base: `${parsed.protocol}//${parsed.host}`,
    host: parsed.host,
    repository: parsed.pathname.replace(/^\/+|\/+$/g, ""),
  };
}

/** Where a chart of an OCI HelmRepository lives: the chart's name appended to its URL. */
export function ociChartLocation(
  repositoryUrl: string,
  chart: string,
  insecure: boolean,
): { base: string; host: string; repository: string } {
  const at = ociLocation(repositoryUrl, insecure);
  return { ...at, repository: at.repository ? `${at.repository}/${chart}` : chart };
}

/** Helm's tag for a chart version: OCI tags may not hold "+". */
export const ociTag = (version: string) => version.replace(/\+/g, "_");

/** Where the registry credentials are: a Secret in the source's namespace, and its field. */
export interface OciSecretRef {
  readonly namespace: string;
  readonly name: string;
  readonly field: string;
}

async function credentialsOf(
  client: Pick<KubeClient, "get">,
  secret: OciSecretRef | undefined,
  host: string,
): Promise<Credentials | undefined> {
  if (!secret) return undefined;
  const data = await secretData(client, secret.namespace, secret.name, secret.field);
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

/** The Secret a source's registry credentials are in, named by the field that refers to it. */
export const secretOf = (settings: RepositorySettings): OciSecretRef | undefined =>
  settings.secretName
    ? {
        namespace: settings.ref.namespace,
        name: settings.secretName,
        field: settings.secretField ?? "spec.secretRef",
      }
    : undefined;

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
  const location = ociChartLocation(settings.url, chart, settings.insecure);
  return fetchOciLayer(client, {
    location,
    reference: ociTag(version),
    where: `${settings.url.replace(/\/+$/, "")}/${chart}:${ociTag(version)}`,
    missing: `chart ${chart} ${version} is not in the registry`,
    mediaType: HELM_CHART_LAYER,
    secret: secretOf(settings),
    maxBytes,
  });
}

/** One artifact in a registry: where it is, which layer of it, and with which credentials. */
export interface OciLayerRequest {
  readonly location: { readonly base: string; readonly host: string; readonly repository: string };
  /** A tag, or a manifest digest (sha256:…). */
  readonly reference: string;
  /** How errors name the artifact (its oci:// reference). */
  readonly where: string;
  /** The message for a reference the registry does not have. */
  readonly missing: string;
  /** The layer's media type; without one, the first layer (as source-controller picks). */
  readonly mediaType?: string | undefined;
  readonly secret?: OciSecretRef | undefined;
  readonly maxBytes: number;
}

/**
 * One layer of an OCI artifact: its manifest by tag or digest (a digest reference must match the
 * manifest read), then the layer's blob, checked against its digest. Rejects with IndexReadError.
 */
export async function fetchOciLayer(
  client: Pick<KubeClient, "get">,
  request: OciLayerRequest,
): Promise<Buffer> {
  const { base, host, repository } = request.location;
  const credentials = await credentialsOf(client, request.secret, host);
  const signal = AbortSignal.timeout(TIMEOUT_MS);
  const fail = (reason: string, message: string) =>
    new IndexReadError(reason, `${request.where}: ${message}`);
  let res: Response;
  try {
    res = await registryGet(
      `${base}/v2/${repository}/manifests/${request.reference}`,
      MANIFEST_TYPES.join(", "),
      credentials,
      signal,
    );
  } catch (err) {
    throw fail(IndexReadReason.IndexUnreachable, (err as Error).message);
  }
  if (res.status === 404) {
    await res.body?.cancel();
    throw fail(IndexReadReason.IndexUnreachable, request.missing);
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw fail(IndexReadReason.IndexUnreachable, `manifest: HTTP ${res.status}`);
  }
  const body = await bytesOf(res, request.where, MAX_MANIFEST_BYTES);
  if (
    request.reference.startsWith("sha256:") &&
    `sha256:${createHash("sha256").update(body).digest("hex")}` !== request.reference
  )
    throw fail(IndexReadReason.IndexInvalid, `the manifest does not match ${request.reference}`);
  let json: unknown;
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch {
    json = undefined;
  }
  const manifest = Manifest.safeParse(json);
  const layers = manifest.success ? manifest.data.layers : [];
  const layer =
    request.mediaType === undefined
      ? layers[0]
      : layers.find((l) => l.mediaType === request.mediaType);
  if (!layer)
    throw fail(
      IndexReadReason.IndexInvalid,
      request.mediaType === HELM_CHART_LAYER
        ? "no Helm chart layer in the manifest"
        : request.mediaType === undefined
          ? "the manifest has no layer"
          : `no layer of media type ${request.mediaType} in the manifest`,
    );
  if (layer.size > request.maxBytes)
    throw fail(IndexReadReason.IndexInvalid, `the layer is larger than ${request.maxBytes} bytes`);
  let blob: Response;
  try {
    blob = await registryGet(
      `${base}/v2/${repository}/blobs/${layer.digest}`,
      layer.mediaType,
      credentials,
      signal,
    );
  } catch (err) {
    throw fail(IndexReadReason.IndexUnreachable, (err as Error).message);
  }
  if (!blob.ok) {
    await blob.body?.cancel();
    throw fail(IndexReadReason.IndexUnreachable, `layer: HTTP ${blob.status}`);
  }
  const archive = await bytesOf(blob, request.where, request.maxBytes);
  const digest = `sha256:${createHash("sha256").update(archive).digest("hex")}`;
  if (digest !== layer.digest)
    throw fail(IndexReadReason.IndexInvalid, `the layer does not match ${layer.digest}`);
  return archive;
}

const TagList = z.object({ tags: z.array(z.string()).nullish() });
const MAX_TAG_PAGES = 20;

/** A registry repository whose tags to list, and how to reach it. */
export interface TagListing {
  readonly location: { readonly base: string; readonly host: string; readonly repository: string };
  /** The key of the registry's entry in a .dockerconfigjson, when it is not the host. */
  readonly credentialsKey?: string;
  readonly secret: OciSecretRef | undefined;
  /** How errors name the repository. */
  readonly where: string;
}

/**
 * A registry repository's tags (distribution's tags/list, following the Link header's next
 * pages); none when the registry does not know the repository. Rejects with IndexReadError.
 */
export async function listOciTags(
  client: Pick<KubeClient, "get">,
  listing: TagListing,
): Promise<string[]> {
  const { base, host, repository } = listing.location;
  const credentials = await credentialsOf(client, listing.secret, listing.credentialsKey ?? host);
  const signal = AbortSignal.timeout(TIMEOUT_MS);
  const where = listing.where;
  const tags: string[] = [];
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
      return tags;
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
    tags.push(...(parsed.data.tags ?? []));
    const link = /<([^>]+)>;\s*rel="?next"?/.exec(res.headers.get("link") ?? "")?.[1];
    next = link === undefined ? undefined : new URL(link, base).toString();
  }
  return tags;
}

/**
 * The chart versions an OCI source offers: the tags of `<url>/<chart>` for a HelmRepository of
 * type oci, or of the repository its URL names for an OCIRepository (a HelmRelease's
 * spec.chartRef), which is the chart's own; a `_` read back as the `+` Helm replaced. Rejects
 * with IndexReadError.
 */
export async function listOciChartVersions(
  client: Pick<KubeClient, "get">,
  settings: RepositorySettings,
  chart: string,
): Promise<string[]> {
  const url = settings.url.replace(/\/+$/, "");
  const helmRepository = settings.type === "oci";
  const tags = await listOciTags(client, {
    location: helmRepository
      ? ociChartLocation(settings.url, chart, settings.insecure)
      : ociLocation(settings.url, settings.insecure),
    secret: secretOf(settings),
    where: helmRepository ? `${url}/${chart}` : url,
  });
  return tags.map((t) => t.replace(/_/g, "+"));
}
