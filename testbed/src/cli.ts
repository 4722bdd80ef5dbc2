// npm run testbed -- up|status|down [--name N] [--nodes K] [--json]
import { spawn } from "node:child_process";
import { existsSync, openSync, closeSync } from "node:fs";
import { mkdir, readFile, rm, open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { parseArgs } from "node:util";
import { killRecordedProcesses } from "./cluster.ts";
import { isAlive } from "./process.ts";
import { ClusterState } from "./state.ts";
import { TESTBED_DIR } from "./binaries.ts";

const USAGE = `usage: npm run testbed -- <up|status|down> [--name NAME] [--nodes N] [--json] [--control-plane]
  up      start a cluster in the background; the last line is export KUBECONFIG=<path>
          (everything by default; --control-plane starts Kubernetes and kwok only)
  status  report each component of the cluster
  down    stop the cluster and remove its folder`;

class UsageError extends Error {}

export function runDir(name: string): string {
  const root = process.env["CAIRN_TESTBED_HOME"] ?? join(tmpdir(), "cairn-testbed");
  return join(root, name);
}

async function readState(dir: string): Promise<ClusterState | undefined> {
  try {
    return ClusterState.parse(JSON.parse(await readFile(join(dir, "cluster.json"), "utf8")));
  } catch {
    return undefined;
  }
}

/** Streams what the supervisor logs while the CLI waits for it. */
async function followLog(path: string, from: number): Promise<number> {
  let handle;
  try {
    handle = await open(path, "r");
  } catch {
    return from;
  }
  try {
    const { size } = await handle.stat();
    if (size <= from) return from;
    const buf = Buffer.alloc(size - from);
    await handle.read(buf, 0, buf.length, from);
    process.stderr.write(buf);
    return size;
  } finally {
    await handle.close();
  }
}

async function up(
  name: string,
  nodes: number,
  json: boolean,
  controlPlaneOnly: boolean,
): Promise<number> {
  const dir = runDir(name);
  const existing = await readState(dir);
  if (existing && isAlive(existing.supervisorPid)) {
    throw new UsageError(
      `cluster "${name}" is already running (${dir}); use --name for a second one, or down first`,
    );
  }
  await killRecordedProcesses(dir);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const logFile = join(dir, "supervisor.log");
  const fd = openSync(logFile, "a");
  const supervisor = spawn(
    process.execPath,
    [
      join(TESTBED_DIR, "src", "supervisor.ts"),
      "--dir",
      dir,
      "--name",
      name,
      "--nodes",
      String(nodes),
      ...(controlPlaneOnly ? ["--control-plane"] : []),
    ],
    { detached: true, stdio: ["ignore", fd, fd] },
  );
  closeSync(fd);
  supervisor.unref();
  const supervisorState = { exited: false };
  supervisor.once("exit", () => (supervisorState.exited = true));
  const interrupt = () => {
    process.stderr.write("testbed: interrupted, stopping\n");
    if (supervisor.pid) process.kill(supervisor.pid, "SIGTERM");
  };
  process.once("SIGINT", interrupt);
  process.once("SIGTERM", interrupt);
  let offset = 0;
  try {
    for (;;) {
      offset = await followLog(logFile, offset);
      if (existsSync(join(dir, "ready"))) break;
      if (existsSync(join(dir, "failed")) || supervisorState.exited) {
        await followLog(logFile, offset);
        process.stderr.write(`testbed: cluster "${name}" failed to start; logs are in ${dir}\n`);
        return 1;
      }
      await delay(200);
    }
  } finally {
    process.removeListener("SIGINT", interrupt);
    process.removeListener("SIGTERM", interrupt);
  }
  const state = await readState(dir);
  if (!state) throw new Error(`cluster "${name}" reported ready but wrote no cluster.json`);
  if (json) {
    process.stdout.write(`${JSON.stringify(state, null, 2)}\n`);
  } else {
    process.stdout.write(
      `cluster "${name}" is up: API server https://127.0.0.1:${state.ports.apiserver}, ` +
        `${state.nodes.length} nodes, folder ${dir}\n` +
        (state.git
          ? `git server ${state.git.url} (push as ${state.git.username}; password in ${join(dir, "cluster.json")})\n`
          : "") +
        (state.helmRepoUrl ? `Helm repository ${state.helmRepoUrl}\n` : "") +
        `stop it with: npm run testbed -- down${name === "default" ? "" : ` --name ${name}`}\n` +
        `export KUBECONFIG=${state.kubeconfig}\n`,
    );
  }
  return 0;
}

async function status(name: string, json: boolean): Promise<number> {
  const dir = runDir(name);
  const state = await readState(dir);
  if (!state) {
    if (json) process.stdout.write(`${JSON.stringify({ name, running: false })}\n`);
    else
      process.stdout.write(`cluster "${name}" is not running (no ${join(dir, "cluster.json")})\n`);
    return 1;
  }
  const components = state.components.map((c) => ({ ...c, running: c.pid > 0 && isAlive(c.pid) }));
  const supervisorRunning = isAlive(state.supervisorPid);
  const healthy = supervisorRunning && components.every((c) => c.running);
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ ...state, running: healthy, supervisorRunning, components }, null, 2)}\n`,
    );
  } else {
    const rows = components.map(
      (c) =>
        `  ${c.name.padEnd(24)} ${c.running ? "running" : "STOPPED"}  pid ${c.pid}  log ${c.logFile}`,
    );
    process.stdout.write(
      `cluster "${name}" (${dir}), started ${state.startedAt}\n` +
        `  ${"supervisor".padEnd(24)} ${supervisorRunning ? "running" : "STOPPED"}  pid ${state.supervisorPid}\n` +
        `${rows.join("\n")}\n  nodes: ${state.nodes.join(", ")}\n` +
        (state.git ? `  git server: ${state.git.url}\n` : "") +
        (state.helmRepoUrl ? `  Helm repository: ${state.helmRepoUrl}\n` : "") +
        `export KUBECONFIG=${state.kubeconfig}\n`,
    );
  }
  return healthy ? 0 : 1;
}

async function down(name: string, json: boolean): Promise<number> {
  const dir = runDir(name);
  const state = await readState(dir);
  if (state && isAlive(state.supervisorPid)) {
    process.kill(state.supervisorPid, "SIGTERM");
    const deadline = Date.now() + 30_000;
    while (isAlive(state.supervisorPid) && Date.now() < deadline) await delay(100);
    if (isAlive(state.supervisorPid)) process.kill(state.supervisorPid, "SIGKILL");
  }
  const killed = await killRecordedProcesses(dir);
  await rm(dir, { recursive: true, force: true });
  const message = state
    ? `cluster "${name}" stopped and ${dir} removed`
    : `cluster "${name}" was not running`;
  process.stdout.write(
    json ? `${JSON.stringify({ name, stopped: Boolean(state), killed })}\n` : `${message}\n`,
  );
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: "string", default: "default" },
      nodes: { type: "string", default: "2" },
      json: { type: "boolean", default: false },
      "control-plane": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const nodes = Number(values.nodes);
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 20)
    throw new UsageError("--nodes must be 1..20");
  if (!/^[a-z0-9][a-z0-9-]{0,39}$/.test(values.name))
    throw new UsageError("--name must be a short DNS label");
  switch (positionals[0]) {
    case "up":
      return up(values.name, nodes, values.json, values["control-plane"]);
    case "status":
      return status(values.name, values.json);
    case "down":
      return down(values.name, values.json);
    default:
      throw new UsageError(USAGE);
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`testbed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = err instanceof UsageError ? 2 : 1;
}
