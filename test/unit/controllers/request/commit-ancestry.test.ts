// What a request knows about which Flux revisions contain its commit, and when it must fetch to
// find out. The repository is a stand-in that counts fetches; isAncestor answers from a table.
import { describe, expect, it } from "vitest";
import { CommitAncestry } from "../../../../src/controllers/request/commit-ancestry.ts";
import type { OpenedRepo } from "../../../../src/controllers/request/git-access.ts";

const BASE = "a".repeat(40);
const OURS = "b".repeat(40);
const LATER = "c".repeat(40);

function repo(descendants: Record<string, readonly string[]>) {
  let fetches = 0;
  const ws = {
    fetch: () => {
      fetches++;
      return Promise.resolve(LATER);
    },
    isAncestor: (ancestor: string, descendant: string) =>
      Promise.resolve(descendants[ancestor]?.includes(descendant) === true),
  };
  return {
    open: () => Promise.resolve({ ws } as unknown as OpenedRepo),
    fetches: () => fetches,
  };
}

describe("CommitAncestry", () => {
  it("knows without a fetch that the head the commit was planned on does not contain it", async () => {
    const r = repo({ [OURS]: [LATER] });
    const ancestry = new CommitAncestry();
    await ancestry.learn(OURS, [BASE, OURS], r.open, BASE);
    expect(r.fetches()).toBe(0);
    expect(ancestry.contains(OURS)(BASE)).toBe(false);
    expect(ancestry.contains(OURS)(OURS)).toBe(true);
    // A revision nobody knows yet is asked of Git, once.
    await ancestry.learn(OURS, [BASE, LATER], r.open, BASE);
    await ancestry.learn(OURS, [LATER], r.open, BASE);
    expect(r.fetches()).toBe(1);
    expect(ancestry.contains(OURS)(LATER)).toBe(true);
  });

  it("fetches for the base when nothing says it is older than the commit", async () => {
    const r = repo({});
    const ancestry = new CommitAncestry();
    await ancestry.learn(OURS, [BASE], r.open);
    expect(r.fetches()).toBe(1);
    expect(ancestry.contains(OURS)(BASE)).toBe(false);
  });

  it("takes the planned base as older only for a commit the request made itself", () => {
    const plan = { git: { baseCommit: BASE } };
    expect(CommitAncestry.plannedBase({ plan, commit: { adopted: false } })).toBe(BASE);
    // Adopted: someone else's commit, from any time (a base may even contain it).
    expect(CommitAncestry.plannedBase({ plan, commit: { adopted: true } })).toBeUndefined();
    expect(CommitAncestry.plannedBase({ plan })).toBeUndefined();
  });
});
