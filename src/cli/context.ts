// What every command gets: the cluster, the namespace, the output format and the streams.
import type { KubeClient } from "../kube/client.ts";
import { serialize, type OutputFormat } from "./format/output.ts";
import type { Writer } from "./live.ts";

export interface CommandContext {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly output: OutputFormat;
  readonly stdout: Writer;
  readonly stderr: Writer;
  readonly now: () => Date;
}

/**
 * Where messages for people go: stdout for table output, stderr when stdout carries JSON or
 * YAML, so `-o json | jq` sees nothing else.
 */
export function humanStream(ctx: CommandContext): Writer {
  return ctx.output === "table" ? ctx.stdout : ctx.stderr;
}

export function say(ctx: CommandContext, line: string): void {
  humanStream(ctx).write(`${line}\n`);
}

/** Writes the document for -o json|yaml; false for table output, which the caller renders. */
export function emit(ctx: CommandContext, value: unknown): boolean {
  if (ctx.output === "table") return false;
  ctx.stdout.write(serialize(value, ctx.output));
  return true;
}
