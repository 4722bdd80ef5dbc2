// Start-up time of the plugin, as a user waits for it: wall time from spawning the process to
// its exit, median of RUNS runs after WARMUP, for each way it is installed:
//   - source:     node bin/kubectl-cairn.js (a checkout; Node strips the types);
//   - bundle:     node dist/cli/kubectl-cairn.cjs (the npm package's bin);
//   - executable: the Linux single executable of scripts/release-cli.ts (built here, or --exe);
// and for `--help`, `version --client` and `status` against a control-plane test bed (an empty
// namespace with one ManagedApp; the API answers in a few ms, so the time is the plugin's).
// `node -e 0` is the floor: Node's own start on this machine.
//
//   node bench/cli-startup.ts [--runs=21] [--exe=PATH] [--without-cluster]
//   CAIRN_TESTBED_KUBECONFIG=… node bench/cli-startup.ts   (reuse a running bed)
//
// Targets (issue 17): --help ≤ 150 ms, status ≤ 500 ms. The bench reports, it never fails on
// time: on a shared machine the figures say as much about the neighbours as about the plugin.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { buildBundle } from "../scripts/build-cli.ts";
import { release } from "../scripts/release-cli.ts";
import { API_VERSION, Kind } from "../src/api/group.ts";
import { KubeClient } from "../src/kube/client.ts";
import { Cluster } from "../testbed/src/cluster.ts";

const ROOT = join(import.meta.dirname, "..");
const WARMUP = 2;

const log = (line: string) => process.stderr.write(`${line}\n`);

function timeOnce(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(cmd, args, { env, stdio: ["ignore", "ignore", "pipe"] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) {
    throw new Error(
      `${cmd} ${args.join(" ")} exited ${result.status}: ${result.stderr.toString()}`,
    );
  }
  return ms;
}

interface Figure {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

function measure(
  cmd: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  runs: number,
): Figure {
  for (let i = 0; i < WARMUP; i++) timeOnce(cmd, args, env);
  const times = Array.from({ length: runs }, () => timeOnce(cmd, args, env)).sort((a, b) => a - b);
  return {
    median: times[Math.floor(times.length / 2)] ?? 0,
    min: times[0] ?? 0,
    max: times[times.length - 1] ?? 0,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: "string", default: "21" },
      exe: { type: "string" },
      // Only --help and version --client: no test bed started.
      "without-cluster": { type: "boolean", default: false },
    },
  });
  const runs = Number(values.runs);
  const work = mkdtempSync(join(tmpdir(), "cairn-bench-cli-"));
  const reuse = process.env["CAIRN_TESTBED_KUBECONFIG"];
  let cluster: Cluster | undefined;
  try {
    log("building the bundle …");
    const bundle = await buildBundle(join(work, "kubectl-cairn.cjs"));
    let exe = values.exe;
    if (exe === undefined) {
      log("building the Linux executable (scripts/release-cli.ts) …");
      const built = await release({
        out: join(work, "release"),
        platforms: [{ os: "linux", arch: process.arch === "arm64" ? "arm64" : "amd64" }],
      });
      exe = Object.values(built.executables)[0] ?? "";
    }
    const withCluster = !values["without-cluster"];
    if (withCluster && !reuse) log("starting a control-plane test bed …");
    cluster = withCluster && !reuse ? await Cluster.start({ log }) : undefined;
    const kubeconfig = reuse ?? cluster?.kubeconfig ?? join(work, "no-kubeconfig");
    const admin = withCluster ? KubeClient.fromKubeconfigFile(kubeconfig) : undefined;
    const namespace = `bench-cli-${Date.now().toString(36)}`;
    await admin?.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } });
    await admin?.create({
      apiVersion: API_VERSION,
      kind: Kind.ManagedApp,
      metadata: { name: "web", namespace },
      spec: { gitPath: "apps/web/release.yaml", kustomizationRef: { name: "apps" } },
    });
    const env = { ...process.env, KUBECONFIG: kubeconfig, HOME: work };
    const node = process.execPath;
    const installs: [string, string, string[]][] = [
      ["source", node, [join(ROOT, "bin", "kubectl-cairn.js")]],
      ["bundle", node, [bundle]],
      ["executable", exe, []],
    ];
    const commands: [string, string[]][] = [
      ["--help", ["--help"]],
      ["version --client", ["version", "--client"]],
      ...(withCluster ? [["status", ["status", "-n", namespace]] as [string, string[]]] : []),
    ];
    const rows: string[][] = [];
    const floor = measure(node, ["-e", "0"], env, runs);
    rows.push(["node -e 0", "-", fmt(floor)]);
    for (const [install, cmd, prefix] of installs) {
      for (const [name, args] of commands) {
        log(`${install}: ${name} …`);
        rows.push([install, name, fmt(measure(cmd, [...prefix, ...args], env, runs))]);
      }
    }
    await admin?.delete({ apiVersion: "v1", kind: "Namespace", name: namespace });
    const load = loadavg()
      .map((l) => l.toFixed(1))
      .join(" ");
    process.stdout.write(
      `kubectl-cairn start-up, ${runs} runs after ${WARMUP} warm-up, ${cpus().length} CPUs, load ${load}\n`,
    );
    process.stdout.write("median ms (min–max); targets: --help ≤ 150, status ≤ 500\n\n");
    const widths = [10, 16];
    process.stdout.write(
      `${"install".padEnd(widths[0] ?? 0)}  ${"command".padEnd(widths[1] ?? 0)}  time\n`,
    );
    for (const [install = "", command = "", time = ""] of rows) {
      process.stdout.write(
        `${install.padEnd(widths[0] ?? 0)}  ${command.padEnd(widths[1] ?? 0)}  ${time}\n`,
      );
    }
  } finally {
    await cluster?.stop({ removeDir: true });
    rmSync(work, { recursive: true, force: true });
  }
}

function fmt(f: Figure): string {
  return `${f.median.toFixed(0)} (${f.min.toFixed(0)}–${f.max.toFixed(0)})`;
}

await main();
