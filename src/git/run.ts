// Runs one git process: no shell, the caller's environment only, a hard timeout and an abort
// signal. git is started in its own process group so that a timeout also ends the helpers it
// spawned (git-remote-http, ssh), which would otherwise keep a connection open.
import { spawn } from "node:child_process";
import { constants } from "node:os";

export interface GitCommand {
  readonly args: readonly string[];
  /** The complete environment; nothing is inherited from the controller's own. */
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  readonly input?: string | Uint8Array | undefined;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
  /** stdout beyond this ends the process; stderr is kept to its last 64 KiB. */
  readonly maxOutputBytes: number;
}

export type GitExit =
  | {
      readonly kind: "exited";
      readonly code: number;
      readonly stdout: Buffer;
      readonly stderr: string;
    }
  | { readonly kind: "timeout" }
  | { readonly kind: "aborted"; readonly reason: unknown }
  | { readonly kind: "output-too-large" }
  | { readonly kind: "spawn-failed"; readonly error: Error };

/** Runs git; tests wrap it to record or alter what is spawned. */
export type GitRunner = (command: GitCommand) => Promise<GitExit>;

const STDERR_KEEP = 64 * 1024;

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

export const spawnGit: GitRunner = (command) =>
  new Promise<GitExit>((resolve) => {
    if (command.signal?.aborted) {
      resolve({ kind: "aborted", reason: command.signal.reason });
      return;
    }
    const child = spawn("git", [...command.args], {
      cwd: command.cwd,
      env: { ...command.env },
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
    });
    let ended: GitExit | undefined;
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderr = "";

    const stop = (outcome: GitExit) => {
      ended ??= outcome;
      killGroup(child.pid);
    };
    const timer = setTimeout(() => stop({ kind: "timeout" }), command.timeoutMs);
    const onAbort = () => stop({ kind: "aborted", reason: command.signal?.reason });
    command.signal?.addEventListener("abort", onAbort, { once: true });

    child.stdout.on("data", (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > command.maxOutputBytes) stop({ kind: "output-too-large" });
      else stdout.push(chunk);
    });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_KEEP);
    });
    // git may exit without reading all of its input (a failed command); that is not our error.
    child.stdin.on("error", () => undefined);
    child.stdin.end(command.input ?? "");

    const finish = (outcome: GitExit) => {
      clearTimeout(timer);
      command.signal?.removeEventListener("abort", onAbort);
      resolve(outcome);
    };
    child.once("error", (error) => {
      ended ??= { kind: "spawn-failed", error };
      finish(ended);
    });
    child.once("close", (code, signal) => {
      finish(
        ended ?? {
          kind: "exited",
          // A signal from outside (the OOM killer, say) reads like a shell's exit status.
          code: code ?? 128 + (signal === null ? 0 : constants.signals[signal]),
          stdout: Buffer.concat(stdout),
          stderr,
        },
      );
    });
  });
