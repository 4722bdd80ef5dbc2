// The chart archive of a HelmRelease at a target version, fetched as source-controller fetches
// it from a HelmRepository of the default (HTTP) type: index.yaml at the repository URL, the
// entry for the chart name and version, then its first URL (relative URLs resolve against the
// repository URL). OCI repositories and repositories that need credentials are out of reach for
// now and say so, so the plan reports "no impact" honestly instead of guessing.
import { parse } from "yaml";
import { z } from "zod";

const IndexEntry = z.object({
  version: z.string(),
  urls: z.array(z.string()).min(1),
  digest: z.string().optional(),
});
const RepoIndex = z.object({ entries: z.record(z.string(), z.array(IndexEntry).nullable()) });

export type ChartUrlResult =
  | { readonly ok: true; readonly url: string; readonly digest?: string }
  | { readonly ok: false; readonly message: string };

/** Where the archive of name@version is, from the repository's index.yaml text. */
export function chartUrlFromIndex(
  repoUrl: string,
  indexYaml: string,
  name: string,
  version: string,
): ChartUrlResult {
  let index: z.infer<typeof RepoIndex>;
  try {
    index = RepoIndex.parse(parse(indexYaml, { maxAliasCount: 100 }));
  } catch (err) {
    return { ok: false, message: `the repository index is not valid: ${(err as Error).message}` };
  }
  // The index may spell a version with a leading "v"; Helm matches either.
  const wanted = version.replace(/^v/, "");
  const entry = (index.entries[name] ?? []).find((e) => e.version.replace(/^v/, "") === wanted);
  if (!entry)
    return { ok: false, message: `chart ${name} ${version} is not in the repository index` };
  const first = entry.urls[0] ?? "";
  const base = repoUrl.endsWith("/") ? repoUrl : `${repoUrl}/`;
  let url: string;
  try {
    url = new URL(first, base).toString();
  } catch {
    return {
      ok: false,
      message: `chart ${name} ${version} has an invalid URL ${JSON.stringify(first)}`,
    };
  }
  return { ok: true, url, ...(entry.digest ? { digest: entry.digest } : {}) };
}

export interface HelmRepositorySpec {
  readonly url: string;
  readonly type?: string | undefined;
  readonly secretRef?: unknown;
}

/** Why a HelmRepository cannot be read by Cairn, or undefined when it can. */
export function unsupportedRepository(spec: HelmRepositorySpec): string | undefined {
  if (spec.type === "oci" || spec.url.startsWith("oci://")) {
    return "an OCI HelmRepository is not supported by the impact preview yet";
  }
  if (spec.secretRef !== undefined) {
    return "a HelmRepository with credentials is not supported by the impact preview yet";
  }
  if (!/^https?:\/\//.test(spec.url)) return `the HelmRepository URL ${spec.url} is not HTTP(S)`;
  return undefined;
}

export interface FetchLimits {
  readonly timeoutMs: number;
  readonly maxBytes: number;
}

export const DEFAULT_FETCH_LIMITS: FetchLimits = { timeoutMs: 30_000, maxBytes: 20 * 1024 * 1024 };

/** GETs a URL into memory, refusing more than maxBytes. */
export async function fetchBytes(url: string, limits: FetchLimits): Promise<Buffer> {
  const res = await fetch(url, { signal: AbortSignal.timeout(limits.timeoutMs) });
  if (!res.ok || !res.body) throw new Error(`GET ${url}: HTTP ${res.status}`);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limits.maxBytes) {
      await reader.cancel();
      throw new Error(`GET ${url}: more than ${limits.maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}
