// `kubectl cairn rollback <upgrade-request>`: creates a RollbackRequest for the upgrade.
import { API_VERSION, Kind, Label } from "../../api/group.ts";
import { createNamed, getUpgrade, listRollbacks, listUpgrades } from "../cluster.ts";
import { emit, say, type CommandContext } from "../context.ts";
import { CliError, ExitCode } from "../errors.ts";
import { rollbackRefusal } from "../rollback-refusal.ts";
import { reportOutcome, watchRequest } from "../watch-request.ts";

export async function rollback(
  ctx: CommandContext,
  cmd: { readonly upgrade: string; readonly watch: boolean; readonly timeoutMs: number },
): Promise<ExitCode> {
  const [upgrade, upgrades, rollbacks] = await Promise.all([
    getUpgrade(ctx.client, ctx.namespace, cmd.upgrade),
    listUpgrades(ctx.client, ctx.namespace),
    listRollbacks(ctx.client, ctx.namespace),
  ]);
  // What the controller would refuse is refused here, before anything is created.
  const refusal = rollbackRefusal(upgrade, upgrades, rollbacks, ctx.now());
  if (refusal) throw new CliError(`cannot roll back (${refusal.reason}): ${refusal.message}`);
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
  const code = reportOutcome(ctx, request);
  emit(ctx, raw);
  return code;
}
