// `kubectl cairn abort <request>`: asks the controller, after asking the user, to abort a running
// request (the cairn.dev/abort annotation, as `kubectl argo rollouts abort` patches its rollout).
// The step at work fails with reason Aborted, the compensation of a failure there runs
// (docs/rollback.md), and the request stays in the app's history instead of vanishing.
import { Annotation } from "../../api/group.ts";
import { getRequest } from "../cluster.ts";
import { say, type CommandContext } from "../context.ts";
import { CliError, ExitCode } from "../errors.ts";
import { isFinished, outcomeOf, resourceName, type AnyRequest } from "../requests.ts";

export type Ask = ((question: string) => Promise<string>) | undefined;

/** A finished request has nothing left to act on: the error says how it ended. */
export function refuseFinished(request: AnyRequest, verb: string): void {
  if (!isFinished(request)) return;
  const outcome = outcomeOf(request.status);
  const reason = "reason" in outcome ? ` (${outcome.reason})` : "";
  throw new CliError(
    `${resourceName(request)}/${request.metadata.name} has already finished${reason}: there is nothing to ${verb}`,
  );
}

export function confirmed(answer: string): boolean {
  return /^(y|yes)$/i.test(answer.trim());
}

/**
 * Asks the user before a request is changed, unless --yes was given; without a terminal to ask on
 * it refuses. False (after saying so): the user said no.
 */
export async function confirmFirst(
  ctx: CommandContext,
  opts: {
    readonly verb: string;
    readonly what: string;
    readonly yes: boolean;
    readonly ask: Ask;
    readonly question: string;
  },
): Promise<boolean> {
  if (opts.yes) return true;
  if (opts.ask === undefined)
    throw new CliError(
      `${opts.verb} asks for confirmation on a terminal; pass --yes to ${opts.verb} ${opts.what} without one`,
    );
  if (confirmed(await opts.ask(opts.question))) return true;
  say(ctx, `not ${opts.verb === "abort" ? "aborted" : `${opts.verb}d`}`);
  return false;
}

export async function abort(
  ctx: CommandContext,
  cmd: { readonly request: string; readonly yes: boolean },
  ask: Ask,
): Promise<ExitCode> {
  const { request, raw } = await getRequest(ctx.client, ctx.namespace, cmd.request);
  const what = `${resourceName(request)}/${request.metadata.name}`;
  refuseFinished(request, "abort");
  const step = request.status?.step?.name;
  const go = await confirmFirst(ctx, {
    verb: "abort",
    what,
    yes: cmd.yes,
    ask,
    question: `Abort ${what}${step ? ` (running ${step})` : ""}? Cairn undoes what it did and keeps it in history. [y/N] `,
  });
  if (!go) return ExitCode.Failure;
  await ctx.client.mergePatch(
    {
      apiVersion: raw.apiVersion,
      kind: raw.kind,
      namespace: ctx.namespace,
      name: request.metadata.name,
    },
    {
      metadata: {
        annotations: {
          [Annotation.Abort]: `kubectl cairn abort at ${ctx
            .now()
            .toISOString()
            .replace(/\.\d+Z$/, "Z")}`,
        },
      },
    },
  );
  say(
    ctx,
    `${what} aborting: Cairn undoes what it did and keeps the request in history (follow it: kubectl cairn watch ${request.metadata.name} -n ${ctx.namespace})`,
  );
  return ExitCode.Ok;
}
