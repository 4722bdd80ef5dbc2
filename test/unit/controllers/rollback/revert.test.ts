import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { PlanGit } from "../../../../src/api/index.ts";
import { trailerOf } from "../../../../src/controllers/request/git-change.ts";
import {
  probeRevert,
  revertUpgrade,
  type RevertInput,
} from "../../../../src/controllers/rollback/revert.ts";
import type { GitWorkspace } from "../../../../src/git/workspace.ts";

const PATH = "apps/demo/release.yaml";
const release = (version: string) => `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: demo
spec:
  chart:
    spec:
      chart: demo
      version: ${version}
`;

interface Commit {
  readonly parent: string | undefined;
  readonly content: string | undefined;
  readonly message: string;
}

/**
 * A branch of single-file commits, with GitWorkspace's answers: reverts follow the three-way
 * rule for one file (clean when the file did not change since the commit, already reverted when
 * it is back at the parent's content, a conflict otherwise), and a push lands only on the head
 * it was built on.
 */
class FakeRepo {
  readonly commits = new Map<string, Commit>();
  head = "";
  pushes = 0;
  /** Runs before each push: another writer may move the branch. */
  beforePush: (() => void) | undefined;

  add(parent: string | undefined, content: string | undefined, message: string): string {
    const sha = createHash("sha1")
      .update(`${parent ?? ""}\n${content ?? ""}\n${message}\n${this.commits.size}`)
      .digest("hex");
    this.commits.set(sha, { parent, content, message });
    return sha;
  }

  commitOnHead(content: string, message: string): string {
    this.head = this.add(this.head || undefined, content, message);
    return this.head;
  }

  #get(sha: string): Commit {
    const c = this.commits.get(sha);
    if (!c) throw new Error(`no commit ${sha}`);
    return c;
  }

  workspace(): GitWorkspace {
    const ws = {
      fetch: () => Promise.resolve(this.head),
      readFile: (commit: string) => Promise.resolve(this.#get(commit).content),
      findCommitWithTrailer: (o: { from: string; trailer: string; maxCount?: number }) => {
        let sha: string | undefined = o.from;
        for (let n = 0; sha && n < (o.maxCount ?? 1000); n++) {
          const c = this.#get(sha);
          if (c.message.split("\n").some((l) => l.trim() === o.trailer))
            return Promise.resolve(sha);
          sha = c.parent;
        }
        return Promise.resolve(undefined);
      },
      revert: (o: { commit: string; onto: string; message: string }) => {
        const commit = this.#get(o.commit);
        const parent = commit.parent ? this.#get(commit.parent).content : undefined;
        const onto = this.#get(o.onto).content;
        if (onto === parent) return Promise.resolve({ kind: "already-reverted" as const });
        if (onto !== commit.content)
          return Promise.resolve({ kind: "conflict" as const, paths: [PATH] });
        return Promise.resolve({
          kind: "reverted" as const,
          sha: this.add(o.onto, parent, o.message),
        });
      },
      commitFile: (o: { parent: string; content: string; message: string }) =>
        Promise.resolve(this.add(o.parent, o.content, o.message)),
      push: (sha: string) => {
        this.beforePush?.();
        this.pushes++;
        if (this.#get(sha).parent !== this.head)
          return Promise.resolve("non-fast-forward" as const);
        this.head = sha;
        return Promise.resolve("pushed" as const);
      },
    };
    return ws as unknown as GitWorkspace;
  }
}

const UPGRADE_TRAILER = trailerOf("shop", "to-110", "u-1");
const TRAILER = trailerOf("shop", "to-110-back", "r-1");
const upgradeGit: PlanGit = {
  branch: "main",
  path: PATH,
  versionPath: "spec.chart.spec.version",
  from: "1.0.0",
  to: "1.1.0",
};

/** A branch where the upgrade's commit (made by Cairn, with its trailer) is the head. */
function upgraded(opts: { upgradeTrailer?: string } = {}) {
  const repo = new FakeRepo();
  repo.commitOnHead(release('"1.0.0"'), "Add demo");
  const commit = repo.commitOnHead(
    release('"1.1.0"'),
    `Upgrade demo 1.0.0 → 1.1.0\n\n${opts.upgradeTrailer ?? UPGRADE_TRAILER}\n`,
  );
  const input: RevertInput = {
    ws: repo.workspace(),
    upgradeGit,
    commit,
    upgradeTrailer: UPGRADE_TRAILER,
    trailer: TRAILER,
    messages: { revert: 'Revert "Upgrade demo 1.0.0 → 1.1.0"', fallback: "Roll back demo" },
    author: { name: "Cairn", email: "cairn@cairn.dev" },
  };
  return { repo, commit, input };
}

describe("reverting the upgrade's commit", () => {
  it("pushes a real revert, with the rollback's trailer, when it applies cleanly", async () => {
    const { repo, commit, input } = upgraded();
    const result = await revertUpgrade(input);
    expect(result.kind).toBe("reverted");
    const head = repo.commits.get(repo.head);
    expect(head?.parent).toBe(commit);
    expect(head?.content).toBe(release('"1.0.0"'));
    expect(head?.message).toBe(`Revert "Upgrade demo 1.0.0 → 1.1.0"\n\n${TRAILER}\n`);
  });

  it("adopts its own earlier revert instead of reverting twice", async () => {
    const { repo, input } = upgraded();
    const first = await revertUpgrade(input);
    const pushes = repo.pushes;
    const again = await revertUpgrade(input);
    expect(again).toEqual({
      kind: "adopted",
      sha: first.kind === "reverted" ? first.sha : "",
      ours: true,
    });
    expect(repo.pushes).toBe(pushes);
  });

  it("writes the previous value as a new commit when a later commit changed the same line", async () => {
    const { repo, input } = upgraded();
    repo.commitOnHead(release('"1.1.0" # pinned by ops'), "Pin");
    const result = await revertUpgrade(input);
    expect(result.kind).toBe("committed");
    expect(result.kind === "committed" ? result.why : "").toContain(
      "conflicts with later commits in apps/demo/release.yaml",
    );
    const head = repo.commits.get(repo.head);
    expect(head?.content).toBe(release('"1.0.0" # pinned by ops'));
    expect(head?.message).toContain("Roll back demo");
    expect(head?.message).toContain(TRAILER);
  });

  it("does not `git revert` a commit the upgrade adopted: it may hold more than the version", async () => {
    const { repo, input } = upgraded({ upgradeTrailer: "Signed-off-by: someone" });
    const result = await revertUpgrade(input);
    expect(result.kind).toBe("committed");
    expect(result.kind === "committed" ? result.why : "").toContain("was not made by Cairn");
    expect(repo.commits.get(repo.head)?.content).toBe(release('"1.0.0"'));
  });

  it("adopts a branch that already holds the previous version", async () => {
    const { repo, input } = upgraded();
    const theirs = repo.commitOnHead(release('"1.0.0"'), "Manual revert");
    expect(await revertUpgrade(input)).toEqual({ kind: "adopted", sha: theirs, ours: false });
  });

  it("reports a file that holds neither version, and changes nothing", async () => {
    const { repo, input } = upgraded();
    const head = repo.commitOnHead(release('"9.9.9"'), "Something else");
    expect(await revertUpgrade(input)).toEqual({ kind: "changed", head, value: "9.9.9" });
    expect(repo.head).toBe(head);
  });

  it("redoes the revert on the new head after losing a push race", async () => {
    const { repo, input } = upgraded();
    let raced = false;
    repo.beforePush = () => {
      if (raced) return;
      raced = true;
      // Someone else's commit to another part of the repository, as far as this file goes.
      repo.head = repo.add(repo.head, release('"1.1.0"'), "Unrelated");
    };
    const result = await revertUpgrade(input);
    expect(result.kind).toBe("reverted");
    expect(repo.pushes).toBe(2);
    expect(repo.commits.get(repo.head)?.content).toBe(release('"1.0.0"'));
  });
});

describe("probing the revert without pushing", () => {
  it("shows the diff of a clean revert, and of the fallback, and pushes nothing", async () => {
    const { repo, input } = upgraded();
    const clean = await probeRevert(input, repo.head);
    expect(clean).toEqual({
      kind: "revert",
      diff: expect.stringContaining('+      version: "1.0.0"') as string,
    });
    repo.commitOnHead(release('"1.1.0" # pinned'), "Pin");
    const fallback = await probeRevert(input, repo.head);
    expect(fallback.kind).toBe("fallback");
    expect(fallback.kind === "fallback" ? fallback.diff : "").toContain(
      '+      version: "1.0.0" # pinned',
    );
    expect(repo.pushes).toBe(0);
  });

  it("says when there is nothing to do, when Git changed, and when the file is gone", async () => {
    const { repo, input } = upgraded();
    const back = repo.commitOnHead(release('"1.0.0"'), "Manual revert");
    expect(await probeRevert(input, back)).toEqual({ kind: "adopt", head: back });
    const other = repo.commitOnHead(release('"2.0.0"'), "Other");
    expect(await probeRevert(input, other)).toEqual({ kind: "changed", value: "2.0.0" });
    repo.head = repo.add(repo.head, undefined, "Delete");
    expect(await probeRevert(input, repo.head)).toEqual({ kind: "missing-file" });
  });
});
