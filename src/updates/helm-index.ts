// A Helm repository's index.yaml, reduced to what an update check needs: the versions of each
// chart (pure). Everything else an entry carries (URLs, digests, dependencies) is not read.
import { parse } from "yaml";
import { z } from "zod";

const IndexFile = z.object({
  apiVersion: z.string().optional(),
  entries: z
    .record(z.string(), z.array(z.looseObject({ version: z.unknown().optional() })).nullable())
    .nullish(),
});

/** Chart name → the versions the index lists for it, in index order. */
export type ChartVersions = ReadonlyMap<string, readonly string[]>;

export type ParsedIndex =
  | { readonly ok: true; readonly charts: ChartVersions }
  | { readonly ok: false; readonly message: string };

/** Parses an index.yaml; a document that is not one is an answer naming what is wrong. */
export function parseHelmIndex(text: string): ParsedIndex {
  let doc: unknown;
  try {
    // An index has no use for aliases; a few are tolerated, a billion laughs is not.
    doc = parse(text, { maxAliasCount: 100 });
  } catch (err) {
    return { ok: false, message: `index.yaml is not YAML: ${(err as Error).message}` };
  }
  const parsed = IndexFile.safeParse(doc);
  if (!parsed.success) {
    return {
      ok: false,
      message: `index.yaml is not a Helm repository index: ${z.prettifyError(parsed.error)}`,
    };
  }
  const charts = new Map<string, string[]>();
  for (const [name, entries] of Object.entries(parsed.data.entries ?? {})) {
    const versions = (entries ?? []).flatMap((e) =>
      typeof e.version === "string" ? [e.version] : [],
    );
    charts.set(name, versions);
  }
  return { ok: true, charts };
}
