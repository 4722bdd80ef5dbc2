// docs/architecture.md names files and steps: each file it names exists, and each step of both
// step tables has its row in the doc's table and its rule in the idempotency list.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROLLBACK_STEPS, UPGRADE_STEPS } from "../../../src/controllers/request/step-table.ts";

const ROOT = join(import.meta.dirname, "../../..");
const doc = readFileSync(join(ROOT, "docs/architecture.md"), "utf8");

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)],
  );
}

describe("docs/architecture.md", () => {
  it("names only files that exist", () => {
    const all = [...files(join(ROOT, "src")), ...files(join(ROOT, "test"))].map((f) =>
      f.slice(ROOT.length + 1),
    );
    const named = [...doc.matchAll(/`([\w/.-]+\.ts)`/g)].map((m) => m[1] ?? "");
    expect(named.length).toBeGreaterThan(10);
    expect(named.filter((n) => !all.some((f) => f === n || f.endsWith(`/${n}`)))).toEqual([]);
  });

  it("has every step in its table and in the idempotency rules", () => {
    const rules = doc.slice(doc.indexOf("## Idempotency"), doc.indexOf("## When Flux"));
    for (const step of [...UPGRADE_STEPS, ...ROLLBACK_STEPS]) {
      expect(doc).toMatch(new RegExp(`\\|\\s*${step.name}\\s*\\|\\s*\`${step.condition}`));
      expect(rules).toContain(`**${step.name}**`);
    }
  });
});
