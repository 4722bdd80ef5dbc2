// Finds (building when missing) the test bed's binaries through testbed/build.sh, which owns the
// cache key logic; its last stdout line maps each component to its cache folder.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { z } from "zod";

export const TESTBED_DIR = fileURLToPath(new URL("..", import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

export const BinaryDirs = z.object({
  kube: z.string(),
  kwok: z.string(),
  snapshot: z.string().optional(),
  fluxSource: z.string().optional(),
  fluxKustomize: z.string().optional(),
  fluxHelm: z.string().optional(),
  /** Cairn's rendering helper (go/render): <folder>/cairn-render. */
  render: z.string().optional(),
});
export type BinaryDirs = z.infer<typeof BinaryDirs>;

/** Parses build.sh's stdout: progress never goes there, so the last non-empty line is the map. */
export function parseBuildOutput(stdout: string): BinaryDirs {
  const last = stdout.trim().split("\n").at(-1) ?? "";
  try {
    return BinaryDirs.parse(JSON.parse(last));
  } catch (err) {
    throw new Error(`testbed/build.sh printed no binary map (got ${JSON.stringify(last)})`, {
      cause: err,
    });
  }
}

/** The build components each profile needs; build.sh builds and lists only those it is asked for. */
export const BUILD_COMPONENTS = {
  "control-plane": ["kube", "kwok"],
  full: ["kube", "kwok", "snapshot", "fluxSource", "fluxKustomize", "fluxHelm", "render"],
} as const;

export function ensureBinaries(
  profile: keyof typeof BUILD_COMPONENTS,
  progress: (line: string) => void,
): Promise<BinaryDirs> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [`${TESTBED_DIR}build.sh`, ...BUILD_COMPONENTS[profile]], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderrTail = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderrTail = (stderrTail + d).slice(-4_000);
      for (const line of d.split("\n")) if (line.startsWith("testbed build:")) progress(line);
    });
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code !== 0) {
        reject(new Error(`testbed/build.sh failed with code ${code ?? "?"}:\n${stderrTail}`));
        return;
      }
      try {
        resolve(parseBuildOutput(stdout));
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  });
}
