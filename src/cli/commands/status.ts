// `kubectl cairn status [app] [-A]`
import type { ManagedApp } from "../../api/managedapp.ts";
import { getApp, listApps, listRollbacks, listUpgrades } from "../cluster.ts";
import { emit, say, type CommandContext } from "../context.ts";
import { ExitCode } from "../errors.ts";
import { renderStatusTable, summarizeApp } from "../format/status.ts";
import { requestsOfApp } from "../requests.ts";

export async function status(
  ctx: CommandContext,
  cmd: {
    readonly app?: string;
    readonly allNamespaces: boolean;
    readonly selector?: string;
    readonly noHeaders: boolean;
  },
): Promise<ExitCode> {
  const namespace = cmd.allNamespaces ? undefined : ctx.namespace;
  const [apps, upgrades, rollbacks] = await Promise.all([
    cmd.app !== undefined
      ? getApp(ctx.client, ctx.namespace, cmd.app).then((app): ManagedApp[] => [app])
      : listApps(ctx.client, namespace, cmd.selector),
    listUpgrades(ctx.client, namespace),
    listRollbacks(ctx.client, namespace),
  ]);
  const now = ctx.now();
  const summaries = apps.map((app) => {
    const ns = app.metadata.namespace;
    const requests = requestsOfApp(
      app.metadata.name,
      upgrades.filter((u) => u.metadata.namespace === ns),
      rollbacks.filter((r) => r.metadata.namespace === ns),
    );
    return summarizeApp(app, requests, now);
  });
  const [single] = summaries;
  if (emit(ctx, cmd.app !== undefined && single ? single : { items: summaries }))
    return ExitCode.Ok;
  if (summaries.length === 0) {
    // As kubectl: an empty result is not an error, and the note goes to stderr.
    const where = cmd.allNamespaces ? "in any namespace" : `in namespace "${ctx.namespace}"`;
    const matching = cmd.selector !== undefined ? ` matching ${cmd.selector}` : "";
    ctx.stderr.write(`No apps found${matching} ${where}.\n`);
    return ExitCode.Ok;
  }
  say(ctx, renderStatusTable(summaries, cmd.allNamespaces, { noHeaders: cmd.noHeaders }).trimEnd());
  return ExitCode.Ok;
}
