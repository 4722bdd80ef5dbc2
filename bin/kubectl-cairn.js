#!/usr/bin/env node
// kubectl-cairn, the kubectl plugin (`kubectl cairn …` once it is on PATH under that name, as
// `npm link` or a global install puts it).
//
// In the repository it runs the TypeScript sources directly: Node strips the types, as it does
// for the controller, so there is no build step to forget. Node refuses to strip types under
// node_modules, so an installed copy of the repository runs the bundle of `npm run build:cli`
// (dist/cli/kubectl-cairn.cjs), else the compiled dist/ of `npm run build`; so does a Node
// without type stripping. Plain JavaScript, so that it can explain itself on any Node. (The npm
// package and the executables of scripts/release-cli.ts run the bundle itself, without this.)
import { existsSync, realpathSync } from "node:fs";
import { join, sep } from "node:path";
import { pathToFileURL } from "node:url";

// package.json's engines; older Nodes fail later, in a dependency, with a less helpful error.
const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(
    `error: kubectl-cairn needs Node 22.19 or newer; this is ${process.versions.node}\n`,
  );
  process.exit(1);
}

const root = realpathSync(join(import.meta.dirname, ".."));
const installed = root.split(sep).includes("node_modules");
const bundle = join(root, "dist", "cli", "kubectl-cairn.cjs");
const compiled = join(root, "dist", "cli", "main.js");
const source = join(root, "src", "cli", "main.ts");
// "strip" or "transform" where Node runs .ts files; false when turned off by flag.
const canStrip = Boolean(process.features.typescript);

if (installed || !canStrip) {
  // The bundle runs the plugin as it loads.
  if (existsSync(bundle)) await import(pathToFileURL(bundle).href);
  else if (existsSync(compiled)) await (await import(pathToFileURL(compiled).href)).runProcess();
  else {
    const why = installed
      ? "Node does not run TypeScript under node_modules"
      : "this Node does not strip TypeScript types";
    process.stderr.write(
      `error: ${why}, and ${bundle} is missing: run npm run build:cli in ${root}\n`,
    );
    process.exit(1);
  }
} else {
  const { runProcess } = await import(pathToFileURL(source).href);
  await runProcess();
}
