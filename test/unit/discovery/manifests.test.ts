import { describe, expect, it } from "vitest";
import { inventoryOf } from "../../../src/discovery/inventory.ts";
import { parseManifest, type ManifestResult } from "../../../src/discovery/manifests.ts";
import { decodeReleaseSecret } from "../../../src/helm/secret.ts";
import { captured } from "../../fixtures/load.ts";

function manifestOf(file: string): { manifest: string; namespace: string } {
  const decoded = decodeReleaseSecret(captured(file));
  if (!decoded.ok) throw new Error(decoded.error.message);
  return { manifest: decoded.release.manifest, namespace: decoded.release.namespace };
}

function errorOf(result: ManifestResult) {
  if (result.ok) throw new Error("expected an error");
  return result.error;
}

describe("parseManifest on captured releases", () => {
  it("lists every rendered object, in the release namespace", () => {
    const { manifest, namespace } = manifestOf("helm-secret-v2.json");
    const result = parseManifest(manifest, namespace);
    expect(result.ok && result.refs).toEqual([
      { apiVersion: "v1", kind: "PersistentVolumeClaim", namespace: "shop", name: "demo-uploads" },
      { apiVersion: "v1", kind: "Service", namespace: "shop", name: "demo-web" },
      { apiVersion: "v1", kind: "Service", namespace: "shop", name: "demo-db" },
      { apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "demo-web" },
      { apiVersion: "apps/v1", kind: "StatefulSet", namespace: "shop", name: "demo-db" },
    ]);
  });

  it("agrees with the HelmRelease inventory for the same release", () => {
    const { manifest, namespace } = manifestOf("helm-secret-v2.json");
    const fromManifest = parseManifest(manifest, namespace);
    const fromInventory = inventoryOf(captured("helmrelease.json"));
    expect(fromInventory.found && fromManifest.ok).toBe(true);
    if (!fromInventory.found || !fromManifest.ok) return;
    const sorted = (refs: readonly object[]) => refs.map((r) => JSON.stringify(r)).sort();
    expect(sorted(fromManifest.refs)).toEqual(sorted(fromInventory.inventory.refs));
  });
});

describe("parseManifest", () => {
  it("keeps an explicit namespace and leaves cluster-scoped kinds without one", () => {
    const manifest = [
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: other",
      "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: 'system:demo'",
    ].join("\n---\n");
    const result = parseManifest(manifest, "shop");
    expect(result.ok && result.refs).toEqual([
      { apiVersion: "v1", kind: "ConfigMap", namespace: "other", name: "a" },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRole",
        namespace: "",
        name: "system:demo",
      },
    ]);
  });

  it("does not split on a --- line inside a block scalar", () => {
    const manifest = [
      "---",
      "# Source: x/templates/cm.yaml",
      "apiVersion: v1",
      "kind: ConfigMap",
      "metadata:",
      "  name: script",
      "data:",
      "  doc.md: |",
      "    title",
      "    ---",
      "    kind: Secret",
      "---",
      "apiVersion: v1",
      "kind: Service",
      "metadata: {name: web}",
    ].join("\n");
    const result = parseManifest(manifest, "shop");
    expect(result.ok && result.refs.map((r) => `${r.kind}/${r.name}`)).toEqual([
      "ConfigMap/script",
      "Service/web",
    ]);
  });

  it("skips empty and comment-only documents", () => {
    expect(parseManifest("", "shop")).toEqual({ ok: true, refs: [] });
    const manifest =
      "---\n# Source: x/templates/empty.yaml\n---\n\n---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\n";
    const result = parseManifest(manifest, "shop");
    expect(result.ok && result.refs).toHaveLength(1);
  });

  it("expands a List", () => {
    const manifest =
      "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Service, metadata: {name: a}}\n- {apiVersion: apps/v1, kind: Deployment, metadata: {name: b}}\n";
    const result = parseManifest(manifest, "shop");
    expect(result.ok && result.refs.map((r) => `${r.kind}/${r.name}`)).toEqual([
      "Service/a",
      "Deployment/b",
    ]);
  });

  it.each([
    ["unclosed flow", "InvalidYaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n"],
    ["a tab-indented mapping", "InvalidYaml", "a:\n\tb: c\n"],
    [
      "duplicate keys",
      "InvalidYaml",
      "apiVersion: v1\napiVersion: v2\nkind: X\nmetadata: {name: x}\n",
    ],
    ["an alias to no anchor", "InvalidYaml", "apiVersion: v1\nkind: *nothing\n"],
    ["a plain sentence", "NotAnObject", "this is not a Kubernetes object"],
    ["a sequence", "NotAnObject", "- a\n- b\n"],
    ["no kind", "MissingField", "apiVersion: v1\nmetadata: {name: x}\n"],
    ["no name", "MissingField", "apiVersion: v1\nkind: Service\nmetadata: {}\n"],
    ["a numeric name", "MissingField", "apiVersion: v1\nkind: Service\nmetadata: {name: 12}\n"],
  ])("rejects %s as %s", (_what, code, manifest) => {
    expect(errorOf(parseManifest(manifest, "shop")).code).toBe(code);
  });

  it("names the document that failed", () => {
    const manifest =
      "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Service\n";
    expect(errorOf(parseManifest(manifest, "shop"))).toMatchObject({
      code: "MissingField",
      document: 2,
      field: "metadata.name",
    });
  });

  it("stops an alias bomb quickly instead of expanding it", () => {
    const bomb = [
      "apiVersion: v1",
      "kind: ConfigMap",
      "metadata: {name: lol}",
      "data:",
      '  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
      ...["b", "c", "d", "e", "f", "g", "h", "i"].map((x, i) => {
        const prev = "abcdefghi"[i];
        return `  ${x}: &${x} [${Array.from({ length: 9 }, () => `*${prev}`).join(",")}]`;
      }),
    ].join("\n");
    const started = performance.now();
    expect(errorOf(parseManifest(bomb, "shop")).code).toBe("TooManyAliases");
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it("allows a few aliases, and a lower limit when asked", () => {
    const manifest =
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: &n x}\ndata: {a: *n, b: *n}\n";
    expect(parseManifest(manifest, "shop").ok).toBe(true);
    expect(errorOf(parseManifest(manifest, "shop", { maxAliasCount: 1 })).code).toBe(
      "TooManyAliases",
    );
  });
});
