// Reads a HelmRepository's index.yaml (and, for the impact preview, a chart archive) the way
// source-controller does: <url>/index.yaml, with basic auth from spec.secretRef and TLS (CA,
// client certificate) from spec.certSecretRef (or the deprecated caFile/certFile/keyFile keys of
// spec.secretRef). Bounded in time and size; credentials never appear in a message.
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { parseDurationMs } from "../config.ts";
import type { KubeClient } from "../kube/client.ts";
import { isKubeError } from "../kube/errors.ts";
import type { RepositorySettings } from "./chart-source.ts";

/** Why an index could not be read; `transient` failures are read again after a backoff. */
export class IndexReadError extends Error {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.name = "IndexReadError";
    this.reason = reason;
  }
}

export const IndexReadReason = {
  SecretNotFound: "SecretNotFound",
  IndexUnreachable: "IndexUnreachable",
  IndexInvalid: "IndexInvalid",
} as const;

const DEFAULT_TIMEOUT_MS = 60_000;
const MAX_INDEX_BYTES = 64 * 1024 * 1024;
const MAX_REDIRECTS = 5;

interface Transport {
  readonly authorization: string | undefined;
  readonly ca: string | undefined;
  readonly cert: string | undefined;
  readonly key: string | undefined;
}

/** The index URL, as Helm builds it. */
export function indexUrl(repositoryUrl: string): string {
  return `${repositoryUrl.replace(/\/+$/, "")}/index.yaml`;
}

/** The URL without user info, fit for a message. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    return u.toString();
  } catch {
    return "(an invalid URL)";
  }
}

/** A Secret's data, decoded; a missing Secret is an IndexReadError naming it and the field. */
export async function secretData(
  client: Pick<KubeClient, "get">,
  namespace: string,
  name: string,
  field: string,
): Promise<Record<string, string>> {
  try {
    const secret = await client.get({ apiVersion: "v1", kind: "Secret", namespace, name });
    const data = (secret["data"] ?? {}) as Record<string, string>;
    return Object.fromEntries(
      Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
    );
  } catch (err) {
    if (isKubeError(err, "NotFound")) {
      throw new IndexReadError(
        IndexReadReason.SecretNotFound,
        `Secret ${namespace}/${name} (${field}) not found`,
      );
    }
    throw err;
  }
}

async function transportOf(
  client: Pick<KubeClient, "get">,
  settings: RepositorySettings,
): Promise<Transport> {
  const ns = settings.ref.namespace;
  const auth = settings.secretName
    ? await secretData(client, ns, settings.secretName, "spec.secretRef")
    : {};
  const tls = settings.certSecretName
    ? await secretData(client, ns, settings.certSecretName, "spec.certSecretRef")
    : {};
  const pick = (...values: (string | undefined)[]) => values.find((v) => v !== undefined);
  const username = auth["username"];
  const password = auth["password"];
  return {
    authorization:
      username !== undefined && password !== undefined
        ? `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`
        : undefined,
    ca: pick(tls["ca.crt"], tls["caFile"], auth["caFile"]),
    cert: pick(tls["tls.crt"], tls["certFile"], auth["certFile"]),
    key: pick(tls["tls.key"], tls["keyFile"], auth["keyFile"]),
  };
}

function get(
  url: URL,
  transport: Transport,
  authorization: string | undefined,
  accept: string,
  signal: AbortSignal,
) {
  return new Promise<IncomingMessage>((resolve, reject) => {
    const options = {
      method: "GET",
      signal,
      headers: {
        Accept: accept,
        "User-Agent": "cairn-update-check",
        ...(authorization ? { Authorization: authorization } : {}),
      },
    };
    const req =
      url.protocol === "https:"
        ? httpsRequest(url, {
            ...options,
            ...(transport.ca ? { ca: transport.ca } : {}),
            ...(transport.cert && transport.key
              ? { cert: transport.cert, key: transport.key }
              : {}),
          })
        : httpRequest(url, options);
    req.once("response", resolve);
    req.once("error", reject);
    req.end();
  });
}

async function body(res: IncomingMessage, where: string, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      res.destroy();
      throw new IndexReadError(
        IndexReadReason.IndexInvalid,
        `${where}: larger than ${maxBytes / 1024 / 1024} MiB`,
      );
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The text of the repository's index.yaml; rejects with an IndexReadError naming the URL. */
export async function fetchHelmIndex(
  client: Pick<KubeClient, "get">,
  settings: RepositorySettings,
): Promise<string> {
  const bytes = await fetchFromRepository(client, settings, indexUrl(settings.url), {
    maxBytes: MAX_INDEX_BYTES,
    accept: "application/x-yaml, text/yaml, */*",
  });
  return bytes.toString("utf8");
}

export interface RepositoryFetchOptions {
  readonly maxBytes: number;
  readonly accept: string;
}

/**
 * GETs a URL of the repository (its index, a chart archive) with the repository's TLS settings,
 * following redirects. Basic auth goes only to the repository URL's scheme and host, as Helm's
 * getter sends it, unless spec.passCredentials allows every host.
 */
export async function fetchFromRepository(
  client: Pick<KubeClient, "get">,
  settings: RepositorySettings,
  target: string,
  options: RepositoryFetchOptions,
): Promise<Buffer> {
  const transport = await transportOf(client, settings);
  const timeoutMs = Math.min(
    (settings.timeout && parseDurationMs(settings.timeout)) || DEFAULT_TIMEOUT_MS,
    DEFAULT_TIMEOUT_MS,
  );
  const signal = AbortSignal.timeout(timeoutMs);
  const first = new URL(target);
  const repository = new URL(settings.url);
  let url = first;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const where = `GET ${displayUrl(url.toString())}`;
    const sameHost = url.protocol === repository.protocol && url.host === repository.host;
    const authorization =
      settings.passCredentials || sameHost ? transport.authorization : undefined;
    let res: IncomingMessage;
    try {
      res = await get(url, transport, authorization, options.accept, signal);
    } catch (err) {
      const message = signal.aborted
        ? `no answer within ${timeoutMs / 1000}s`
        : (err as Error).message;
      throw new IndexReadError(IndexReadReason.IndexUnreachable, `${where}: ${message}`);
    }
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (status >= 300 && status < 400 && location) {
      res.resume();
      url = new URL(location, url);
      continue;
    }
    if (status !== 200) {
      res.resume();
      throw new IndexReadError(IndexReadReason.IndexUnreachable, `${where}: HTTP ${status}`);
    }
    try {
      return await body(res, where, options.maxBytes);
    } catch (err) {
      if (err instanceof IndexReadError) throw err;
      throw new IndexReadError(
        IndexReadReason.IndexUnreachable,
        `${where}: ${(err as Error).message}`,
      );
    }
  }
  throw new IndexReadError(
    IndexReadReason.IndexUnreachable,
    `GET ${displayUrl(first.toString())}: more than ${MAX_REDIRECTS} redirects`,
  );
}
