import { describe, expect, it } from "vitest";
import { parseHelmIndex } from "../../../src/updates/helm-index.ts";

describe("parseHelmIndex", () => {
  it("lists each chart's versions and skips entries without a string version", () => {
    const text = `apiVersion: v1
entries:
  demo:
    - { name: demo, version: 1.1.0, urls: [demo-1.1.0.tgz] }
    - { name: demo, version: 1.0.0, urls: [demo-1.0.0.tgz] }
    - { name: demo, urls: [broken.tgz] }
  other: []
  empty:
generated: "2026-01-01T00:00:00Z"
`;
    const parsed = parseHelmIndex(text);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect([...parsed.charts]).toEqual([
      ["demo", ["1.1.0", "1.0.0"]],
      ["other", []],
      ["empty", []],
    ]);
  });

  it("names a document that is not YAML or not an index", () => {
    expect(parseHelmIndex("entries: [unclosed")).toMatchObject({
      ok: false,
      message: expect.stringMatching(/^index.yaml is not YAML: /) as unknown,
    });
    expect(parseHelmIndex("entries: 3")).toMatchObject({
      ok: false,
      message: expect.stringMatching(/^index.yaml is not a Helm repository index/) as unknown,
    });
  });

  it("refuses a document built on aliases", () => {
    const bomb = ["a: &a [x, x]", ...Array.from({ length: 120 }, (_, i) => `b${i}: *a`)].join("\n");
    expect(parseHelmIndex(bomb).ok).toBe(false);
  });
});
