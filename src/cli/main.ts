// kubectl-cairn: the command line parsed, the cluster chosen as kubectl would, one command run,
// and every failure turned into one line on stderr with an exit code (1 failed or refused,
// 2 bad usage). The process itself is the caller's: main takes its streams and environment.
import { homedir } from "node:os";
import { parseCommandLine, USAGE, type Command } from "./args.ts";
import { history } from "./commands/history.ts";
import { rollback } from "./commands/rollback.ts";
import { status } from "./commands/status.ts";
import { unfreeze } from "./commands/unfreeze.ts";
import { updates } from "./commands/updates.ts";
import { plan, upgrade } from "./commands/upgrade.ts";
import type { CommandContext } from "./context.ts";
import { CliError, describeFailure, ExitCode } from "./errors.ts";
import { connect } from "./kubeconfig.ts";
import type { Writer } from "./live.ts";

export interface Io {
  readonly stdout: Writer;
  readonly stderr: Writer;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly home: string;
  readonly now: () => Date;
}

function run(ctx: CommandContext, command: Exclude<Command, { name: "help" }>): Promise<ExitCode> {
  switch (command.name) {
    case "status":
      return status(ctx, command);
    case "plan":
      return plan(ctx, command);
    case "upgrade":
      return upgrade(ctx, command);
    case "rollback":
      return rollback(ctx, command);
    case "unfreeze":
      return unfreeze(ctx, command);
    case "history":
      return history(ctx, command);
    case "updates":
      return updates(ctx, command);
  }
}

export async function main(argv: readonly string[], io: Io): Promise<ExitCode> {
  let server = "";
  try {
    const { globals, command } = parseCommandLine(argv);
    if (command.name === "help") {
      io.stdout.write(USAGE);
      return ExitCode.Ok;
    }
    const { client, namespace } = connect({ ...globals, env: io.env, home: io.home });
    server = client.server;
    const ctx: CommandContext = {
      client,
      namespace,
      output: globals.output,
      stdout: io.stdout,
      stderr: io.stderr,
      now: io.now,
    };
    return await run(ctx, command);
  } catch (err) {
    io.stderr.write(`error: ${describeFailure(err, server)}\n`);
    if (err instanceof CliError && err.exitCode === ExitCode.Usage) {
      io.stderr.write(`Run "kubectl cairn --help" for usage.\n`);
    }
    return err instanceof CliError ? err.exitCode : ExitCode.Failure;
  }
}

/** The bin's entry: the real process, streams and environment. */
export async function runProcess(): Promise<void> {
  process.exitCode = await main(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    home: homedir(),
    now: () => new Date(),
  });
}
