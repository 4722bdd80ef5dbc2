// A command line that parsed: its values checked, the cluster chosen as kubectl would, the
// command's module loaded (each imports only what it needs) and run, and every failure turned
// into one line on stderr with an exit code (1 failed or refused, 2 bad usage).
import { toInvocation, type Command } from "./args.ts";
import type { CommandContext } from "./context.ts";
import { CliError, ExitCode } from "./errors.ts";
import type { Io } from "./main.ts";
import type { RawInvocation } from "./program.ts";

type ClusterCommand = Exclude<Command, { name: "__complete" }>;

async function run(ctx: CommandContext, command: ClusterCommand, io: Io): Promise<ExitCode> {
  switch (command.name) {
    case "status":
      return (await import("./commands/status.ts")).status(ctx, command);
    case "plan":
      return (await import("./commands/upgrade.ts")).plan(ctx, command);
    case "upgrade":
      return (await import("./commands/upgrade.ts")).upgrade(ctx, command);
    case "rollback":
      return (await import("./commands/rollback.ts")).rollback(ctx, command);
    case "watch":
      return (await import("./commands/watch.ts")).watch(ctx, command);
    case "describe":
      return (await import("./commands/describe.ts")).describe(ctx, command);
    case "events":
      return (await import("./commands/events.ts")).events(ctx, command);
    case "abort":
      return (await import("./commands/abort.ts")).abort(ctx, command, io.ask);
    case "approve":
      return (await import("./commands/approve.ts")).approve(ctx, command, io.ask);
    case "unfreeze":
      return (await import("./commands/unfreeze.ts")).unfreeze(ctx, command);
    case "history":
      return (await import("./commands/history.ts")).history(ctx, command);
    case "updates":
      return (await import("./commands/updates.ts")).updates(ctx, command);
    case "version":
      return (await import("./commands/version.ts")).version(ctx, command);
    case "completion":
      // main.ts prints the scripts; a shell it does not know is a usage error from toInvocation.
      throw new CliError(`cannot print completion for ${command.shell}`);
  }
}

export async function execute(raw: RawInvocation, io: Io): Promise<ExitCode> {
  let server = "";
  try {
    const { globals, command } = toInvocation(raw);
    if (command.name === "__complete") {
      const { completeCommand } = await import("./commands/complete.ts");
      return await completeCommand(command.words, io);
    }
    const { connect } = await import("./kubeconfig.ts");
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
    return await run(ctx, command, io);
  } catch (err) {
    const { describeFailure } = await import("./failure.ts");
    io.stderr.write(`error: ${describeFailure(err, server)}\n`);
    if (err instanceof CliError && err.exitCode === ExitCode.Usage) {
      const where = raw.command.startsWith("_") ? "" : ` ${raw.command}`;
      io.stderr.write(`Run "kubectl cairn${where} --help" for usage.\n`);
    }
    return err instanceof CliError ? err.exitCode : ExitCode.Failure;
  }
}
