// Bundles the plugin into two CommonJS files with every dependency inside:
//   - dist/cli/kubectl-cairn.cjs: the command line (commander, help, completion scripts), all
//     that --help, version --client and completion run, so they start fast;
//   - dist/cli/kubectl-cairn-commands.cjs: everything else (the commands, the Kubernetes client,
//     zod, yaml), loaded by the first when a command needs it: from the file beside it, or, in a
//     single executable (release-cli.ts), from the executable's embedded asset of that name.
// The npm package ships both as they are. Fewer, bigger files load much faster than hundreds of
// modules, and CommonJS is what a Node single executable application runs.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { build, type Plugin } from "esbuild";

const ROOT = join(import.meta.dirname, "..");

export const BUNDLE = join(ROOT, "dist", "cli", "kubectl-cairn.cjs");
/** The second file's name, beside the first and as the executables' asset. */
export const COMMANDS_FILE = "kubectl-cairn-commands.cjs";

/**
 * main.ts imports ./execute.ts when a command runs; in the first file that import loads the
 * second file instead of bundling it in.
 */
const LOADER = `
const sea = require("node:sea");
let loaded;
function load() {
  if (loaded) return loaded;
  if (sea.isSea()) {
    const Module = require("node:module");
    const m = new Module(process.execPath);
    m.filename = process.execPath;
    m._compile(sea.getAsset(${JSON.stringify(COMMANDS_FILE)}, "utf8"), process.execPath);
    loaded = m.exports;
  } else {
    loaded = require(require("node:path").join(__dirname, ${JSON.stringify(COMMANDS_FILE)}));
  }
  return loaded;
}
exports.execute = (...args) => load().execute(...args);
`;

const commandsElsewhere: Plugin = {
  name: "commands-elsewhere",
  setup(b) {
    b.onResolve({ filter: /^\.\/execute\.ts$/ }, () => ({ path: "execute", namespace: "loader" }));
    b.onLoad({ filter: /.*/, namespace: "loader" }, () => ({ contents: LOADER, loader: "js" }));
  },
};

/** The bundled HTTP client (undici 8) needs Node 22.19; the executables carry Node 24. */
export const NODE_TARGET = "node22";

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
  return pkg.version;
}

const COMMON = {
  bundle: true,
  platform: "node",
  format: "cjs",
  target: NODE_TARGET,
  minify: true,
  legalComments: "eof",
  define: { CAIRN_CLI_VERSION: JSON.stringify(packageVersion()) },
  logLevel: "warning",
} as const;

/** Builds both files; `outfile` is the first, the second goes beside it. */
export async function buildBundle(outfile = BUNDLE): Promise<string> {
  await build({
    ...COMMON,
    stdin: {
      contents: [
        'import { enableCompileCache } from "node:module";',
        'import { runProcess } from "./src/cli/main.ts";',
        // V8's compiled code kept on disk between runs (os.tmpdir()/node-compile-cache; Node's
        // NODE_DISABLE_COMPILE_CACHE turns it off): the commands file then loads 2-3 times faster.
        "enableCompileCache?.();",
        // The npm package runs on the user's Node; the bundled HTTP client needs 22.19.
        'const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);',
        "if (major < 22 || (major === 22 && minor < 19)) {",
        "  process.stderr.write(`error: kubectl-cairn needs Node 22.19 or newer; this is ${process.versions.node}\\n`);",
        "  process.exit(1);",
        "}",
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
    banner: { js: "#!/usr/bin/env node" },
    plugins: [commandsElsewhere],
  });
  await build({
    ...COMMON,
    entryPoints: [join(ROOT, "src", "cli", "execute.ts")],
    outfile: join(dirname(outfile), COMMANDS_FILE),
  });
  return outfile;
}

if (import.meta.main) {
  process.stdout.write(`${await buildBundle()}\n`);
}
