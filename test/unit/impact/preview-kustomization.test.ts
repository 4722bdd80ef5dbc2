// Values substituted from Secrets never reach what Cairn shows of a Kustomization's impact.
import { describe, expect, it } from "vitest";
import type { Impact } from "../../../src/impact/diff.ts";
import { redactValues } from "../../../src/impact/preview-kustomization.ts";

const id = { group: "", kind: "ConfigMap", namespace: "shop", name: "settings" };

describe("redactValues", () => {
  it("replaces every string holding a Secret's value, in changes and added bodies", () => {
    const impact: Impact = {
      added: [{ id, object: { data: { url: "https://u:s3cr3t@db", plain: "x" } } }],
      changed: [{ id, changes: [{ path: "data.token", from: "old", to: "s3cr3t" }] }],
      removed: [],
      unchanged: 0,
    };
    expect(redactValues(impact, ["s3cr3t"])).toEqual({
      added: [{ id, object: { data: { url: "<redacted>", plain: "x" } } }],
      changed: [{ id, changes: [{ path: "data.token", from: "old", to: "<redacted>" }] }],
      removed: [],
      unchanged: 0,
    });
    expect(redactValues(impact, [])).toBe(impact);
  });
});
