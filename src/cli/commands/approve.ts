// `kubectl cairn approve <request>`: approves the plan of an upgrade that waits for approval
// (spec.approval: Manual on its app or on itself). It shows the plan, asks, finds out who the
// user is (a SelfSubjectReview, as `kubectl auth whoami` does) and writes that name to the
// request's cairn.dev/approved-by annotation; the shipped ValidatingAdmissionPolicy refuses any
// other name. The controller plans again and goes on only if the plan is still the one shown.
import { Annotation } from "../../api/group.ts";
import { approverOf } from "../../api/upgraderequest.ts";
import type { KubeClient } from "../../kube/client.ts";
import { getRequest } from "../cluster.ts";
import { say, type CommandContext } from "../context.ts";
import { CliError, ExitCode } from "../errors.ts";
import { renderPlanBody } from "../format/plan.ts";
import { awaitingApproval, resourceName } from "../requests.ts";
import { confirmFirst, refuseFinished, type Ask } from "./abort.ts";

/** The user the API server sees this client as. */
export async function whoAmI(client: KubeClient): Promise<string> {
  const review = await client.create({
    apiVersion: "authentication.k8s.io/v1",
    kind: "SelfSubjectReview",
    metadata: {},
  });
  const username = (review["status"] as { userInfo?: { username?: unknown } } | undefined)?.userInfo
    ?.username;
  if (typeof username !== "string" || username === "")
    throw new CliError(
      "the API server did not say who you are (SelfSubjectReview has no username)",
    );
  return username;
}

export async function approve(
  ctx: CommandContext,
  cmd: { readonly request: string; readonly yes: boolean },
  ask: Ask,
): Promise<ExitCode> {
  const { request, raw } = await getRequest(ctx.client, ctx.namespace, cmd.request);
  const what = `${resourceName(request)}/${request.metadata.name}`;
  refuseFinished(request, "approve");
  const already = approverOf(request);
  if (already !== undefined) throw new CliError(`${what} is already approved by ${already}`);
  if (!awaitingApproval(request))
    throw new CliError(
      `${what} is not waiting for approval (phase ${request.status?.phase ?? "Pending"}); ` +
        "only an upgrade whose plan is shown can be approved",
    );
  const plan = request.status?.plan;
  if (plan) say(ctx, [`Plan of ${what}:`, ...renderPlanBody(plan)].join("\n"));
  const go = await confirmFirst(ctx, {
    verb: "approve",
    what,
    yes: cmd.yes,
    ask,
    question: "Approve this plan? Cairn plans again and runs it if unchanged. [y/N] ",
  });
  if (!go) return ExitCode.Failure;
  const me = await whoAmI(ctx.client);
  await ctx.client.mergePatch(
    {
      apiVersion: raw.apiVersion,
      kind: raw.kind,
      namespace: ctx.namespace,
      name: request.metadata.name,
    },
    { metadata: { annotations: { [Annotation.ApprovedBy]: me } } },
  );
  say(
    ctx,
    `${what} approved by ${me}: Cairn plans again and upgrades if the plan still holds (follow it: kubectl cairn watch ${request.metadata.name} -n ${ctx.namespace})`,
  );
  return ExitCode.Ok;
}
