// Whether a Flux revision contains the request's commit, learned from Git once per pair:
// revisions are immutable, so an answer once known stays true for the life of the process.
import type { OpenedRepo } from "./git-access.ts";

export class CommitAncestry {
  readonly #known = new Map<string, boolean>();

  /** Asks Git about the revisions not known yet for `sha` (one fetch for all of them). */
  async learn(
    sha: string | undefined,
    revisions: readonly (string | undefined)[],
    repo: () => Promise<OpenedRepo>,
  ): Promise<void> {
    if (!sha) return;
    const unknown = revisions.filter(
      (r): r is string => r !== undefined && r !== sha && !this.#known.has(key(sha, r)),
    );
    if (unknown.length === 0) return;
    const { ws } = await repo();
    await ws.fetch();
    for (const r of unknown)
      this.#known.set(key(sha, r), await ws.isAncestor(sha, r).catch(() => false));
  }

  /** The revision test for `sha`: the commit itself, or a revision Git said descends from it. */
  contains(sha: string | undefined): (revision: string) => boolean {
    return (revision) =>
      sha !== undefined && (revision === sha || this.#known.get(key(sha, revision)) === true);
  }
}

const key = (commit: string, revision: string) => `${commit}:${revision}`;
