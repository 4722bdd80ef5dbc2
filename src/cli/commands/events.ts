// `kubectl cairn events <app|request>`: the Events Cairn (and anything else) recorded about an
// app or a request, oldest first.
import { API_VERSION, Kind } from "../../api/group.ts";
import type { KubeClient } from "../../kube/client.ts";
import { isKubeError } from "../../kube/errors.ts";
import { listEventsAbout } from "../cluster.ts";
import { emit, type CommandContext } from "../context.ts";
import { CliError, ExitCode } from "../errors.ts";
import { eventRow, renderEventsTable, sortEvents } from "../format/events.ts";

async function exists(client: KubeClient, kind: Kind, namespace: string, name: string) {
  try {
    await client.get({ apiVersion: API_VERSION, kind, namespace, name });
    return true;
  } catch (err) {
    if (isKubeError(err, "NotFound")) return false;
    throw err;
  }
}

export async function events(
  ctx: CommandContext,
  cmd: { readonly target: string; readonly noHeaders: boolean },
): Promise<ExitCode> {
  const kinds = [Kind.ManagedApp, Kind.UpgradeRequest, Kind.RollbackRequest];
  const found = await Promise.all(
    kinds.map((k) => exists(ctx.client, k, ctx.namespace, cmd.target)),
  );
  const kind = kinds.find((_, i) => found[i]);
  if (kind === undefined) {
    throw new CliError(
      `no managedapp, upgraderequest or rollbackrequest "${cmd.target}" in namespace "${ctx.namespace}"`,
    );
  }
  const rows = sortEvents(
    (await listEventsAbout(ctx.client, ctx.namespace, kind, cmd.target)).map(eventRow),
  );
  if (emit(ctx, { kind, name: cmd.target, namespace: ctx.namespace, items: rows })) {
    return ExitCode.Ok;
  }
  if (rows.length === 0) {
    ctx.stderr.write(`No events for ${kind.toLowerCase()} "${cmd.target}".\n`);
    return ExitCode.Ok;
  }
  ctx.stdout.write(renderEventsTable(rows, ctx.now(), { noHeaders: cmd.noHeaders }));
  return ExitCode.Ok;
}
