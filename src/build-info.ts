// Which Cairn this is, for cairn_build_info: the version in package.json, which the image ships
// next to src/ (see Dockerfile) and a checkout has at its root.
import { readFileSync } from "node:fs";
import { z } from "zod";
import type { BuildInfo } from "./metrics.ts";

const PackageJson = z.object({ version: z.string().min(1) });

export function readBuildInfo(
  packageJson: URL = new URL("../package.json", import.meta.url),
): BuildInfo {
  const parsed = PackageJson.parse(JSON.parse(readFileSync(packageJson, "utf8")));
  return { version: parsed.version };
}
