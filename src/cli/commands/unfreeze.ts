// `kubectl cairn unfreeze <app> [--force]`: resumes the app's Flux objects that a failed or
// interrupted operation left suspended, after checking that doing so is safe.
import { Annotation, API_VERSION } from "../../api/group.ts";
import { suspensionHoldersOf, type SuspensionHolder } from "../../api/suspension-holders.ts";
import type { KubeClient } from "../../kube/client.ts";
import { isKubeError } from "../../kube/errors.ts";
import { getApp, listRollbacks, listUpgrades } from "../cluster.ts";
import { emit, say, type CommandContext } from "../context.ts";
import { CliError, ExitCode } from "../errors.ts";
import { requestsOfApp } from "../requests.ts";
import {
  describeTarget,
  heldMessage,
  incompleteRestore,
  missingVolumesMessage,
  resumeOrder,
  runningMessage,
  runningRequest,
  type FluxTarget,
} from "../unfreeze.ts";

/** Flux's reconcile handshake: a new token makes the controller reconcile now, not at its next interval. */
const REQUESTED_AT = "reconcile.fluxcd.io/requestedAt";

async function exists(
  client: KubeClient,
  ref: { namespace: string; name: string },
): Promise<boolean> {
  try {
    await client.get({ apiVersion: "v1", kind: "PersistentVolumeClaim", ...ref });
    return true;
  } catch (err) {
    if (isKubeError(err, "NotFound")) return false;
    throw err;
  }
}

type Result = "resumed" | "running" | "missing";

/** The holders the object lists (cairn.dev/suspended-by) that are still live requests. */
async function liveHolders(client: KubeClient, target: FluxTarget): Promise<SuspensionHolder[]> {
  let obj;
  try {
    obj = await client.get(target);
  } catch (err) {
    if (isKubeError(err, "NotFound")) return [];
    throw err;
  }
  const live: SuspensionHolder[] = [];
  for (const h of suspensionHoldersOf(obj)) {
    try {
      const request = await client.get({
        apiVersion: API_VERSION,
        kind: h.kind,
        namespace: h.namespace,
        name: h.name,
      });
      const complete = (
        request["status"] as { conditions?: { type: string; status: string }[] } | undefined
      )?.conditions?.find((c) => c.type === "Complete");
      if (request.metadata.uid === h.uid && !(complete && complete.status !== "Unknown"))
        live.push(h);
    } catch (err) {
      if (!isKubeError(err, "NotFound")) throw err;
    }
  }
  return live;
}

async function resume(ctx: CommandContext, target: FluxTarget): Promise<Result> {
  let obj;
  try {
    obj = await ctx.client.get(target);
  } catch (err) {
    if (isKubeError(err, "NotFound")) return "missing";
    throw err;
  }
  if ((obj["spec"] as { suspend?: unknown } | undefined)?.suspend !== true) return "running";
  // Under the resourceVersion just read: a request that joined the suspension since the check
  // above makes this write fail instead of being undone. The holders go with the suspension.
  await ctx.client.mergePatch(target, {
    metadata: {
      resourceVersion: obj.metadata.resourceVersion,
      annotations: { [REQUESTED_AT]: ctx.now().toISOString(), [Annotation.SuspendedBy]: null },
    },
    spec: { suspend: false },
  });
  return "resumed";
}

export async function unfreeze(
  ctx: CommandContext,
  cmd: { readonly app: string; readonly force: boolean },
): Promise<ExitCode> {
  const [app, upgrades, rollbacks] = await Promise.all([
    getApp(ctx.client, ctx.namespace, cmd.app),
    listUpgrades(ctx.client, ctx.namespace),
    listRollbacks(ctx.client, ctx.namespace),
  ]);
  const requests = requestsOfApp(cmd.app, upgrades, rollbacks);
  // Never overridden: a running request owns the suspension and resumes Flux itself.
  const running = runningRequest(requests);
  if (running) throw new CliError(runningMessage(cmd.app, running));
  const restore = incompleteRestore(requests);
  if (restore && !cmd.force) {
    const present = await Promise.all(restore.volumes.map((v) => exists(ctx.client, v)));
    const missing = restore.volumes.filter((_, i) => !present[i]);
    if (missing.length > 0) {
      throw new CliError(missingVolumesMessage(cmd.app, restore.rollback.metadata.name, missing));
    }
  }
  // A target shared with other apps: never resumed while a request that holds it runs.
  for (const target of resumeOrder(app)) {
    const live = await liveHolders(ctx.client, target);
    if (live.length > 0) throw new CliError(heldMessage(cmd.app, target, live));
  }
  const results: { target: FluxTarget; result: Result }[] = [];
  // One at a time, in order: the next object is resumed only once the previous one is.
  for (const target of resumeOrder(app))
    results.push({ target, result: await resume(ctx, target) });
  const report = results.map(({ target, result }) => ({
    kind: target.kind,
    namespace: target.namespace,
    name: target.name,
    result,
  }));
  if (emit(ctx, { app: cmd.app, namespace: ctx.namespace, objects: report })) return ExitCode.Ok;
  for (const { target, result } of results) {
    if (result === "resumed") say(ctx, `resumed ${describeTarget(target)}`);
    if (result === "missing") ctx.stderr.write(`warning: ${describeTarget(target)} not found\n`);
  }
  if (!results.some((r) => r.result === "resumed")) {
    const running = results
      .filter((r) => r.result === "running")
      .map((r) => describeTarget(r.target));
    say(
      ctx,
      running.length > 0
        ? `nothing to resume: ${running.join(" and ")} ${running.length === 1 ? "is" : "are"} not suspended`
        : "nothing to resume",
    );
  }
  return ExitCode.Ok;
}
