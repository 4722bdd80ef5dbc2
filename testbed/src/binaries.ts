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
  fluxNotification: z.string().optional(),
  /** image-reflector-controller: <folder>/image-reflector-controller and <folder>/crds. */
  fluxImageReflector: z.string().optional(),
  /** The OCI registry (CNCF distribution): <folder>/registry. */
  registry: z.string().optional(),
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
  full: [
    "kube",
    "kwok",
    "snapshot",
    "fluxSource",
    "fluxKustomize",
    "fluxHelm",
    "fluxNotification",
    "fluxImageReflector",
    "registry",
    "render",
  ],
} as const;

export function ensureBinaries(
  profile: keyof typeof BUILD_COMPONENTS,
  progress: (line: string) => void,
): Promise<BinaryDirs> {
  return runBuild(BUILD_COMPONENTS[profile], progress).then(parseBuildOutput);
}

/** One component's cache folder, built when missing (a benchmark that runs one part alone). */
export async function ensureComponent(
  name: Exclude<keyof BinaryDirs, "kube" | "kwok">,
  progress: (line: string) => void = () => undefined,
): Promise<string> {
  const stdout = await runBuild([name], progress);
  const dir = BinaryDirs.partial().parse(JSON.parse(stdout.trim().split("\n").at(-1) ?? ""))[name];
  if (dir === undefined) throw new Error(`testbed/build.sh did not list ${name}`);
  return dir;
}

/**
 * Tools some tests use besides the cluster's binaries: the helm CLI (at helm-controller's Helm
 * version), promtool, and prometheus-operator's monitoring CRDs (no binary).
 */
export const ToolDirs = z.object({
  helm: z.string().optional(),
  promtool: z.string().optional(),
  prometheusOperator: z.string().optional(),
});
export type ToolName = keyof z.infer<typeof ToolDirs>;

/** Builds (when missing) the named tools and returns each one's cache folder. */
export async function ensureTools<T extends ToolName>(
  names: readonly T[],
  progress: (line: string) => void = () => undefined,
): Promise<Record<T, string>> {
  const stdout = await runBuild(names, progress);
  const last = stdout.trim().split("\n").at(-1) ?? "";
  const dirs = ToolDirs.parse(JSON.parse(last));
  const out = {} as Record<T, string>;
  for (const name of names) {
    const dir = dirs[name];
    if (dir === undefined) throw new Error(`testbed/build.sh did not list ${name}`);
    out[name] = dir;
  }
  return out;
}

function runBuild(
  components: readonly string[],
  progress: (line: string) => void,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [`${TESTBED_DIR}build.sh`, ...components], {
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
      resolve(stdout);
    });
  });
}
