import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { readBuildInfo } from "../../src/build-info.ts";

describe("readBuildInfo", () => {
  it("reports the version of the repository's package.json", () => {
    const pkg = JSON.parse(
      readFileSync(join(import.meta.dirname, "../../package.json"), "utf8"),
    ) as { version: string };
    expect(readBuildInfo()).toEqual({ version: pkg.version });
  });

  it("fails on a package.json without a version", () => {
    const dir = mkdtempSync(join(tmpdir(), "cairn-build-info-"));
    try {
      const file = join(dir, "package.json");
      writeFileSync(file, JSON.stringify({ name: "x" }));
      expect(() => readBuildInfo(pathToFileURL(file))).toThrow(/version/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
