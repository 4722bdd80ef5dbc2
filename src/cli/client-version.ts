// The plugin's own version. A bundle (scripts/build-cli.ts) has it written in at build time, as
// the global CAIRN_CLI_VERSION; run from the sources, it is package.json's.
import { readFileSync } from "node:fs";

declare const CAIRN_CLI_VERSION: string | undefined;

export function clientVersion(): string {
  if (typeof CAIRN_CLI_VERSION === "string") return CAIRN_CLI_VERSION;
  try {
    const pkg = JSON.parse(
      readFileSync(new URL("../../package.json", import.meta.url), "utf8"),
    ) as { version?: unknown };
    return typeof pkg.version === "string" ? pkg.version : "unknown";
  } catch {
    return "unknown";
  }
}
