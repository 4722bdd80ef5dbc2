// Commit: write the version bump to Git and push it, after checking Flux is still suspended.
// Idempotent: the commit carries this request's trailer, so a retry finds it on the branch and
// adopts it instead of pushing twice; a branch that already holds the target is adopted too, and
// one that holds neither value has changed since the plan (GitChanged).
import { ConditionReason, type UpgradeRequest } from "../../../api/index.ts";
import { stillSuspended } from "../../request/freeze.ts";
import { adoptedCommit, commitChange, pushRefused, trailerOf } from "../../request/git-change.ts";
import type { StepResult } from "../../request/result.ts";
import type { StepHandler } from "../../request/runner.ts";
import { namespaceOf, planOf, type StepDeps } from "../../request/step-deps.ts";

export type CommitDeps = Pick<StepDeps<UpgradeRequest>, "client" | "repoFor" | "author">;

export function commitStep(deps: CommitDeps): StepHandler<UpgradeRequest> {
  const { client } = deps;
  return async (ctx): Promise<StepResult> => {
    const p = planOf(ctx);
    // Opening the repository (its credentials, the workspace) only reads: it runs while the
    // check that Flux is still suspended does, and is used only once that check passed.
    const opening = deps.repoFor(ctx);
    // Its failure counts only once it is awaited below; until then it must not count as unhandled.
    opening.catch(() => undefined);
    const thawed = await stillSuspended(client, p.flux);
    if (thawed)
      return { kind: "failed", reason: "FluxResumed", message: `${thawed}; not committing` };
    const repo = await opening;
    const name = ctx.request.metadata.name;
    try {
      const result = await commitChange({
        ws: repo.ws,
        git: p.git,
        direction: "forward",
        trailer: trailerOf(namespaceOf(ctx), name, ctx.request.metadata.uid ?? ""),
        message: `Upgrade ${ctx.request.spec.managedAppRef.name} ${p.git.from} → ${p.git.to}\n\nRequested by UpgradeRequest ${namespaceOf(ctx)}/${name}.`,
        author: deps.author,
      });
      if (result.kind === "changed")
        return {
          kind: "failed",
          reason: ConditionReason.GitChanged,
          message: `${p.git.path} on ${p.git.branch} (${result.head.slice(0, 12)}) holds neither ${p.git.from} nor ${p.git.to} at ${p.git.versionPath}: Git changed since the plan`,
        };
      if (result.kind === "adopted") return adoptedCommit(result, p.git.to);
      return {
        kind: "succeeded",
        message: `pushed ${result.sha.slice(0, 12)} to ${p.git.branch}: ${p.git.from} → ${p.git.to}`,
        facts: { commit: { sha: result.sha, adopted: false } },
      };
    } catch (err) {
      const refused = pushRefused(err, p.git.branch);
      if (refused) return refused;
      throw err;
    }
  };
}
