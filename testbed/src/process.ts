// One child process of the test bed: its own process group, its own log file, and a kernel
// guarantee (PR_SET_PDEATHSIG through setpriv) that it dies with its parent, so a killed test
// run or supervisor never leaves components behind.
import { spawn, type ChildProcess } from "node:child_process";
import { openSync, closeSync, readFileSync } from "node:fs";
import type { CommandLine } from "./flags.ts";

export class ComponentError extends Error {
  readonly component: string;
  constructor(component: string, message: string, logTail: string) {
    super(
      `${component}: ${message}${logTail ? `\n--- last lines of ${component}'s log ---\n${logTail}` : ""}`,
    );
    this.name = "ComponentError";
    this.component = component;
  }
}

export function tailOfFile(path: string, lines = 30): string {
  try {
    const text = readFileSync(path, "utf8").trimEnd();
    return text.split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

export interface StartOptions {
  readonly name: string;
  readonly commandLine: CommandLine;
  readonly logFile: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

export class ManagedProcess {
  readonly name: string;
  readonly logFile: string;
  readonly commandLine: CommandLine;
  readonly #child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  private constructor(
    name: string,
    logFile: string,
    commandLine: CommandLine,
    child: ChildProcess,
  ) {
    this.name = name;
    this.logFile = logFile;
    this.commandLine = commandLine;
    this.#child = child;
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.#exitInfo = { code, signal };
        resolve({ code, signal });
      });
    });
  }

  static start(opts: StartOptions): ManagedProcess {
    const fd = openSync(opts.logFile, "a");
    try {
      const child = spawn(
        "setpriv",
        ["--pdeathsig", "KILL", "--", opts.commandLine.command, ...opts.commandLine.args],
        {
          cwd: opts.cwd,
          env: { ...process.env, ...opts.env },
          stdio: ["ignore", fd, fd],
          // A process group of its own: stopping signals the whole group, and Ctrl-C in the
          // terminal reaches only the harness, which then stops the components in order.
          detached: true,
        },
      );
      child.once("error", () => undefined); // reported through exit / readiness instead
      return new ManagedProcess(opts.name, opts.logFile, opts.commandLine, child);
    } finally {
      closeSync(fd);
    }
  }

  get pid(): number {
    return this.#child.pid ?? -1;
  }

  get running(): boolean {
    return this.#exitInfo === undefined && this.#child.pid !== undefined;
  }

  describeExit(): string {
    const info = this.#exitInfo;
    if (!info) return "is running";
    return info.signal ? `was killed by ${info.signal}` : `exited with code ${info.code ?? "?"}`;
  }

  logTail(lines = 30): string {
    return tailOfFile(this.logFile, lines);
  }

  /** SIGTERM to the process group, SIGKILL after graceMs. Resolves once the process is gone. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    signalGroup(this.pid, "SIGTERM");
    const timer = setTimeout(() => signalGroup(this.pid, "SIGKILL"), graceMs);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
    // Anything the component forked dies with the group.
    signalGroup(this.pid, "SIGKILL");
  }

  /** Synchronous last resort for process 'exit' handlers. */
  killNow(): void {
    if (this.running) signalGroup(this.pid, "SIGKILL");
  }
}

export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  if (pid <= 0) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
