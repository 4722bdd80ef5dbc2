// kubectl-cairn: the command line parsed (program.ts), then the chosen command run. Only what
// every run needs is imported up front: `--help`, `version --client` and `completion` finish
// without loading the Kubernetes client, zod or yaml; everything else is imported by execute.ts
// when a command needs it. The process itself is the caller's: main takes its streams and
// environment.
import { homedir } from "node:os";
import { clientVersion } from "./client-version.ts";
import { completionScript } from "./completion-scripts.ts";
import { ExitCode } from "./errors.ts";
import type { Writer } from "./live.ts";
import { parseCommandLine, SHELLS, type RawInvocation } from "./program.ts";

export interface Io {
  readonly stdout: Writer;
  readonly stderr: Writer;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly home: string;
  readonly now: () => Date;
  /**
   * Asks a person a question and resolves with the answer; undefined without a terminal to
   * ask on (then a command that needs a confirmation refuses).
   */
  readonly ask?: ((question: string) => Promise<string>) | undefined;
}

/** The commands that need nothing but this module; undefined for the others. */
function runLight(raw: RawInvocation, io: Io): ExitCode | undefined {
  if (raw.command === "version" && raw.options["client"] === true) {
    if (raw.globals.output === "table") io.stdout.write(`Client Version: ${clientVersion()}\n`);
    else return undefined; // json/yaml: execute.ts serializes it.
    return ExitCode.Ok;
  }
  if (raw.command === "completion") {
    const shell = SHELLS.find((s) => s === raw.args[0]);
    if (shell === undefined) return undefined; // execute.ts explains the usage error.
    io.stdout.write(completionScript(shell));
    return ExitCode.Ok;
  }
  return undefined;
}

export async function main(argv: readonly string[], io: Io): Promise<ExitCode> {
  const parsed = parseCommandLine(argv, {
    writeOut: (text) => io.stdout.write(text),
    writeErr: (text) => io.stderr.write(text),
  });
  if (parsed.kind === "exit") return parsed.code;
  const light = runLight(parsed.invocation, io);
  if (light !== undefined) return light;
  const { execute } = await import("./execute.ts");
  return execute(parsed.invocation, io);
}

/** The bin's entry: the real process, streams and environment. */
export async function runProcess(): Promise<void> {
  // A reader that stops early (`| head`) is not an error of ours: stop quietly, as kubectl does.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
  process.exitCode = await main(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    home: homedir(),
    now: () => new Date(),
    ask: process.stdin.isTTY && process.stderr.isTTY ? askOnTerminal : undefined,
  });
}

async function askOnTerminal(question: string): Promise<string> {
  const { createInterface } = await import("node:readline/promises");
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await rl.question(question);
  } finally {
    rl.close();
  }
}
