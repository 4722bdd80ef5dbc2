// A test file whose tests run concurrently must take onTestFinished and onTestFailed from each
// test's context: vitest does not track concurrent tests in the global hooks, so a global hook
// attaches to whichever test it saw last, and runs when that one ends. (A cleanup that removed
// an admission policy while its own test still needed it made upgrade-failures 8d flaky.)
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../../..");
const FOLDERS = ["test", "testbed/test"];

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return testFiles(path);
    return e.name.endsWith(".test.ts") ? [path] : [];
  });
}

/** Whether a file runs tests concurrently and imports a per-test hook from "vitest" itself. */
export function globalHookInConcurrentFile(source: string): string[] {
  if (!/\b(describe|it|test)\.concurrent\b|concurrent:\s*true/.test(source)) return [];
  const imports = [...source.matchAll(/import\s*\{([^}]*)\}\s*from\s*"vitest"/g)]
    .flatMap((m) => (m[1] ?? "").split(","))
    .map((name) => name.trim());
  return imports.filter((name) => name === "onTestFinished" || name === "onTestFailed");
}

describe("tests that run concurrently", () => {
  it("take per-test hooks from the test context, never from vitest's globals", () => {
    const offenders = FOLDERS.flatMap((folder) => testFiles(join(ROOT, folder)))
      .map((file) => ({
        file: relative(ROOT, file),
        hooks: globalHookInConcurrentFile(readFileSync(file, "utf8")),
      }))
      .filter((f) => f.hooks.length > 0);
    expect(offenders).toEqual([]);
  });

  it("the check finds a global hook in a concurrent file, and allows it elsewhere", () => {
    const concurrent =
      'import { describe, it, onTestFinished } from "vitest";\ndescribe.concurrent("x", () => {});';
    expect(globalHookInConcurrentFile(concurrent)).toEqual(["onTestFinished"]);
    expect(globalHookInConcurrentFile(concurrent.replace(".concurrent", ""))).toEqual([]);
    expect(
      globalHookInConcurrentFile(
        'import { describe, it } from "vitest";\ndescribe.concurrent("x", () => { it("y", ({ onTestFinished }) => {}); });',
      ),
    ).toEqual([]);
  });
});
