// The plugin as users install it, without a checkout: the release script's Linux executable
// unpacked into an empty folder that is all of PATH (no Node anywhere), and the npm package
// installed globally into an empty prefix; both run `status` against the real API server, and
// kubectl's completion shim answers with the app names the cluster has.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parse } from "yaml";
import { release, sha256, type Release } from "../../../scripts/release-cli.ts";
import type { KubeClient } from "../../../src/kube/client.ts";
import { testClient } from "../../support/kube.ts";
import {
  condition,
  createApp,
  deleteIsolatedNamespace,
  ensureCurrentCrds,
  isolatedNamespace,
  type CliResult,
} from "./support.ts";

let client: KubeClient;
let ns: string;
let dir: string;
let built: Release;

/** Runs a command found through `path` alone, as a shell would. */
function runFromPath(
  command: string,
  args: readonly string[],
  path: string,
  home: string,
): Promise<CliResult> {
  const env = { PATH: path, HOME: home, KUBECONFIG: inject("kubeconfig") };
  const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  client = testClient();
  ns = await isolatedNamespace(client, "cli-package");
  await ensureCurrentCrds(client, ns);
  await createApp(client, ns, "shop", {
    status: {
      conditions: [condition("Ready", "True", "Succeeded", "references resolve")],
      currentVersion: "3.1.0",
    },
  });
  dir = mkdtempSync(join(tmpdir(), "cairn-cli-package-"));
  built = await release({
    out: join(dir, "release"),
    platforms: [{ os: "linux", arch: "amd64" }],
    baseUrl: "https://example.invalid/download/v0.1.0",
  });
}, 900_000);

afterAll(async () => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (ns) await deleteIsolatedNamespace(client, ns);
});

describe("the release", () => {
  it("checksums every artifact and names each archive with its sha256 in the krew manifest", () => {
    const out = join(dir, "release");
    const sums = readFileSync(join(out, "SHA256SUMS"), "utf8").trimEnd().split("\n");
    const files = [built.npmPackage, ...built.archives.map((a) => a.file)];
    expect(sums).toEqual(files.map((f) => `${sha256(join(out, f))}  ${f}`));
    const manifest = parse(readFileSync(join(out, "cairn.yaml"), "utf8")) as {
      kind: string;
      spec: { platforms: { selector: unknown; uri: string; sha256: string; bin: string }[] };
    };
    expect(manifest.kind).toBe("Plugin");
    expect(manifest.spec.platforms).toEqual([
      expect.objectContaining({
        selector: { matchLabels: { os: "linux", arch: "amd64" } },
        uri: "https://example.invalid/download/v0.1.0/kubectl-cairn_0.1.0_linux_amd64.tar.gz",
        sha256: sha256(join(out, "kubectl-cairn_0.1.0_linux_amd64.tar.gz")),
        bin: "kubectl-cairn",
      }),
    ]);
  });

  it("runs the Linux executable from an empty folder on PATH, with no Node on PATH", async () => {
    const bin = join(dir, "bin");
    mkdirSync(bin);
    const archive = built.archives[0]?.file ?? "";
    execFileSync("tar", ["-xzf", join(dir, "release", archive), "-C", bin]);
    // Nothing but the two files: a `node` found on PATH would make the check meaningless.
    expect(execFileSync("ls", [bin], { encoding: "utf8" }).split("\n").sort()).toEqual([
      "",
      "kubectl-cairn",
      "kubectl_complete-cairn",
    ]);
    const noNode = await runFromPath("kubectl-cairn", ["version", "--client"], bin, dir);
    expect(noNode).toEqual({ code: 0, stdout: "Client Version: 0.1.0\n", stderr: "" });
    const status = await runFromPath("kubectl-cairn", ["status", "-n", ns], bin, dir);
    expect(status.stderr).toBe("");
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^NAME +VERSION +HEALTH/);
    expect(status.stdout).toMatch(/^shop +3\.1\.0 +Ready /m);
    // kubectl runs kubectl_complete-cairn with the words after "kubectl cairn"; it finds
    // kubectl-cairn on PATH and asks the cluster for names. /bin/sh runs the shim.
    const shim = await runFromPath(
      "/bin/sh",
      [join(bin, "kubectl_complete-cairn"), "upgrade", "-n", ns, "sh"],
      bin,
      dir,
    );
    expect(shim).toEqual({ code: 0, stdout: "shop\n:4\n", stderr: "" });
  });

  it("installs the npm package globally into an empty prefix, and its bin runs", async () => {
    const prefix = join(dir, "global");
    execFileSync(
      "npm",
      [
        "install",
        "--global",
        "--prefix",
        prefix,
        "--offline",
        "--no-audit",
        "--no-fund",
        join(dir, "release", built.npmPackage),
      ],
      { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
    );
    // The package's bin needs a Node on PATH; the one running the tests (the pinned 24).
    const path = `${join(prefix, "bin")}:${dirname(process.execPath)}`;
    const status = await runFromPath(
      "kubectl-cairn",
      ["status", "shop", "-n", ns, "-o", "json"],
      path,
      dir,
    );
    expect(status.stderr).toBe("");
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ name: "shop", version: "3.1.0" });
  });
});

// The arm64 executable runs here only under qemu-user (Debian: qemu-user, libc6-arm64-cross,
// libstdc++6-arm64-cross); without them this part is skipped and says so.
const ARM64_SYSROOT = "/usr/aarch64-linux-gnu";
const canRunArm64 =
  existsSync(ARM64_SYSROOT) &&
  ["/usr/bin/qemu-aarch64", "/usr/bin/qemu-aarch64-static"].some((q) => existsSync(q));

describe.runIf(canRunArm64)("the linux-arm64 executable (under qemu-user)", () => {
  it("runs status against the cluster", async () => {
    const arm = await release({
      out: join(dir, "release-arm64"),
      platforms: [{ os: "linux", arch: "arm64" }],
    });
    const exe = arm.executables["linux-arm64"] ?? "";
    const qemu = existsSync("/usr/bin/qemu-aarch64")
      ? "/usr/bin/qemu-aarch64"
      : "/usr/bin/qemu-aarch64-static";
    const status = await runFromPath(
      qemu,
      ["-L", ARM64_SYSROOT, exe, "status", "-n", ns],
      "/nonexistent",
      dir,
    );
    expect(status.stderr).toBe("");
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^shop +3\.1\.0 +Ready /m);
  }, 900_000);
});
