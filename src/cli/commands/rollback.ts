// `kubectl cairn rollback <upgrade-request>`: creates a RollbackRequest for the upgrade.
import { API_VERSION, Kind, Label } from "../../api/group.ts";
import { createNamed, getUpgrade } from "../cluster.ts";
import { emit, say, type CommandContext } from "../context.ts";
import { CliError, ExitCode } from "../errors.ts";
import { renderOutcome } from "../format/progress.ts";
import { outcomeOf } from "../requests.ts";
import { watchRequest } from "../watch-request.ts";

export async function rollback(
  ctx: CommandContext,
  cmd: { readonly upgrade: string; readonly watch: boolean; readonly timeoutMs: number },
): Promise<ExitCode> {
  const upgrade = await getUpgrade(ctx.client, ctx.namespace, cmd.upgrade);
  if (upgrade.spec.dryRun) {
    throw new CliError(
      `upgraderequest "${cmd.upgrade}" is a dry run: it changed nothing to roll back`,
    );
  }
  const app = upgrade.spec.managedAppRef.name;
  const created = await createNamed(
    ctx.client,
    (name) => ({
      apiVersion: API_VERSION,
      kind: Kind.RollbackRequest,
      metadata: {
        name,
        namespace: ctx.namespace,
        // The controller labels requests on admission; set here, history finds it at once.
        labels: { [Label.ManagedApp]: app },
      },
      spec: { upgradeRequestRef: { name: cmd.upgrade } },
    }),
    cmd.upgrade,
    "rollback",
  );
  say(
    ctx,
    `rollbackrequest/${created.metadata.name ?? ""} created: rolls back ${cmd.upgrade} (${app})`,
  );
  if (!cmd.watch) {
    emit(ctx, created);
    return ExitCode.Ok;
  }
  const { request, raw } = await watchRequest(ctx, created, {
    timeoutMs: cmd.timeoutMs,
    steps: true,
  });
  for (const line of renderOutcome(request)) say(ctx, line);
  emit(ctx, raw);
  return outcomeOf(request.status).state === "succeeded" ? ExitCode.Ok : ExitCode.Failure;
}
