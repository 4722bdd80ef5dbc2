import { describe, expect, it } from "vitest";
import { lineDiff, parseVersionPath, readValue, setValue } from "../../../src/git/yaml-edit.ts";
import { MAX_YAML_BYTES } from "../../../src/git/yaml-scalar.ts";

const HELM_RELEASE = `# The shop's database. Upgrades go through Cairn.
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: db   # keep in sync with the ManagedApp
  namespace: shop
spec:
  interval: 10m
  chart:
    spec:
      chart: postgresql
      version: "15.2.0" # pinned by Cairn
      sourceRef: {kind: HelmRepository, name: bitnami}
  values:
    primary:
      persistence:
        size: 8Gi
`;

const MULTI_DOC = `---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: "fast"
---
# second document: the release
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: db
spec:
  chart:
    spec:
      version: 15.2.0
...
---
apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  ports: [{port: 5432}]
`;

/** The text around the changed range is untouched: only `from` became `to`, once. */
function expectOnlyChanged(before: string, after: string, from: string, to: string) {
  const at = before.indexOf(from);
  expect(at).toBeGreaterThanOrEqual(0);
  expect(after).toBe(before.slice(0, at) + to + before.slice(at + from.length));
}

describe("parseVersionPath", () => {
  it.each([
    [".spec.chart.spec.version", ["spec", "chart", "spec", "version"]],
    ["spec.values.image.tag", ["spec", "values", "image", "tag"]],
    [
      "spec.template.spec.containers[0].image",
      ["spec", "template", "spec", "containers", 0, "image"],
    ],
    ['metadata.annotations["cairn.dev/version"]', ["metadata", "annotations", "cairn.dev/version"]],
    ["[1].name", [1, "name"]],
    ["items[0][2]", ["items", 0, 2]],
  ])("%s", (text, path) => {
    expect(parseVersionPath(text)).toEqual({ ok: true, path });
  });

  it.each(["", ".", "spec..version", "spec.", "spec[x]", "spec.[0]", "a]b"])(
    "rejects %j",
    (text) => {
      const parsed = parseVersionPath(text);
      expect(parsed.ok).toBe(false);
    },
  );
});

describe("readValue", () => {
  it("reads a quoted version, with or without the leading dot", () => {
    expect(readValue(HELM_RELEASE, ".spec.chart.spec.version")).toEqual({
      ok: true,
      value: "15.2.0",
      document: 0,
    });
    expect(readValue(HELM_RELEASE, "spec.chart.spec.version")).toMatchObject({ value: "15.2.0" });
  });

  it("reads from the first document where the path resolves", () => {
    expect(readValue(MULTI_DOC, "spec.chart.spec.version")).toEqual({
      ok: true,
      value: "15.2.0",
      document: 1,
    });
  });

  it("reads a number as the file writes it", () => {
    expect(readValue("image:\n  tag: 1.10\n", "image.tag")).toMatchObject({
      ok: true,
      value: "1.10",
    });
  });

  it("follows list indices", () => {
    const deployment = `spec:
  template:
    spec:
      containers:
        - name: app
          image: ghcr.io/org/app:1.0.0
        - name: sidecar
          image: ghcr.io/org/sidecar:2.0.0
`;
    expect(readValue(deployment, "spec.template.spec.containers[1].image")).toMatchObject({
      value: "ghcr.io/org/sidecar:2.0.0",
    });
  });

  it("says where the path stops matching", () => {
    const result = readValue(HELM_RELEASE, "spec.chart.spec.versions");
    expect(result).toMatchObject({ ok: false, error: { code: "path-not-found" } });
    if (!result.ok) expect(result.error.message).toContain(".spec.chart.spec.versions");
  });

  it("refuses maps, lists, empty values and aliases", () => {
    expect(readValue(HELM_RELEASE, "spec.chart")).toMatchObject({
      error: { code: "not-scalar", message: expect.stringContaining("a map") as string },
    });
    expect(readValue("a: [1]\n", "a")).toMatchObject({ error: { code: "not-scalar" } });
    expect(readValue("a:\n", "a")).toMatchObject({ error: { code: "not-scalar" } });
    expect(readValue("base: &v 1.0.0\nversion: *v\n", "version")).toMatchObject({
      error: { code: "not-scalar", message: expect.stringContaining("alias") as string },
    });
  });

  it("is ambiguous when documents disagree, and fine when they agree", () => {
    const disagree = "spec:\n  version: 1.0.0\n---\nspec:\n  version: 2.0.0\n";
    const result = readValue(disagree, "spec.version");
    expect(result).toMatchObject({ ok: false, error: { code: "ambiguous" } });
    if (!result.ok) expect(result.error.message).toMatch(/1\.0\.0.*2\.0\.0/);
    const agree = "spec:\n  version: 1.0.0\n---\nspec:\n  version: '1.0.0'\n";
    expect(readValue(agree, "spec.version")).toEqual({ ok: true, value: "1.0.0", document: 0 });
  });

  it("rejects what is not YAML", () => {
    expect(readValue("a: [unclosed\n", "a")).toMatchObject({ error: { code: "not-yaml" } });
    expect(readValue("a: 1\na: 2\n", "a")).toMatchObject({ error: { code: "not-yaml" } });
    expect(readValue("a: 1\n", "a..b")).toMatchObject({ error: { code: "invalid-path" } });
  });

  it("refuses an alias bomb quickly, without expanding it", () => {
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    const names = "abcdefghi";
    for (let i = 1; i < names.length; i++) {
      const prev = names[i - 1] ?? "a";
      lines.push(`${names[i] ?? ""}: &${names[i] ?? ""} [${Array(15).fill(`*${prev}`).join(",")}]`);
    }
    lines.push("version: 1.0.0");
    const started = Date.now();
    const result = readValue(lines.join("\n") + "\n", "version");
    expect(result).toMatchObject({ ok: false, error: { code: "not-yaml" } });
    if (!result.ok) expect(result.error.message).toContain("aliases");
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("refuses a file larger than the cap", () => {
    const huge = `version: 1.0.0\npad: "${"x".repeat(MAX_YAML_BYTES)}"\n`;
    expect(readValue(huge, "version")).toMatchObject({ error: { code: "not-yaml" } });
  });
});

describe("setValue", () => {
  it("changes only the scalar, keeping its double quotes and the comment after it", () => {
    const result = setValue(HELM_RELEASE, ".spec.chart.spec.version", "15.3.1");
    expect(result).toMatchObject({ ok: true, previous: "15.2.0", document: 0 });
    if (!result.ok) return;
    expectOnlyChanged(HELM_RELEASE, result.content, '"15.2.0"', '"15.3.1"');
    expect(result.content).toContain('version: "15.3.1" # pinned by Cairn');
    expect(result.content).toContain("# The shop's database. Upgrades go through Cairn.");
  });

  it.each([
    ["version: 'v1.0.0'\n", "version", "v1.1.0", "version: 'v1.1.0'\n"],
    ["version: v1.0.0\n", "version", "v1.1.0", "version: v1.1.0\n"],
    ['version: "v1.0.0"\n', "version", "v1.1.0", 'version: "v1.1.0"\n'],
    ["tag: 15\n", "tag", "16", "tag: 16\n"],
    [
      "spec: {version: 1.0.0, name: x}\n",
      "spec.version",
      "1.0.1",
      "spec: {version: 1.0.1, name: x}\n",
    ],
    ["version: &v 1.0.0 # anchored\n", "version", "1.0.1", "version: &v 1.0.1 # anchored\n"],
    ["version: !!str 1.0\n", "version", "1.1", "version: !!str 1.1\n"],
    ["version: 1.0.0\r\nother: x\r\n", "version", "2.0.0", "version: 2.0.0\r\nother: x\r\n"],
  ])("keeps the style of %j", (before, path, value, after) => {
    expect(setValue(before, path, value)).toMatchObject({ ok: true, content: after, document: 0 });
  });

  it("edits the right document and leaves every other document byte-identical", () => {
    const result = setValue(MULTI_DOC, "spec.chart.spec.version", "15.3.1");
    expect(result).toMatchObject({ ok: true, document: 1 });
    if (!result.ok) return;
    expectOnlyChanged(MULTI_DOC, result.content, "version: 15.2.0", "version: 15.3.1");
    expect(result.content.split("\n---\n")).toHaveLength(3);
  });

  it("quotes a plain value that would otherwise change type or structure", () => {
    // Plain 1.10 is the number 1.1; a plain "a: b" would be a map.
    expect(setValue("version: v1\n", "version", "1.10")).toMatchObject({
      content: 'version: "1.10"\n',
    });
    expect(setValue("tag: 15\n", "tag", "16.10")).toMatchObject({ content: 'tag: "16.10"\n' });
    expect(setValue("version: x\n", "version", "a: b")).toMatchObject({
      content: 'version: "a: b"\n',
    });
    expect(setValue("list: [a, b]\n", "list[1]", "c,d")).toMatchObject({
      content: 'list: [a, "c,d"]\n',
    });
    expect(setValue("version: x # note\n", "version", "y #z")).toMatchObject({
      content: 'version: "y #z" # note\n',
    });
  });

  it("escapes quotes inside quoted styles", () => {
    expect(setValue("v: 'a'\n", "v", "it's")).toMatchObject({ content: "v: 'it''s'\n" });
    expect(setValue('v: "a"\n', "v", 'say "hi"')).toMatchObject({ content: 'v: "say \\"hi\\""\n' });
  });

  it("returns the content unchanged when the value is already there", () => {
    expect(setValue(HELM_RELEASE, "spec.chart.spec.version", "15.2.0")).toEqual({
      ok: true,
      content: HELM_RELEASE,
      previous: "15.2.0",
      document: 0,
    });
  });

  it("refuses block scalars, empty and multi-line values", () => {
    expect(setValue("v: |\n  1.0.0\n", "v", "2.0.0")).toMatchObject({
      error: { code: "not-scalar" },
    });
    expect(setValue("v: 1\n", "v", "")).toMatchObject({ error: { code: "invalid-value" } });
    expect(setValue("v: 1\n", "v", "1\nw: 2")).toMatchObject({ error: { code: "invalid-value" } });
  });

  it("passes on the lookup errors", () => {
    expect(
      setValue("spec:\n  version: 1\n---\nspec:\n  version: 2\n", "spec.version", "3"),
    ).toMatchObject({ error: { code: "ambiguous" } });
    expect(setValue(HELM_RELEASE, "spec.version", "1")).toMatchObject({
      error: { code: "path-not-found" },
    });
  });
});

describe("lineDiff", () => {
  it("shows the changed line as a -/+ pair", () => {
    const after = HELM_RELEASE.replace('"15.2.0"', '"15.3.1"');
    expect(lineDiff(HELM_RELEASE, after)).toBe(
      '-      version: "15.2.0" # pinned by Cairn\n+      version: "15.3.1" # pinned by Cairn',
    );
  });

  it("lists several changed lines in order, and nothing for equal text", () => {
    expect(lineDiff("a: 1\nb: 2\nc: 3\n", "a: 9\nb: 2\nc: 8\n")).toBe("-a: 1\n+a: 9\n-c: 3\n+c: 8");
    expect(lineDiff("a: 1\n", "a: 1\n")).toBe("");
  });

  it("cuts the common head and tail when the line count changes", () => {
    expect(lineDiff("a\nb\nc\n", "a\nx\ny\nc\n")).toBe("-b\n+x\n+y");
  });
});
