// Bundles the plugin into one CommonJS file, dist/cli/kubectl-cairn.cjs, with every dependency
// inside: the npm package ships it as its bin, and the single executables (release-cli.ts) embed
// it. One file loads much faster than hundreds of modules, and CommonJS is what a Node single
// executable application runs. Commands stay lazy: esbuild turns each dynamic import into a
// module initialised on first use, so --help still runs no Kubernetes client code.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";

const ROOT = join(import.meta.dirname, "..");

export const BUNDLE = join(ROOT, "dist", "cli", "kubectl-cairn.cjs");

/** The bundled HTTP client (undici 8) needs Node 22.19; the executables carry Node 24. */
export const NODE_TARGET = "node22";

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
  return pkg.version;
}

export async function buildBundle(outfile = BUNDLE): Promise<string> {
  await build({
    stdin: {
      contents: [
        'import { runProcess } from "./src/cli/main.ts";',
        "runProcess().catch((err) => {",
        "  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\\n`);",
        "  process.exitCode = 1;",
        "});",
      ].join("\n"),
      resolveDir: ROOT,
      sourcefile: "kubectl-cairn-entry.ts",
      loader: "ts",
    },
    outfile,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: NODE_TARGET,
    minify: true,
    legalComments: "eof",
    banner: { js: "#!/usr/bin/env node" },
    define: { CAIRN_CLI_VERSION: JSON.stringify(packageVersion()) },
    logLevel: "warning",
  });
  return outfile;
}

if (import.meta.main) {
  process.stdout.write(`${await buildBundle()}\n`);
}
