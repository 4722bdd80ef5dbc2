// `kubectl cairn watch <request>`: attaches to any request, the ones Cairn starts by itself
// included, shows the steps it already ran and follows it to its end.
import { getRequest } from "../cluster.ts";
import { emit, type CommandContext } from "../context.ts";
import { ExitCode } from "../errors.ts";
import { reportOutcome, watchRequest } from "../watch-request.ts";

export async function watch(
  ctx: CommandContext,
  cmd: { readonly request: string; readonly timeoutMs: number },
): Promise<ExitCode> {
  const { raw } = await getRequest(ctx.client, ctx.namespace, cmd.request);
  const { request, raw: last } = await watchRequest(ctx, raw, {
    timeoutMs: cmd.timeoutMs,
    steps: true,
  });
  const code = reportOutcome(ctx, request);
  emit(ctx, last);
  return code;
}
