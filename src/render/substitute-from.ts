// A Kustomization's postBuild variables, resolved the way kustomize-controller's LoadVariables
// does (fluxcd/pkg/kustomize): substituteFrom in order, each ConfigMap's or Secret's every data
// key (a later reference overriding an earlier one), a missing object skipped when the
// reference is optional and an error naming it otherwise; then spec.postBuild.substitute on top;
// newlines removed from every value. The result goes to the rendering helper as the
// Kustomization's postBuild.substitute, since the helper never talks to the cluster.
import { z } from "zod";

export const SubstituteReference = z.object({
  kind: z.enum(["ConfigMap", "Secret"]),
  name: z.string().min(1),
  optional: z.boolean().optional(),
});
export type SubstituteReference = z.infer<typeof SubstituteReference>;

/** A referenced object's data (a Secret's decoded as UTF-8); undefined when it does not exist. */
export type SubstituteLookup = (
  kind: "ConfigMap" | "Secret",
  name: string,
) => Readonly<Record<string, string>> | undefined;

export type SubstituteResult =
  | {
      readonly ok: true;
      readonly vars: Readonly<Record<string, string>>;
      /** Values that came from Secrets, for redaction in what Cairn shows. */
      readonly secretValues: readonly string[];
    }
  | { readonly ok: false; readonly message: string };

export function resolveSubstitutions(
  refs: readonly SubstituteReference[],
  inline: Readonly<Record<string, string>>,
  namespace: string,
  lookup: SubstituteLookup,
): SubstituteResult {
  const vars: Record<string, string> = {};
  const secretValues = new Set<string>();
  for (const ref of refs) {
    const data = lookup(ref.kind, ref.name);
    if (data === undefined) {
      if (ref.optional) continue;
      return {
        ok: false,
        message: `postBuild.substituteFrom ${ref.kind} '${namespace}/${ref.name}': the ${ref.kind} does not exist`,
      };
    }
    for (const [key, value] of Object.entries(data)) {
      const v = value.replaceAll("\n", "");
      vars[key] = v;
      if (ref.kind === "Secret" && v !== "") secretValues.add(v);
    }
  }
  for (const [key, value] of Object.entries(inline)) vars[key] = value.replaceAll("\n", "");
  return { ok: true, vars, secretValues: [...secretValues] };
}
