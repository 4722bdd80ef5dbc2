// A cluster that outlives the command that started it: `testbed up` (and `demo --keep`) start
// the supervisor (supervisor.ts) detached, in a run folder named after the cluster, and return
// once it reports ready; `testbed down` stops it and removes the folder.
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync } from "node:fs";
import { mkdir, open, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { z } from "zod";
import { TESTBED_DIR } from "./binaries.ts";
import { killRecordedProcesses } from "./cluster.ts";
import { isAlive } from "./process.ts";
import { ClusterState } from "./state.ts";

export function runDir(name: string): string {
  const root = process.env["CAIRN_TESTBED_HOME"] ?? join(tmpdir(), "cairn-testbed");
  return join(root, name);
}

export async function readState(dir: string): Promise<ClusterState | undefined> {
  try {
    return ClusterState.parse(JSON.parse(await readFile(join(dir, "cluster.json"), "utf8")));
  } catch {
    return undefined;
  }
}

/** What the supervisor writes to cairn.json when it runs Cairn's controller beside the cluster. */
export const CairnState = z.object({
  namespace: z.string(),
  serviceAccount: z.string(),
  pid: z.number(),
  logFile: z.string(),
  metricsPort: z.number(),
  healthPort: z.number(),
});
export type CairnState = z.infer<typeof CairnState>;

export async function readCairnState(dir: string): Promise<CairnState | undefined> {
  try {
    return CairnState.parse(JSON.parse(await readFile(join(dir, "cairn.json"), "utf8")));
  } catch {
    return undefined;
  }
}

/** A cluster of that name runs already. */
export class AlreadyRunning extends Error {
  override readonly name = "AlreadyRunning";
}

/** The supervisor failed to bring the cluster up; its log is in the run folder. */
export class StartFailed extends Error {
  override readonly name = "StartFailed";
}

export interface UpOptions {
  readonly name: string;
  readonly nodes: number;
  /** Kubernetes and kwok only. */
  readonly controlPlaneOnly?: boolean;
  /** Also install Cairn from deploy/ and run its controller, owned by the supervisor. */
  readonly cairn?: boolean;
  /** Receives the supervisor's log as it is written. */
  readonly onLog?: (chunk: Buffer) => void;
}

/** Streams what the supervisor logs while the caller waits for it. */
async function followLog(path: string, from: number, sink: (chunk: Buffer) => void) {
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
    sink(buf);
    return size;
  } finally {
    await handle.close();
  }
}

/**
 * Starts the supervisor detached and waits until the cluster is ready. SIGINT or SIGTERM while
 * waiting stops the supervisor (and so the cluster) before this rejects.
 */
export async function upDetached(opts: UpOptions): Promise<ClusterState> {
  const dir = runDir(opts.name);
  const existing = await readState(dir);
  if (existing && isAlive(existing.supervisorPid)) {
    throw new AlreadyRunning(
      `cluster "${opts.name}" is already running (${dir}); use --name for a second one, or down first`,
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
      opts.name,
      "--nodes",
      String(opts.nodes),
      ...(opts.controlPlaneOnly ? ["--control-plane"] : []),
      ...(opts.cairn ? ["--cairn"] : []),
    ],
    { detached: true, stdio: ["ignore", fd, fd] },
  );
  closeSync(fd);
  supervisor.unref();
  const supervisorState = { exited: false };
  supervisor.once("exit", () => (supervisorState.exited = true));
  const signalled = { interrupted: false };
  const interrupt = () => {
    signalled.interrupted = true;
    process.stderr.write("testbed: interrupted, stopping\n");
    if (supervisor.pid) process.kill(supervisor.pid, "SIGTERM");
  };
  process.once("SIGINT", interrupt);
  process.once("SIGTERM", interrupt);
  const sink = opts.onLog ?? (() => undefined);
  let offset = 0;
  try {
    for (;;) {
      offset = await followLog(logFile, offset, sink);
      if (existsSync(join(dir, "ready"))) break;
      if (existsSync(join(dir, "failed")) || supervisorState.exited) {
        await followLog(logFile, offset, sink);
        throw new StartFailed(
          signalled.interrupted
            ? `cluster "${opts.name}" was interrupted while starting`
            : `cluster "${opts.name}" failed to start; logs are in ${dir}`,
        );
      }
      await delay(200);
    }
  } finally {
    process.removeListener("SIGINT", interrupt);
    process.removeListener("SIGTERM", interrupt);
  }
  const state = await readState(dir);
  if (!state) throw new Error(`cluster "${opts.name}" reported ready but wrote no cluster.json`);
  return state;
}

/** Stops the named cluster's supervisor (and so every component) and removes its folder. */
export async function downDetached(
  name: string,
): Promise<{ state: ClusterState | undefined; killed: number }> {
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
  return { state, killed };
}
