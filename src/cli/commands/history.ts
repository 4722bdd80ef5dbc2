// `kubectl cairn history <app>`: dry runs (plans) only with --all, so the list is what happened.
import { appNotFound, listApps, listRollbacks, listUpgrades } from "../cluster.ts";
import { emit, say, type CommandContext } from "../context.ts";
import { ExitCode } from "../errors.ts";
import { historyEntry, renderHistoryTable } from "../format/history.ts";
import { requestsOfApp } from "../requests.ts";

export async function history(
  ctx: CommandContext,
  cmd: { readonly app: string; readonly all: boolean; readonly noHeaders: boolean },
): Promise<ExitCode> {
  const [apps, upgrades, rollbacks] = await Promise.all([
    listApps(ctx.client, ctx.namespace),
    listUpgrades(ctx.client, ctx.namespace),
    listRollbacks(ctx.client, ctx.namespace),
  ]);
  const all = requestsOfApp(cmd.app, upgrades, rollbacks);
  const requests = cmd.all ? all : all.filter((r) => !r.spec.dryRun);
  // The requests of a deleted app are still worth showing; only a name nothing knows is an error.
  if (all.length === 0 && !apps.some((a) => a.metadata.name === cmd.app)) {
    throw appNotFound(
      cmd.app,
      ctx.namespace,
      apps.map((a) => a.metadata.name),
    );
  }
  const now = ctx.now();
  const entries = requests.map((r) => historyEntry(r, now, all));
  if (emit(ctx, { app: cmd.app, namespace: ctx.namespace, items: entries })) return ExitCode.Ok;
  if (entries.length === 0) {
    const hidden = all.length - requests.length;
    const note = hidden > 0 ? ` (${hidden} dry runs hidden: --all shows them)` : "";
    ctx.stderr.write(`No requests for "${cmd.app}" in namespace "${ctx.namespace}"${note}.\n`);
    return ExitCode.Ok;
  }
  say(ctx, renderHistoryTable(entries, { noHeaders: cmd.noHeaders }).trimEnd());
  return ExitCode.Ok;
}
