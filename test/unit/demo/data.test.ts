import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { demoBytes, differences, digestFolder, fingerprint, sha256 } from "../../../demo/data.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "cairn-demo-data-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("the demo's data", () => {
  it("writes the same bytes for the same label, other bytes for another", () => {
    const a = demoBytes("orders at 1.0.0", 100_000);
    expect(a).toHaveLength(100_000);
    expect(demoBytes("orders at 1.0.0", 100_000).equals(a)).toBe(true);
    expect(demoBytes("orders at 1.1.0", 100_000).equals(a)).toBe(false);
    // Not a repeated block: every 32-byte block differs from the first.
    expect(a.subarray(32, 64).equals(a.subarray(0, 32))).toBe(false);
  });

  it("digests every file of a volume folder, nested ones included", async () => {
    writeFileSync(join(dir, "orders.db"), "rows");
    mkdirSync(join(dir, "wal"));
    writeFileSync(join(dir, "wal", "0001"), "log");
    const digest = await digestFolder(dir);
    expect(digest).toEqual({
      "orders.db": { sha256: sha256("rows"), bytes: 4 },
      "wal/0001": { sha256: sha256("log"), bytes: 3 },
    });
  });

  it("fingerprints equal folders equally and names what differs", async () => {
    writeFileSync(join(dir, "orders.db"), "rows");
    writeFileSync(join(dir, "schema_version"), "1\n");
    const before = await digestFolder(dir);
    expect(fingerprint(await digestFolder(dir))).toBe(fingerprint(before));
    writeFileSync(join(dir, "orders.db"), "migrated rows");
    rmSync(join(dir, "schema_version"));
    writeFileSync(join(dir, "new.idx"), "x");
    const after = await digestFolder(dir);
    expect(fingerprint(after)).not.toBe(fingerprint(before));
    expect(differences(before, after)).toEqual([
      "orders.db changed (4 → 13 bytes)",
      "schema_version is missing",
      "new.idx is new",
    ]);
    expect(differences(before, before)).toEqual([]);
  });
});
