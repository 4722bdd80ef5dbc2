// npm run testbed -- up|status|down [--name N] [--nodes K] [--json]
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  AlreadyRunning,
  downDetached,
  readCairnState,
  readState,
  runDir,
  StartFailed,
  upDetached,
} from "./detached.ts";
import { isAlive } from "./process.ts";

const USAGE = `usage: npm run testbed -- <up|status|down> [--name NAME] [--nodes N] [--json] [--control-plane]
  up      start a cluster in the background; the last line is export KUBECONFIG=<path>
          (everything by default; --control-plane starts Kubernetes and kwok only)
  status  report each component of the cluster
  down    stop the cluster and remove its folder`;

class UsageError extends Error {}

async function up(
  name: string,
  nodes: number,
  json: boolean,
  controlPlaneOnly: boolean,
): Promise<number> {
  let state;
  try {
    state = await upDetached({
      name,
      nodes,
      controlPlaneOnly,
      onLog: (chunk) => process.stderr.write(chunk),
    });
  } catch (err) {
    if (err instanceof AlreadyRunning) throw new UsageError(err.message);
    if (err instanceof StartFailed) {
      process.stderr.write(`testbed: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const dir = runDir(name);
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
        (state.eventsUrl ? `Flux events (Cairn's --events-addr) ${state.eventsUrl}\n` : "") +
        (state.registryHost
          ? `OCI registry ${state.registryHost} (plain HTTP): charts at ${state.ociRepoUrl ?? ""}, ` +
            `images for ImageRepositories (spec.image ${state.registryHost}/<name>, insecure: true)\n`
          : "") +
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
        `  ${c.name.padEnd(26)} ${c.running ? "running" : "STOPPED"}  pid ${c.pid}  log ${c.logFile}`,
    );
    // A cluster kept by `npm run demo -- --keep` also runs Cairn's controller.
    const cairn = await readCairnState(dir);
    if (cairn) {
      rows.push(
        `  ${"cairn".padEnd(26)} ${isAlive(cairn.pid) ? "running" : "STOPPED"}  pid ${cairn.pid}  log ${cairn.logFile}`,
      );
    }
    process.stdout.write(
      `cluster "${name}" (${dir}), started ${state.startedAt}\n` +
        `  ${"supervisor".padEnd(26)} ${supervisorRunning ? "running" : "STOPPED"}  pid ${state.supervisorPid}\n` +
        `${rows.join("\n")}\n  nodes: ${state.nodes.join(", ")}\n` +
        (state.git ? `  git server: ${state.git.url}\n` : "") +
        (state.helmRepoUrl ? `  Helm repository: ${state.helmRepoUrl}\n` : "") +
        (state.eventsUrl ? `  Flux events: ${state.eventsUrl}\n` : "") +
        (state.registryHost ? `  OCI registry: ${state.registryHost}\n` : "") +
        `export KUBECONFIG=${state.kubeconfig}\n`,
    );
  }
  return healthy ? 0 : 1;
}

async function down(name: string, json: boolean): Promise<number> {
  const dir = runDir(name);
  const { state, killed } = await downDetached(name);
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
