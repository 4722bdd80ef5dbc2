// Revert: undo the upgrade's commit in Git (a revert commit, or, where the file changed since, a
// new commit writing the previous value), after checking Flux is still suspended. Idempotent:
// the commit carries this request's trailer, so a retry finds it and adopts it instead of pushing
// twice; a branch that already holds the previous value is adopted too (revert.ts).
import { ConditionReason, type RollbackRequest } from "../../../api/index.ts";
import { isGitError } from "../../../git/errors.ts";
import { stillSuspended } from "../../request/freeze.ts";
import { trailerOf } from "../../request/git-change.ts";
import type { StepResult } from "../../request/result.ts";
import type { StepContext, StepHandler } from "../../request/runner.ts";
import { namespaceOf, planOf, type StepDeps } from "../../request/step-deps.ts";
import type { World } from "../../request/world.ts";
import { upgradeGitOf } from "../plan.ts";
import { revertUpgrade } from "../revert.ts";
import { upgradeName } from "../upgrade-of.ts";

type Ctx = StepContext<RollbackRequest>;

/** The trailer of the upgrade's commit, which tells it apart from any other change. */
function upgradeTrailer(world: World, ctx: Ctx): string {
  const uid = world.upgrades.get(`${namespaceOf(ctx)}/${upgradeName(ctx)}`)?.metadata.uid;
  // Without the upgrade's uid its commit cannot be told apart: the value-level fallback is used.
  return uid
    ? trailerOf(namespaceOf(ctx), upgradeName(ctx), uid)
    : `Cairn-Request: ${namespaceOf(ctx)}/-`;
}

function messages(ctx: Ctx, app: string) {
  const p = planOf(ctx);
  const by = `Requested by RollbackRequest ${namespaceOf(ctx)}/${ctx.request.metadata.name}.`;
  const of = `UpgradeRequest ${namespaceOf(ctx)}/${upgradeName(ctx)}`;
  return {
    revert: `Revert "Upgrade ${app} ${p.git.to} → ${p.git.from}"\n\nThis reverts commit ${p.git.revertOf ?? ""} of ${of}.\n${by}`,
    fallback: `Roll back ${app} ${p.git.from} → ${p.git.to}\n\nUndoes ${of} (commit ${p.git.revertOf?.slice(0, 12) ?? ""}) by writing the previous value as a new commit.\n${by}`,
  };
}

export type RevertDeps = Pick<
  StepDeps<RollbackRequest>,
  "client" | "world" | "requireApp" | "repoFor" | "author"
>;

export function revertStep(deps: RevertDeps): StepHandler<RollbackRequest> {
  const { client, world } = deps;
  return async (ctx): Promise<StepResult> => {
    const p = planOf(ctx);
    const thawed = await stillSuspended(client, p.flux);
    if (thawed)
      return { kind: "failed", reason: "FluxResumed", message: `${thawed}; not reverting` };
    const app = deps.requireApp(ctx);
    const repo = await deps.repoFor(ctx);
    const upgradeGit = upgradeGitOf(p.git);
    try {
      const result = await revertUpgrade({
        ws: repo.ws,
        upgradeGit,
        commit: p.git.revertOf ?? "",
        upgradeTrailer: upgradeTrailer(world, ctx),
        trailer: trailerOf(
          namespaceOf(ctx),
          ctx.request.metadata.name,
          ctx.request.metadata.uid ?? "",
        ),
        messages: messages(ctx, app.metadata.name),
        author: deps.author,
      });
      switch (result.kind) {
        case "reverted":
          return {
            kind: "succeeded",
            message: `pushed ${result.sha.slice(0, 12)} to ${repo.branch}, a revert of ${p.git.revertOf?.slice(0, 12) ?? ""}: ${p.git.from} → ${p.git.to}`,
            facts: { commit: { sha: result.sha, adopted: false } },
          };
        case "committed":
          return {
            kind: "succeeded",
            message: `${result.why}; pushed ${result.sha.slice(0, 12)} to ${repo.branch}, writing ${p.git.to} at ${p.git.versionPath}`,
            facts: { commit: { sha: result.sha, adopted: false } },
          };
        case "adopted":
          return {
            kind: "succeeded",
            message: result.ours
              ? `adopted this request's earlier commit ${result.sha.slice(0, 12)}`
              : `the branch already holds ${p.git.to}; adopted ${result.sha.slice(0, 12)} (not made by Cairn)`,
            facts: { commit: { sha: result.sha, adopted: true } },
          };
        case "changed":
          return {
            kind: "failed",
            reason: ConditionReason.GitChanged,
            message: `${p.git.path} on ${repo.branch} (${result.head.slice(0, 12)}) holds ${result.value ?? "no readable value"} at ${p.git.versionPath}, neither ${p.git.from} nor ${p.git.to}: Git changed since the plan`,
          };
      }
    } catch (err) {
      if (isGitError(err, "auth") || isGitError(err, "forbidden") || isGitError(err, "invalid"))
        return {
          kind: "failed",
          reason: "PushRejected",
          message: `push to ${repo.branch} refused: ${err.message}`,
        };
      throw err;
    }
  };
}
