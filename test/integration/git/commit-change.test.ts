// commitChange, the one Git change of an upgrade, against the test bed's git server: built on
// the head the plan read without a fetch when nothing moved, and on the new head when the branch
// moved since the plan.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PlanGit } from "../../../src/api/index.ts";
import { commitChange, trailerOf } from "../../../src/controllers/request/git-change.ts";
import { commitFiles, readFileAt, revParse } from "../../../testbed/src/git-fixtures.ts";
import {
  AUTHOR,
  cacheRoot,
  gitAccess,
  recordingRunner,
  seedRepo,
  writer,
  type CacheRoot,
} from "./helpers.ts";

const RELEASE = `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: db
spec:
  chart:
    spec:
      chart: postgresql
      version: "15.2.0"
`;

const git = gitAccess();
let cache: CacheRoot;
beforeAll(async () => {
  cache = await cacheRoot();
});
afterAll(async () => {
  await cache.remove();
});

async function planned(prefix: string) {
  const repo = await seedRepo(git, prefix, { "apps/db/release.yaml": RELEASE, "b.txt": "b\n" });
  const { runner, commands } = recordingRunner();
  const ws = await cache.open({
    remote: { url: repo.url, branch: "main", credentials: writer(git) },
    runner,
  });
  // The plan's fetch.
  const head = await ws.fetch();
  commands.length = 0;
  const plan: PlanGit = {
    branch: "main",
    path: "apps/db/release.yaml",
    versionPath: "spec.chart.spec.version",
    from: "15.2.0",
    to: "15.3.1",
    baseCommit: head,
  };
  const fetches = () => commands.filter((c) => c.args.includes("fetch")).length;
  return { repo, ws, plan, fetches };
}

const input = (ws: Awaited<ReturnType<typeof planned>>["ws"], plan: PlanGit) => ({
  ws,
  git: plan,
  direction: "forward" as const,
  trailer: trailerOf("shop", "up-1", "uid-1"),
  message: "Upgrade db 15.2.0 → 15.3.1",
  author: AUTHOR,
});

describe("commitChange", () => {
  it("builds on the plan's head without a fetch when the branch has not moved", async () => {
    const { repo, ws, plan, fetches } = await planned("change-still");
    const result = await commitChange(input(ws, plan));
    expect(result.kind).toBe("committed");
    expect(fetches()).toBe(0);
    expect(await revParse(git.root, repo.name)).toBe(result.kind === "committed" ? result.sha : "");
    expect(await readFileAt(git.root, repo.name, "apps/db/release.yaml")).toContain(
      'version: "15.3.1"',
    );
  });

  it("builds on the new head when someone pushed since the plan, keeping their change", async () => {
    const { repo, ws, plan, fetches } = await planned("change-moved");
    await commitFiles(git.root, repo.name, { "b.txt": "theirs\n" }, "Other change");
    const result = await commitChange(input(ws, plan));
    expect(result.kind).toBe("committed");
    expect(fetches()).toBe(1);
    expect(await readFileAt(git.root, repo.name, "b.txt")).toBe("theirs\n");
    expect(await readFileAt(git.root, repo.name, "apps/db/release.yaml")).toContain(
      'version: "15.3.1"',
    );
  });

  it("adopts its own commit when an earlier attempt pushed it (a crash before the status write)", async () => {
    const { repo, ws, plan, fetches } = await planned("change-again");
    const first = await commitChange(input(ws, plan));
    if (first.kind !== "committed") throw new Error(`expected a commit, got ${first.kind}`);
    // The retry's commit differs (made later: another message here), so its push, held against
    // the plan's head, is refused; the fetch that follows finds the first one by its trailer.
    const again = await commitChange({ ...input(ws, plan), message: "Upgrade db (again)" });
    expect(again).toEqual({ kind: "adopted", sha: first.sha, ours: true });
    expect(fetches()).toBe(1);
    expect(await revParse(git.root, repo.name)).toBe(first.sha);
  });
});
