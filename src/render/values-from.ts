// A HelmRelease's valuesFrom, resolved the way helm-controller's ChartValuesFromReferences does
// (fluxcd/pkg/chartutil) up to the point where values are parsed: references in their order,
// each read from its ConfigMap or Secret in the HelmRelease's namespace at valuesKey (default
// values.yaml); a missing object or key skipped when the reference is optional and an error
// naming the reference otherwise. Parsing and merging (YAML documents, targetPath with Helm's
// --set syntax, then spec.values on top) happen in the rendering helper with helm-controller's
// own Go functions, so type inference and precedence cannot drift from it.
import { z } from "zod";

export const ValuesReference = z.object({
  kind: z.enum(["ConfigMap", "Secret"]),
  name: z.string().min(1),
  valuesKey: z.string().optional(),
  targetPath: z.string().optional(),
  optional: z.boolean().optional(),
  literal: z.boolean().optional(),
});
export type ValuesReference = z.infer<typeof ValuesReference>;

/** One reference's data as the helper takes it. */
export interface ValuesLayer {
  /** "ConfigMap/name" or "Secret/name", for error messages. */
  readonly source: string;
  readonly data: string;
  readonly targetPath?: string;
  readonly literal?: true;
}

/**
 * A referenced object's data, text for a ConfigMap and decoded bytes as UTF-8 for a Secret;
 * undefined when the object does not exist.
 */
export type DataLookup = (
  kind: "ConfigMap" | "Secret",
  name: string,
) => Readonly<Record<string, string>> | undefined;

export type ValuesFromResult =
  | { readonly ok: true; readonly layers: readonly ValuesLayer[] }
  | { readonly ok: false; readonly message: string };

export const DEFAULT_VALUES_KEY = "values.yaml";

export function resolveValuesFrom(
  refs: readonly ValuesReference[],
  namespace: string,
  lookup: DataLookup,
): ValuesFromResult {
  const layers: ValuesLayer[] = [];
  for (const ref of refs) {
    const key = ref.valuesKey || DEFAULT_VALUES_KEY;
    const source = `${ref.kind}/${ref.name}`;
    const what = `valuesFrom ${ref.kind} '${namespace}/${ref.name}' with key '${key}'`;
    const data = lookup(ref.kind, ref.name);
    if (data === undefined) {
      if (ref.optional) continue;
      return { ok: false, message: `${what}: the ${ref.kind} does not exist` };
    }
    const value = Object.hasOwn(data, key) ? data[key] : undefined;
    if (value === undefined) {
      if (ref.optional) continue;
      return { ok: false, message: `${what}: the key does not exist` };
    }
    layers.push({
      source,
      data: value,
      ...(ref.targetPath ? { targetPath: ref.targetPath } : {}),
      ...(ref.targetPath && ref.literal ? { literal: true as const } : {}),
    });
  }
  return { ok: true, layers };
}
