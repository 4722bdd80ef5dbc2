// The plugin's failures and how each becomes the one line on stderr. kubectl users expect a short
// "error: …" and an exit code a script can branch on, never a stack trace.
// Light on purpose: the command line's parser throws these before anything heavy is loaded;
// failure.ts, which knows the Kubernetes client's errors, is loaded only when a command fails.

/** Exit codes: 1 for a failed or refused operation, 2 for a command line that makes no sense. */
export const ExitCode = { Ok: 0, Failure: 1, Usage: 2 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A failure the plugin explains itself; the message is the whole story. */
export class CliError extends Error {
  override readonly name: string = "CliError";
  readonly exitCode: ExitCode;
  constructor(message: string, exitCode: ExitCode = ExitCode.Failure, options?: ErrorOptions) {
    super(message, options);
    this.exitCode = exitCode;
  }
}

/** A bad command line: unknown flag, missing argument, malformed value. */
export class UsageError extends CliError {
  override readonly name = "UsageError";
  constructor(message: string) {
    super(message, ExitCode.Usage);
  }
}
