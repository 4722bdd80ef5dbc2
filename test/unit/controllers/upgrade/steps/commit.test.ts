// Commit on the fake API and an in-memory Git remote.
import { describe, expect, it } from "vitest";
import {
  ConditionReason,
  ConditionType,
  type UpgradeRequest,
} from "../../../../../src/api/index.ts";
import { FLUX_API } from "../../../../../src/controllers/request/flux.ts";
import { commitStep } from "../../../../../src/controllers/upgrade/steps/commit.ts";
import { compensateStep } from "../../../../../src/controllers/upgrade/steps/compensate.ts";
import { GitError } from "../../../../../src/git/errors.ts";
import { FakeGitRepo } from "../../../../fakes/git-repo.ts";
import { FakeObjectApi } from "../../../../fakes/object-api.ts";
import {
  condition,
  NS,
  planWith,
  seedApp,
  seedFlux,
  seedUpgrade,
  testStepDeps,
} from "../../../../fakes/requests.ts";
import { stepContext } from "../../../../fakes/step-context.ts";

const PATH = "apps/db/release.yaml";
const release = (version: string) =>
  `apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nspec:\n  chart:\n    spec:\n      version: ${version} # pinned\n`;

function setUp() {
  const api = new FakeObjectApi();
  seedApp(api);
  seedFlux(api, "Kustomization", "apps", { suspend: true });
  seedFlux(api, "HelmRelease", "db", { suspend: true });
  const up = seedUpgrade(api);
  const git = new FakeGitRepo({ [PATH]: release("1.0.0") });
  const step = commitStep(
    testStepDeps<UpgradeRequest>(api, { repoFor: () => Promise.resolve(git.opened()) }),
  );
  const ctx = () => stepContext(up, { plan: planWith() });
  return { api, up, git, step, ctx };
}

describe("Commit", () => {
  it("pushes one commit with the request's trailer, editing only the version", async () => {
    const { up, git, step, ctx } = setUp();
    const result = await step(ctx());
    expect(result).toMatchObject({
      kind: "succeeded",
      facts: { commit: { sha: git.head, adopted: false } },
    });
    expect(await git.readFile(git.head, PATH)).toBe(release("1.1.0"));
    expect(
      await git.findCommitWithTrailer({
        from: git.head,
        trailer: `Cairn-Request: ${NS}/up-1 ${up.metadata.uid ?? ""}`,
      }),
    ).toBe(git.head);
  });

  it("after a push that landed but errored, the next pass adopts its own commit instead of pushing again", async () => {
    const { git, step, ctx } = setUp();
    git.pushThenFail(new GitError("network", "connection reset after push"));
    await expect(step(ctx())).rejects.toThrow("connection reset");
    const pushed = git.head;
    expect(await step(ctx())).toMatchObject({
      kind: "succeeded",
      message: `adopted this request's earlier commit ${pushed.slice(0, 12)}`,
      facts: { commit: { sha: pushed, adopted: true } },
    });
    expect(git.pushes).toEqual([pushed]);
  });

  it("redoes the commit on the new head when another writer pushed first", async () => {
    const { git, step, ctx } = setUp();
    git.commitByOther("README.md", "hello");
    const before = git.head;
    await step(ctx());
    expect(await git.isAncestor(before, git.head)).toBe(true);
    expect(await git.readFile(git.head, "README.md")).toBe("hello");
  });

  it("fails GitChanged when the file holds neither version", async () => {
    const { git, step, ctx } = setUp();
    git.commitByOther(PATH, release("2.0.0"));
    expect(await step(ctx())).toMatchObject({ kind: "failed", reason: ConditionReason.GitChanged });
    expect(git.pushes).toEqual([]);
  });

  it("fails PushRejected when the credentials may not push", async () => {
    const { git, step, ctx } = setUp();
    git.failNext("push", new GitError("forbidden", "403"));
    expect(await step(ctx())).toMatchObject({ kind: "failed", reason: "PushRejected" });
  });

  it("refuses to commit once someone resumed Flux", async () => {
    const { api, git, step, ctx } = setUp();
    api.write(
      { apiVersion: FLUX_API.HelmRelease, kind: "HelmRelease", namespace: NS, name: "db" },
      { spec: { suspend: false } },
    );
    expect(await step(ctx())).toMatchObject({ kind: "failed", reason: "FluxResumed" });
    expect(git.pushes).toEqual([]);
  });
});

describe("Compensate after a Commit that did not record its success (issue 14 §2.3)", () => {
  const failedCommit = {
    plan: planWith(),
    conditions: [
      condition(ConditionType.Committed, "False", "DeadlineExceeded", "push: connection reset"),
      condition(ConditionType.Aborting, "True", "DeadlineExceeded", "push: connection reset"),
    ],
  };

  function setUpAuto() {
    const api = new FakeObjectApi();
    seedApp(api, { autoRollback: true });
    seedFlux(api, "Kustomization", "apps", { suspend: true });
    seedFlux(api, "HelmRelease", "db", { suspend: true });
    const up = seedUpgrade(api);
    const git = new FakeGitRepo({ [PATH]: release("1.0.0") });
    const deps = testStepDeps<UpgradeRequest>(api, {
      repoFor: () => Promise.resolve(git.opened()),
    });
    return { api, up, git, deps };
  }

  it("finds the push that landed, records it and takes the after-commit path", async () => {
    const { up, git, deps } = setUpAuto();
    git.pushThenFail(new GitError("network", "connection reset after push"));
    await expect(commitStep(deps)(stepContext(up, { plan: planWith() }))).rejects.toThrow();
    const ctx = stepContext(up, failedCommit);
    const result = await compensateStep(deps)(ctx);
    expect(result).toMatchObject({ kind: "finished", reason: ConditionReason.RollbackTriggered });
    expect(ctx.status().commit).toEqual({ sha: git.head, adopted: false });
  });

  it("says Git is untouched only when the branch has no commit of this request", async () => {
    const { up, deps } = setUpAuto();
    const result = await compensateStep(deps)(stepContext(up, failedCommit));
    expect(result).toMatchObject({ kind: "finished", reason: "DeadlineExceeded" });
    expect((result as { message: string }).message).toMatch(/Git untouched$/);
  });

  it("ends even when Git cannot be read, and says so instead of claiming Git is untouched", async () => {
    const { up, git, deps } = setUpAuto();
    git.failNext("fetch", new GitError("network", "no route to host"));
    const result = await compensateStep(deps)(stepContext(up, failedCommit));
    expect(result).toMatchObject({
      kind: "finished",
      message: expect.stringContaining(
        "Git could not be read to confirm that no commit landed (no route to host)",
      ) as unknown,
    });
  });
});
