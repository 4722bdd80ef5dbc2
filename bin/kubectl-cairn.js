#!/usr/bin/env node
// kubectl-cairn, the kubectl plugin (`kubectl cairn …` once it is on PATH under that name, as
// `npm link` or a global install puts it).
//
// In the repository it runs the TypeScript sources directly: Node strips the types, as it does
// for the controller, so there is no build step to forget. Node refuses to strip types under
// node_modules, so an installed copy runs the compiled dist/ of `npm run build`; so does a Node
// without type stripping when dist/ is there. Plain JavaScript, so that it can explain itself
// on any Node.
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
const compiled = join(root, "dist", "cli", "main.js");
const source = join(root, "src", "cli", "main.ts");
// "strip" or "transform" where Node runs .ts files; false when turned off by flag.
const canStrip = Boolean(process.features.typescript);

let entry;
if (!installed && canStrip) entry = source;
else if (existsSync(compiled)) entry = compiled;
else {
  const why = installed
    ? "Node does not run TypeScript under node_modules"
    : "this Node does not strip TypeScript types";
  process.stderr.write(`error: ${why}, and ${compiled} is missing: run npm run build in ${root}\n`);
  process.exit(1);
}
const { runProcess } = await import(pathToFileURL(entry).href);
await runProcess();
