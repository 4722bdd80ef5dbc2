// docs/fields.md is generated from crds/ by scripts/field-reference.ts; a CRD change without a
// regenerated reference fails here.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FIELDS_MD, fieldRows, renderFieldReference } from "../../../scripts/field-reference.ts";

describe("docs/fields.md", () => {
  it("is what scripts/field-reference.ts renders from crds/ (else: npm run docs:fields)", () => {
    const current = readFileSync(FIELDS_MD, "utf8");
    expect(
      current === renderFieldReference(),
      "docs/fields.md is stale: run npm run docs:fields",
    ).toBe(true);
  });

  it("lists every kind, spec and status, with defaults, required fields and named patterns", () => {
    const text = renderFieldReference();
    for (const kind of ["ManagedApp", "UpgradeRequest", "RollbackRequest"]) {
      expect(text).toContain(`## ${kind} (\`cairn.dev/v1alpha1\`)`);
    }
    expect(text).toMatch(/\| `spec.gitPath` \| string \| yes \|/);
    expect(text).toMatch(/\| `spec.autoRollback` \| boolean \| {2}\| `false` \|/);
    expect(text).toMatch(/`spec.timeouts.health` \| string \| .*Must be a Go duration/);
    expect(text).toContain(
      "Rules on `spec` as a whole:\n\n- spec is immutable; create a new request",
    );
  });

  it("walks arrays of objects with [] in the path", () => {
    const rows = fieldRows(
      {
        type: "object",
        required: ["items"],
        properties: {
          items: {
            type: "array",
            items: { type: "object", required: ["name"], properties: { name: { type: "string" } } },
          },
        },
      },
      "spec",
    );
    expect(rows.map((r) => [r.path, r.type, r.required])).toEqual([
      ["spec.items", "[]object", true],
      ["spec.items[].name", "string", true],
    ]);
  });
});
