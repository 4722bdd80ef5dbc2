// postBuild variables as kustomize-controller's LoadVariables resolves them: substituteFrom in
// order (a later reference overriding an earlier one), optional references skipped when missing,
// inline substitute on top, newlines removed; and which values came from Secrets.
import { describe, expect, it } from "vitest";
import { resolveSubstitutions } from "../../../src/render/substitute-from.ts";

const objects: Record<string, Record<string, string>> = {
  "ConfigMap/base": { REGION: "eu", COLOUR: "red" },
  "ConfigMap/override": { COLOUR: "green" },
  "Secret/creds": { TOKEN: "s3cr3t\n" },
};
const lookup = (kind: string, name: string) => objects[`${kind}/${name}`];

describe("resolveSubstitutions", () => {
  it("merges references in order, then the inline values, without newlines", () => {
    const result = resolveSubstitutions(
      [
        { kind: "ConfigMap", name: "base" },
        { kind: "ConfigMap", name: "override" },
        { kind: "Secret", name: "creds" },
        { kind: "ConfigMap", name: "absent", optional: true },
      ],
      { REGION: "us\n" },
      "shop",
      lookup,
    );
    expect(result).toEqual({
      ok: true,
      vars: { REGION: "us", COLOUR: "green", TOKEN: "s3cr3t" },
      secretValues: ["s3cr3t"],
    });
  });

  it("names a missing reference that is not optional", () => {
    expect(resolveSubstitutions([{ kind: "Secret", name: "gone" }], {}, "shop", lookup)).toEqual({
      ok: false,
      message: "postBuild.substituteFrom Secret 'shop/gone': the Secret does not exist",
    });
  });
});
