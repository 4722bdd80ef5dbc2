// The layer order of docs/architecture.md, checked on every relative import under src/: a module
// may import its own layer and the layers the table lists for it, nothing else.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = join(import.meta.dirname, "../../../src");

const LOWER = ["api", "kube", "runtime", "discovery", "health", "helm", "git"] as const;
const PROCESS = [
  "config.ts",
  "logger.ts",
  "metrics.ts",
  "manager.ts",
  "http.ts",
  "build-info.ts",
] as const;

/** What each layer may import besides itself. */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  api: [],
  kube: [],
  runtime: ["kube"],
  discovery: ["api"],
  helm: ["kube"],
  health: ["api", "kube", "runtime", "discovery", "helm"],
  git: ["api", "kube"],
  render: ["api", "kube"],
  impact: ["api", "kube", "discovery", "helm", "render", "updates"],
  updates: ["api", "kube", "runtime", "helm", "config.ts"],
  // The plugin refuses what the rollback controller would refuse with the controller's own pure
  // checks (controllers/rollback/plan.ts), and prints the impact with the impact layer's types.
  cli: ["api", "kube", "impact", "controllers/rollback"],
  "config.ts": ["runtime"],
  "logger.ts": ["config.ts", "runtime"],
  "metrics.ts": ["runtime"],
  "manager.ts": ["metrics.ts", "runtime"],
  "http.ts": ["config.ts", "runtime"],
  "build-info.ts": ["metrics.ts", "runtime"],
  "controllers/request": [...LOWER, ...PROCESS],
  "controllers/managedapp": [...LOWER, ...PROCESS, "updates"],
  "controllers/upgrade": [
    ...LOWER,
    ...PROCESS,
    "impact",
    "render",
    "updates",
    "controllers/request",
  ],
  "controllers/rollback": [...LOWER, ...PROCESS, "controllers/request"],
  controllers: [
    ...LOWER,
    ...PROCESS,
    "controllers/managedapp",
    "controllers/upgrade",
    "controllers/rollback",
    "controllers/request",
  ],
  "main.ts": [...LOWER, ...PROCESS, "controllers"],
};

function layerOf(file: string): string {
  const parts = relative(SRC, file).split("/");
  if (parts[0] === "controllers" && parts.length > 2) return `controllers/${parts[1] ?? ""}`;
  return parts[0] ?? "";
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(join(dir, e.name))
      : e.name.endsWith(".ts")
        ? [join(dir, e.name)]
        : [],
  );
}

function edges(): { from: string; to: string; file: string; target: string }[] {
  return sourceFiles(SRC).flatMap((file) =>
    [...readFileSync(file, "utf8").matchAll(/from "(\.{1,2}\/[^"]+)"/g)].map((m) => {
      const target = normalize(join(dirname(file), m[1] ?? ""));
      return { from: layerOf(file), to: layerOf(target), file, target };
    }),
  );
}

describe("layers", () => {
  it("every src layer is in the table", () => {
    const layers = new Set(sourceFiles(SRC).map(layerOf));
    expect([...layers].filter((l) => ALLOWED[l] === undefined)).toEqual([]);
  });

  it("no module imports a layer above its own", () => {
    const wrong = edges()
      .filter((e) => e.from !== e.to && !(ALLOWED[e.from] ?? []).includes(e.to))
      .map((e) => `${relative(SRC, e.file)} → ${relative(SRC, e.target)}`);
    expect(wrong).toEqual([]);
  });

  it("the table itself has no cycle", () => {
    const seen = new Set<string>();
    const visit = (layer: string, path: readonly string[]): string[] => {
      if (path.includes(layer)) return [[...path, layer].join(" → ")];
      if (seen.has(layer)) return [];
      seen.add(layer);
      return (ALLOWED[layer] ?? []).flatMap((next) => visit(next, [...path, layer]));
    };
    expect(Object.keys(ALLOWED).flatMap((l) => visit(l, []))).toEqual([]);
  });
});
