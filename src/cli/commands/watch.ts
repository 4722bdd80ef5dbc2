// `kubectl cairn watch <request>`: attaches to any request, the ones Cairn starts by itself
// included, shows the steps it already ran and follows it to its end.
import { getRequest } from "../cluster.ts";
import { emit, say, type CommandContext } from "../context.ts";
import { ExitCode } from "../errors.ts";
import { renderOutcome } from "../format/progress.ts";
import { outcomeOf } from "../requests.ts";
import { watchRequest } from "../watch-request.ts";

export async function watch(
  ctx: CommandContext,
  cmd: { readonly request: string; readonly timeoutMs: number },
): Promise<ExitCode> {
  const { raw } = await getRequest(ctx.client, ctx.namespace, cmd.request);
  const { request, raw: last } = await watchRequest(ctx, raw, {
    timeoutMs: cmd.timeoutMs,
    steps: true,
  });
  const succeeded = outcomeOf(request.status).state === "succeeded";
  for (const line of renderOutcome(request)) say(ctx, line);
  emit(ctx, last);
  return succeeded ? ExitCode.Ok : ExitCode.Failure;
}
