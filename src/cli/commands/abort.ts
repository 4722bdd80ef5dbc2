// `kubectl cairn abort <request>`: deletes a running request after asking. The controller's
// finalizer runs the compensation first (see docs/rollback.md), then the request goes.
import { getRequest } from "../cluster.ts";
import { say, type CommandContext } from "../context.ts";
import { CliError, ExitCode } from "../errors.ts";
import { isFinished, outcomeOf, resourceName } from "../requests.ts";

export type Ask = ((question: string) => Promise<string>) | undefined;

export function confirmed(answer: string): boolean {
  return /^(y|yes)$/i.test(answer.trim());
}

export async function abort(
  ctx: CommandContext,
  cmd: { readonly request: string; readonly yes: boolean },
  ask: Ask,
): Promise<ExitCode> {
  const { request, raw } = await getRequest(ctx.client, ctx.namespace, cmd.request);
  const what = `${resourceName(request)}/${request.metadata.name}`;
  if (isFinished(request)) {
    const outcome = outcomeOf(request.status);
    const reason = "reason" in outcome ? ` (${outcome.reason})` : "";
    throw new CliError(`${what} has already finished${reason}: there is nothing to abort`);
  }
  if (!cmd.yes) {
    if (ask === undefined) {
      throw new CliError(
        `abort asks for confirmation on a terminal; pass --yes to abort ${what} without one`,
      );
    }
    const step = request.status?.step?.name;
    const answer = await ask(
      `Abort ${what}${step ? ` (running ${step})` : ""}? Cairn undoes what it did, then deletes it. [y/N] `,
    );
    if (!confirmed(answer)) {
      say(ctx, "not aborted");
      return ExitCode.Failure;
    }
  }
  await ctx.client.delete({
    apiVersion: raw.apiVersion,
    kind: raw.kind,
    namespace: ctx.namespace,
    name: request.metadata.name,
  });
  say(ctx, `${what} aborted: Cairn is undoing what it did; the request goes once it has`);
  return ExitCode.Ok;
}
