// Where the chart archive of a HelmRelease at a target version is, found as source-controller
// finds it in a HelmRepository of the default (HTTP) type: the index.yaml entry for the chart
// name and version, then its first URL (relative URLs resolve against the repository URL). The
// fetching itself (with the repository's credentials and TLS) is updates/fetch-index.ts.
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

/** The largest chart archive the preview downloads. */
export const MAX_CHART_BYTES = 20 * 1024 * 1024;
