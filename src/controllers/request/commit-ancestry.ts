// Whether a Flux revision contains the request's commit, learned from Git once per pair:
// revisions are immutable, so an answer once known stays true for the life of the process.
import type { OpenedRepo } from "./git-access.ts";

export class CommitAncestry {
  readonly #known = new Map<string, boolean>();

  /**
   * Asks Git about the revisions not known yet for `sha` (one fetch for all of them). `older`: a
   * revision that existed before `sha` was made (the head a commit of ours was planned on)
   * cannot contain it, and needs no fetch to say so.
   */
  async learn(
    sha: string | undefined,
    revisions: readonly (string | undefined)[],
    repo: () => Promise<OpenedRepo>,
    older?: string,
  ): Promise<void> {
    if (!sha) return;
    if (older !== undefined && older !== sha) this.#known.set(key(sha, older), false);
    const unknown = revisions.filter(
      (r): r is string => r !== undefined && r !== sha && !this.#known.has(key(sha, r)),
    );
    if (unknown.length === 0) return;
    const { ws } = await repo();
    await ws.fetch();
    for (const r of unknown)
      this.#known.set(key(sha, r), await ws.isAncestor(sha, r).catch(() => false));
  }

  /**
   * The head a request's commit was planned on, when the request made that commit after its plan
   * (not adopted: an adopted commit may be anyone's, from any time): it is older than the commit.
   */
  static plannedBase(status: {
    readonly plan?: { readonly git: { readonly baseCommit?: string | undefined } } | undefined;
    readonly commit?: { readonly adopted: boolean } | undefined;
  }): string | undefined {
    return status.commit?.adopted === false ? status.plan?.git.baseCommit : undefined;
  }

  /** The revision test for `sha`: the commit itself, or a revision Git said descends from it. */
  contains(sha: string | undefined): (revision: string) => boolean {
    return (revision) =>
      sha !== undefined && (revision === sha || this.#known.get(key(sha, revision)) === true);
  }
}

const key = (commit: string, revision: string) => `${commit}:${revision}`;
