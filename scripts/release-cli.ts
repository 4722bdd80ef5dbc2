// Builds what a release of the plugin ships, into dist/release/ (or --out):
//   - kubectl-cairn-<version>.tgz: the npm package (the bundle as its bin; Node 22.19 or newer);
//   - kubectl-cairn_<version>_linux_<arch>.tar.gz: a self-contained executable per platform (a
//     Node single executable application: the bundle injected with postject into the Node
//     binary the npm registry ships for that platform; the commands file as its asset), with
//     the kubectl_complete-cairn shim;
//   - SHA256SUMS, and cairn.yaml, the krew manifest naming each archive with its sha256.
//
// Only Linux (amd64, arm64) is built: a macOS executable must be code-signed again after the
// injection, which cannot be done (nor the result run) on the Linux machines that build and
// test this. macOS users install the npm package.
//
//   node scripts/release-cli.ts [--platforms linux-amd64,linux-arm64] [--out DIR] [--base-url URL]
// (--base-url: where the archives will be published; the krew manifest needs it.)
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, relative } from "node:path";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { buildBundle, COMMANDS_FILE, packageVersion } from "./build-cli.ts";

const ROOT = join(import.meta.dirname, "..");

export interface Platform {
  readonly os: "linux";
  readonly arch: "amd64" | "arm64";
}

export const PLATFORMS: readonly Platform[] = [
  { os: "linux", arch: "amd64" },
  { os: "linux", arch: "arm64" },
];

const NODE_ARCH = { amd64: "x64", arm64: "arm64" } as const;

/** The fuse Node looks for to know a blob was injected (Node's documented constant). */
const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

/** Runs a tool; its stderr is shown only when it fails (postject warns about every ELF note). */
function run(cmd: string, args: readonly string[], cwd = ROOT): string {
  return execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

export function sha256(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

/**
 * The Node binary of a platform, at exactly the version running this script: a SEA blob only
 * works in the Node version that prepared it. The host's own binary serves its platform; the
 * others come from the npm registry's node-<os>-<arch> packages, cached between runs.
 */
function nodeBinary(platform: Platform): string {
  const arch = NODE_ARCH[platform.arch];
  if (isHost(platform)) return process.execPath;
  const version = process.versions.node;
  const cache = join(
    homedir(),
    ".cache",
    "cairn-release",
    `node-${platform.os}-${arch}-${version}`,
  );
  const binary = join(cache, "package", "bin", "node");
  try {
    readFileSync(join(cache, ".complete"));
    return binary;
  } catch {
    // Not cached yet.
  }
  rmSync(cache, { recursive: true, force: true });
  mkdirSync(cache, { recursive: true });
  const tarball = run("npm", [
    "pack",
    `node-${platform.os}-${arch}@${version}`,
    "--pack-destination",
    cache,
    "--silent",
  ]).trim();
  run("tar", ["-xzf", join(cache, tarball), "-C", cache]);
  rmSync(join(cache, tarball));
  writeFileSync(join(cache, ".complete"), "");
  return binary;
}

/**
 * The bundle as a SEA blob, prepared by this very Node (same version as every binary used), with
 * the commands file as an asset. V8's code cache of the first file makes --help start faster,
 * but only on the CPU that made it: the host's own platform gets it, the others do without.
 */
function seaBlob(bundle: string, work: string, codeCache: boolean): string {
  const blob = join(work, `kubectl-cairn${codeCache ? "-cached" : ""}.blob`);
  const config = join(work, `sea-config${codeCache ? "-cached" : ""}.json`);
  writeFileSync(
    config,
    JSON.stringify({
      main: bundle,
      output: blob,
      disableExperimentalSEAWarning: true,
      useSnapshot: false,
      useCodeCache: codeCache,
      assets: { [COMMANDS_FILE]: join(dirname(bundle), COMMANDS_FILE) },
    }),
  );
  run(process.execPath, ["--experimental-sea-config", config]);
  return blob;
}

function isHost(platform: Platform): boolean {
  return process.platform === platform.os && process.arch === NODE_ARCH[platform.arch];
}

function executable(platform: Platform, blob: string, work: string): string {
  const dir = join(work, `${platform.os}-${platform.arch}`);
  mkdirSync(dir, { recursive: true });
  const exe = join(dir, "kubectl-cairn");
  copyFileSync(nodeBinary(platform), exe);
  chmodSync(exe, 0o755);
  run(join(ROOT, "node_modules", ".bin", "postject"), [
    exe,
    "NODE_SEA_BLOB",
    blob,
    "--sentinel-fuse",
    SEA_FUSE,
  ]);
  copyFileSync(join(ROOT, "bin", "kubectl_complete-cairn"), join(dir, "kubectl_complete-cairn"));
  chmodSync(join(dir, "kubectl_complete-cairn"), 0o755);
  return dir;
}

function archive(platform: Platform, dir: string, out: string, version: string): string {
  const name = `kubectl-cairn_${version}_${platform.os}_${platform.arch}.tar.gz`;
  run("tar", ["-czf", join(out, name), "-C", dir, "kubectl-cairn", "kubectl_complete-cairn"]);
  return name;
}

function npmPackage(bundle: string, work: string, out: string, version: string): string {
  const dir = join(work, "npm");
  mkdirSync(dir, { recursive: true });
  copyFileSync(bundle, join(dir, "kubectl-cairn.cjs"));
  chmodSync(join(dir, "kubectl-cairn.cjs"), 0o755);
  copyFileSync(join(dirname(bundle), COMMANDS_FILE), join(dir, COMMANDS_FILE));
  copyFileSync(join(ROOT, "bin", "kubectl_complete-cairn"), join(dir, "kubectl_complete-cairn"));
  copyFileSync(join(ROOT, "docs", "plugin.md"), join(dir, "README.md"));
  writeFileSync(
    join(dir, "package.json"),
    `${JSON.stringify(
      {
        name: "kubectl-cairn",
        version,
        description: "kubectl plugin for Cairn: safe, data-aware upgrades of Flux-managed apps",
        license: "Apache-2.0",
        bin: {
          "kubectl-cairn": "kubectl-cairn.cjs",
          "kubectl_complete-cairn": "kubectl_complete-cairn",
        },
        files: ["kubectl-cairn.cjs", COMMANDS_FILE, "kubectl_complete-cairn", "README.md"],
        // The bundled HTTP client (undici) needs 22.19; the executables carry their own Node.
        engines: { node: ">=22.19.0" },
      },
      null,
      2,
    )}\n`,
  );
  return run("npm", ["pack", dir, "--pack-destination", out, "--silent"]).trim();
}

export interface KrewArchive {
  readonly platform: Platform;
  readonly file: string;
  readonly sha256: string;
}

/** krew's Plugin manifest (krew.googlecontainertools.github.com/v1alpha2). */
export function krewManifest(version: string, baseUrl: string, archives: readonly KrewArchive[]) {
  return {
    apiVersion: "krew.googlecontainertools.github.com/v1alpha2",
    kind: "Plugin",
    metadata: { name: "cairn" },
    spec: {
      version: `v${version}`,
      shortDescription: "Safe, reversible upgrades of Flux-managed apps",
      description:
        "Creates Cairn UpgradeRequests and RollbackRequests and follows them: plan, upgrade " +
        "with snapshots, roll back with the data, status, history, events.",
      platforms: archives.map((a) => ({
        selector: { matchLabels: { os: a.platform.os, arch: a.platform.arch } },
        uri: `${baseUrl}/${a.file}`,
        sha256: a.sha256,
        bin: "kubectl-cairn",
        files: [
          { from: "kubectl-cairn", to: "." },
          { from: "kubectl_complete-cairn", to: "." },
        ],
      })),
    },
  };
}

export interface ReleaseOptions {
  readonly out: string;
  readonly platforms: readonly Platform[];
  /** Where the archives are published; without it no krew manifest is written. */
  readonly baseUrl?: string | undefined;
}

export interface Release {
  readonly npmPackage: string;
  readonly archives: readonly KrewArchive[];
  readonly executables: Readonly<Record<string, string>>;
}

export async function release(opts: ReleaseOptions): Promise<Release> {
  const version = packageVersion();
  const work = join(opts.out, "work");
  rmSync(opts.out, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const bundle = await buildBundle(join(work, "kubectl-cairn.cjs"));
  const npm = npmPackage(bundle, work, opts.out, version);
  const blobs = new Map<boolean, string>();
  const blobFor = (platform: Platform) => {
    const cached = isHost(platform);
    const blob = blobs.get(cached) ?? seaBlob(bundle, work, cached);
    blobs.set(cached, blob);
    return blob;
  };
  const archives: KrewArchive[] = [];
  const executables: Record<string, string> = {};
  for (const platform of opts.platforms) {
    const dir = executable(platform, blobFor(platform), work);
    executables[`${platform.os}-${platform.arch}`] = join(dir, "kubectl-cairn");
    const file = archive(platform, dir, opts.out, version);
    archives.push({ platform, file, sha256: sha256(join(opts.out, file)) });
  }
  const sums = [npm, ...archives.map((a) => a.file)].map(
    (file) => `${sha256(join(opts.out, file))}  ${file}\n`,
  );
  writeFileSync(join(opts.out, "SHA256SUMS"), sums.join(""));
  if (archives.length > 0 && opts.baseUrl !== undefined) {
    writeFileSync(
      join(opts.out, "cairn.yaml"),
      stringify(krewManifest(version, opts.baseUrl, archives)),
    );
  }
  return { npmPackage: npm, archives, executables };
}

export function parsePlatforms(text: string): Platform[] {
  return text
    .split(",")
    .filter((p) => p !== "")
    .map((p) => {
      const found = PLATFORMS.find((x) => `${x.os}-${x.arch}` === p);
      if (!found) {
        const known = PLATFORMS.map((x) => `${x.os}-${x.arch}`).join(", ");
        throw new Error(`unknown platform "${p}"; known: ${known}`);
      }
      return found;
    });
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      out: { type: "string", default: join(ROOT, "dist", "release") },
      platforms: { type: "string", default: PLATFORMS.map((p) => `${p.os}-${p.arch}`).join(",") },
      // Where the archives will be downloaded from; the krew manifest is written only with it.
      "base-url": { type: "string" },
    },
  });
  const result = await release({
    out: values.out,
    platforms: parsePlatforms(values.platforms),
    baseUrl: values["base-url"],
  });
  for (const file of [result.npmPackage, ...result.archives.map((a) => a.file)]) {
    process.stdout.write(`${relative(process.cwd(), join(values.out, file))}\n`);
  }
}
