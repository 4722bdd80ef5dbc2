// A commit that landed is never reported as not made. When the step that pushes (Commit, Revert)
// ran but did not record its success, the push may still have reached the server: the client
// can fail after the server took it (a dropped connection, the step's deadline). Compensation
// looks for the request's trailer on the branch before it chooses the before- or after-commit
// path, and records what it finds. Git that cannot be read is said, not guessed at, so that
// compensation still ends.
import type { ConditionType } from "../../api/index.ts";
import { trailerOf } from "./git-change.ts";
import type { RequestObject, StepContext } from "./runner.ts";
import { namespaceOf, type StepDeps } from "./step-deps.ts";

export type LandedCommit =
  | { readonly kind: "recorded" | "not-attempted" | "absent" }
  | { readonly kind: "found"; readonly sha: string }
  | { readonly kind: "unreadable"; readonly message: string };

export async function observeLandedCommit<R extends RequestObject<unknown>>(
  deps: Pick<StepDeps<R>, "repoFor">,
  ctx: StepContext<R>,
  pushStep: ConditionType,
): Promise<LandedCommit> {
  const status = ctx.status();
  if (status.commit) return { kind: "recorded" };
  if (!status.conditions?.some((c) => c.type === pushStep)) return { kind: "not-attempted" };
  try {
    const { ws } = await deps.repoFor(ctx);
    const head = await ws.fetch();
    const trailer = trailerOf(
      namespaceOf(ctx),
      ctx.request.metadata.name ?? "",
      ctx.request.metadata.uid ?? "",
    );
    const sha = await ws.findCommitWithTrailer({ from: head, trailer });
    if (!sha) return { kind: "absent" };
    await ctx.save({ commit: { sha, adopted: false } });
    return { kind: "found", sha };
  } catch (err) {
    return { kind: "unreadable", message: err instanceof Error ? err.message : String(err) };
  }
}
