// `kubectl cairn plan <app>` and `kubectl cairn upgrade <app>`: both create an UpgradeRequest
// (a plan is a dry run) and read its status; the controller does the work.
import { API_VERSION, Kind, Label } from "../../api/group.ts";
import type { ManagedApp } from "../../api/managedapp.ts";
import type { UpgradeRequestSpec } from "../../api/upgraderequest.ts";
import type { KubeObject } from "../../kube/client.ts";
import type { Target } from "../args.ts";
import { createNamed, getApp } from "../cluster.ts";
import { emit, say, type CommandContext } from "../context.ts";
import { CliError, ExitCode } from "../errors.ts";
import { DETAIL_KEY } from "../../impact/summary.ts";
import { type ImpactDetail, decodeImpactDetail, impactJson } from "../format/impact.ts";
import { renderPlan, renderPlanBody } from "../format/plan.ts";
import { awaitingApproval } from "../requests.ts";
import { errorLine } from "../format/progress.ts";
import { reportOutcome, watchRequest } from "../watch-request.ts";

/** "1.2.0", "ghcr.io/org/app=1.2.0", or the app's available update. */
export function describeTarget(target: Target, app: ManagedApp): string {
  const parts = [
    ...(target.chart !== undefined ? [target.chart] : []),
    ...target.images.map((i) => `${i.name}=${i.tag}`),
  ];
  if (parts.length > 0) return parts.join(", ");
  return `${app.status?.availableUpdate ?? "?"} (the available update)`;
}

function targetSpec(target: Target, app: ManagedApp): Pick<UpgradeRequestSpec, "targetVersion"> {
  if (target.chart === undefined && target.images.length === 0) {
    // No target: the controller pins status.availableUpdate in the plan, as the API documents.
    if (!app.status?.availableUpdate) {
      const current = app.status?.currentVersion ? ` (it runs ${app.status.currentVersion})` : "";
      throw new CliError(
        `managedapp "${app.metadata.name}" has no available update${current}; pass --to VERSION or --image NAME=TAG`,
      );
    }
    return {};
  }
  return {
    targetVersion: {
      ...(target.chart !== undefined ? { chart: target.chart } : {}),
      ...(target.images.length > 0 ? { images: target.images.map((i) => ({ ...i })) } : {}),
    },
  };
}

async function createUpgrade(
  ctx: CommandContext,
  app: ManagedApp,
  target: Target,
  opts: { dryRun: boolean; skipSnapshot: boolean },
): Promise<KubeObject> {
  const spec = {
    managedAppRef: { name: app.metadata.name },
    ...targetSpec(target, app),
    ...(opts.skipSnapshot ? { skipSnapshot: true } : {}),
    ...(opts.dryRun ? { dryRun: true } : {}),
    ...(target.allowDowngrade ? { allowDowngrade: true } : {}),
  };
  return createNamed(
    ctx.client,
    (name) => ({
      apiVersion: API_VERSION,
      kind: Kind.UpgradeRequest,
      metadata: {
        name,
        namespace: ctx.namespace,
        labels: { [Label.ManagedApp]: app.metadata.name },
      },
      spec,
    }),
    app.metadata.name,
    opts.dryRun ? "plan" : "upgrade",
  );
}

/**
 * The request's impact ConfigMap, decoded. One that cannot be read (gone, forbidden, garbled)
 * leaves the plan as it is, with the bounded list from status and a line saying why.
 */
async function readImpactDetail(
  ctx: CommandContext,
  name: string,
): Promise<ImpactDetail | undefined> {
  let why: string;
  try {
    const configMap = await ctx.client.get({
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: ctx.namespace,
      name,
    });
    const detail = decodeImpactDetail(configMap);
    if (detail) return detail;
    why = `it holds no ${DETAIL_KEY}`;
  } catch (err) {
    why = err instanceof Error ? err.message : String(err);
  }
  say(ctx, `the impact detail (ConfigMap ${name}) cannot be read: ${why}`);
  return undefined;
}

export async function plan(
  ctx: CommandContext,
  cmd: {
    readonly app: string;
    readonly target: Target;
    readonly timeoutMs: number;
    readonly diff: boolean;
  },
): Promise<ExitCode> {
  const app = await getApp(ctx.client, ctx.namespace, cmd.app);
  const created = await createUpgrade(ctx, app, cmd.target, { dryRun: true, skipSnapshot: false });
  say(
    ctx,
    `planning ${app.metadata.name} → ${describeTarget(cmd.target, app)} (upgraderequest/${created.metadata.name ?? ""})`,
  );
  const { request, raw } = await watchRequest(ctx, created, {
    timeoutMs: cmd.timeoutMs,
    steps: false,
  });
  const impact = request.status?.plan?.impact;
  // The per-object detail: shown (bounded) in the table, and in -o json only with --diff.
  const detail =
    impact?.detailConfigMap && (ctx.output === "table" || cmd.diff)
      ? await readImpactDetail(ctx, impact.detailConfigMap)
      : undefined;
  const printed = impact
    ? {
        ...raw,
        impact: impactJson(impact, request.status?.preflight ?? [], cmd.diff ? detail : undefined),
      }
    : raw;
  if (!emit(ctx, printed))
    ctx.stdout.write(
      renderPlan(request, app.metadata.name, {
        ...(detail ? { impactDetail: detail } : {}),
        fullDiff: cmd.diff,
      }),
    );
  const error = errorLine(request);
  if (error !== undefined) ctx.stderr.write(`${error}\n`);
  return error === undefined ? ExitCode.Ok : ExitCode.Failure;
}

export async function upgrade(
  ctx: CommandContext,
  cmd: {
    readonly app: string;
    readonly target: Target;
    readonly watch: boolean;
    readonly timeoutMs: number;
    readonly skipSnapshot: boolean;
  },
): Promise<ExitCode> {
  const app = await getApp(ctx.client, ctx.namespace, cmd.app);
  const created = await createUpgrade(ctx, app, cmd.target, {
    dryRun: false,
    skipSnapshot: cmd.skipSnapshot,
  });
  const from = app.status?.currentVersion ?? "?";
  say(
    ctx,
    `upgraderequest/${created.metadata.name ?? ""} created: ${app.metadata.name} ${from} → ${describeTarget(cmd.target, app)}`,
  );
  if (!cmd.watch) {
    emit(ctx, created);
    return ExitCode.Ok;
  }
  const { request, raw } = await watchRequest(ctx, created, {
    timeoutMs: cmd.timeoutMs,
    steps: true,
    untilApproval: true,
  });
  if (awaitingApproval(request)) {
    // A person decides now, maybe much later: the watch ends here rather than at its timeout.
    const name = request.metadata.name;
    const plan = request.status?.plan;
    say(
      ctx,
      [
        `upgraderequest/${name} waits for approval of its plan:`,
        ...(plan ? renderPlanBody(plan) : []),
        `approve it with: kubectl cairn approve ${name} -n ${ctx.namespace}  (or: kubectl cairn abort ${name})`,
      ].join("\n"),
    );
    emit(ctx, raw);
    return ExitCode.Ok;
  }
  const code = reportOutcome(ctx, request);
  emit(ctx, raw);
  return code;
}
