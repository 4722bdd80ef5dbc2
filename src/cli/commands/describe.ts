// `kubectl cairn describe <request>`: spec, plan, steps with times, conditions and events.
import { Kind } from "../../api/group.ts";
import { getRequest, listEventsAbout, listUpgrades } from "../cluster.ts";
import { emit, type CommandContext } from "../context.ts";
import { ExitCode } from "../errors.ts";
import { renderDescribe } from "../format/describe.ts";
import { eventRow, sortEvents } from "../format/events.ts";
import { appOf } from "../requests.ts";

export async function describe(
  ctx: CommandContext,
  cmd: { readonly request: string },
): Promise<ExitCode> {
  const { request, raw } = await getRequest(ctx.client, ctx.namespace, cmd.request);
  const [events, upgrades] = await Promise.all([
    listEventsAbout(ctx.client, ctx.namespace, request.kind, request.metadata.name),
    // A rollback without the app label names its app only through its upgrade.
    request.kind === Kind.RollbackRequest ? listUpgrades(ctx.client, ctx.namespace) : [],
  ]);
  const rows = sortEvents(events.map(eventRow));
  if (emit(ctx, { request: raw, events: rows })) return ExitCode.Ok;
  const app = appOf(request, new Map(upgrades.map((u) => [u.metadata.name, u])));
  ctx.stdout.write(renderDescribe(request, app, rows, ctx.now()));
  return ExitCode.Ok;
}
