// Every spec field the CRDs document is read somewhere in the controller or the plugin: a field
// that only the schema knows describes behaviour that does not exist. The check is by name (the
// last segment of each path) over src/ outside src/api/, which mirrors the schema.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const ROOT = join(import.meta.dirname, "../../..");

interface Node {
  readonly properties?: Record<string, Node>;
  readonly items?: Node;
}

function leafPaths(node: Node, path: string): string[] {
  const props = node.properties ?? node.items?.properties;
  if (!props) return [path];
  return Object.entries(props).flatMap(([k, v]) => leafPaths(v, `${path}.${k}`));
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return p.endsWith(join("src", "api")) ? [] : sources(p);
    return e.name.endsWith(".ts") ? [readFileSync(p, "utf8")] : [];
  });
}

const CRDS = ["managedapps", "upgraderequests", "rollbackrequests"].map((plural) => {
  const crd = parse(readFileSync(join(ROOT, "crds", `cairn.dev_${plural}.yaml`), "utf8")) as {
    spec: { versions: { schema: { openAPIV3Schema: { properties: { spec: Node } } } }[] };
  };
  const spec = crd.spec.versions[0]?.schema.openAPIV3Schema.properties.spec ?? {};
  return [plural, leafPaths(spec, "spec")] as const;
});

/** The paths whose last segment the code never reads as a property or destructures. */
function unread(paths: readonly string[], code: string): string[] {
  return paths.filter((p) => {
    const leaf = p.split(".").at(-1) ?? p;
    const read = new RegExp(
      `[."'\\[]${leaf}\\b|\\b${leaf}\\??:|\\{[^}]*\\b${leaf}\\b[^}]*\\}\\s*=`,
    );
    return !read.test(code);
  });
}

describe("documented spec fields", () => {
  const code = sources(join(ROOT, "src")).join("\n");
  it.each(CRDS)("of %s are all read in src/", (_plural, paths) => {
    expect(paths.length).toBeGreaterThan(2);
    expect(unread(paths, code)).toEqual([]);
  });

  it("are reported when nothing reads them", () => {
    expect(unread(["spec.versionPolicy.neverReadAnywhere", "spec.gitPath"], code)).toEqual([
      "spec.versionPolicy.neverReadAnywhere",
    ]);
    expect(unread(["spec.x.allowDowngrade"], "const { allowDowngrade } = spec;")).toEqual([]);
    expect(unread(["spec.x.allowDowngrade"], "// allowDowngrade is documented")).toEqual([
      "spec.x.allowDowngrade",
    ]);
  });
});
