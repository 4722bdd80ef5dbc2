// `kubectl cairn updates [app] [-A]`
import type { ManagedApp } from "../../api/managedapp.ts";
import { getApp, listApps } from "../cluster.ts";
import { emit, say, type CommandContext } from "../context.ts";
import { ExitCode } from "../errors.ts";
import { renderUpdatesTable, summarizeUpdates } from "../format/updates.ts";

export async function updates(
  ctx: CommandContext,
  cmd: { readonly app?: string; readonly allNamespaces: boolean },
): Promise<ExitCode> {
  const apps =
    cmd.app !== undefined
      ? [await getApp(ctx.client, ctx.namespace, cmd.app)]
      : await listApps(ctx.client, cmd.allNamespaces ? undefined : ctx.namespace);
  const summaries = apps.map((app: ManagedApp) => summarizeUpdates(app));
  const [single] = summaries;
  if (emit(ctx, cmd.app !== undefined && single ? single : { items: summaries }))
    return ExitCode.Ok;
  if (summaries.length === 0) {
    ctx.stderr.write(
      cmd.allNamespaces
        ? "No apps found in any namespace.\n"
        : `No apps found in namespace "${ctx.namespace}".\n`,
    );
    return ExitCode.Ok;
  }
  say(ctx, renderUpdatesTable(summaries, cmd.allNamespaces, ctx.now()).trimEnd());
  return ExitCode.Ok;
}
