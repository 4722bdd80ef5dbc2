// Revert (the step) on the fake API and an in-memory Git remote; revert.ts's own choices between
// a git revert and a new commit are tested in ../revert.test.ts.
import { describe, expect, it } from "vitest";
import {
  ConditionReason,
  ConditionType,
  Label,
  type RollbackRequest,
} from "../../../../../src/api/index.ts";
import { FLUX_API } from "../../../../../src/controllers/request/flux.ts";
import { compensateStep } from "../../../../../src/controllers/rollback/steps/compensate.ts";
import { revertStep } from "../../../../../src/controllers/rollback/steps/revert.ts";
import { GitError } from "../../../../../src/git/errors.ts";
import { FakeGitRepo } from "../../../../fakes/git-repo.ts";
import { FakeObjectApi } from "../../../../fakes/object-api.ts";
import {
  condition,
  NS,
  planWith,
  seedApp,
  seedFlux,
  seedRollback,
  seedUpgrade,
  testStepDeps,
} from "../../../../fakes/requests.ts";
import { stepContext } from "../../../../fakes/step-context.ts";

const PATH = "apps/db/release.yaml";
const release = (version: string) => `spec:\n  chart:\n    spec:\n      version: ${version}\n`;

function setUp() {
  const api = new FakeObjectApi();
  seedApp(api);
  seedFlux(api, "Kustomization", "apps", { suspend: true });
  seedFlux(api, "HelmRelease", "db", { suspend: true });
  seedUpgrade(api);
  const rb = seedRollback(api, "up-1-rollback", "up-1", { [Label.ManagedApp]: "db" });
  const git = new FakeGitRepo({ [PATH]: release("1.0.0") });
  // An upgrade commit Cairn did not make (no trailer): the rollback writes the old value back.
  const upgradeCommit = git.commitByOther(PATH, release("1.1.0"), "bump by hand");
  const plan = planWith({
    git: {
      branch: "main",
      path: PATH,
      versionPath: "spec.chart.spec.version",
      from: "1.1.0",
      to: "1.0.0",
      revertOf: upgradeCommit,
    },
  });
  const step = revertStep(
    testStepDeps<RollbackRequest>(api, { repoFor: () => Promise.resolve(git.opened()) }),
  );
  return { api, git, step, ctx: () => stepContext(rb, { plan }) };
}

describe("Revert", () => {
  it("writes the previous value with the rollback's trailer, and adopts it on a second pass", async () => {
    const { git, step, ctx } = setUp();
    expect(await step(ctx())).toMatchObject({
      kind: "succeeded",
      message: expect.stringContaining("was not made by Cairn") as unknown,
      facts: { commit: { sha: git.head, adopted: false } },
    });
    expect(await git.readFile(git.head, PATH)).toBe(release("1.0.0"));
    const pushed = git.head;
    expect(await step(ctx())).toMatchObject({
      kind: "succeeded",
      message: `adopted this request's earlier commit ${pushed.slice(0, 12)}`,
    });
    expect(git.pushes).toEqual([pushed]);
  });

  it("fails GitChanged when the file holds neither version", async () => {
    const { git, step, ctx } = setUp();
    git.commitByOther(PATH, release("3.0.0"));
    expect(await step(ctx())).toMatchObject({ kind: "failed", reason: ConditionReason.GitChanged });
  });

  it("fails PushRejected when the credentials may not push", async () => {
    const { git, step, ctx } = setUp();
    git.failNext("push", new GitError("auth", "401"));
    expect(await step(ctx())).toMatchObject({ kind: "failed", reason: "PushRejected" });
  });

  it("refuses to touch Git once someone resumed Flux", async () => {
    const { api, git, step, ctx } = setUp();
    api.write(
      { apiVersion: FLUX_API.Kustomization, kind: "Kustomization", namespace: NS, name: "apps" },
      { spec: { suspend: false } },
    );
    expect(await step(ctx())).toMatchObject({ kind: "failed", reason: "FluxResumed" });
    expect(git.pushes).toEqual([]);
  });
});

describe("Compensate after a Revert that did not record its success (issue 14 §2.3)", () => {
  it("finds the revert that landed and says Git was reverted", async () => {
    const { api, git, ctx } = setUp();
    const deps = testStepDeps<RollbackRequest>(api, {
      repoFor: () => Promise.resolve(git.opened()),
    });
    git.pushThenFail(new GitError("network", "connection reset after push"));
    await expect(revertStep(deps)(ctx())).rejects.toThrow("connection reset");
    const failed = ctx();
    await failed.save({
      conditions: [
        condition(ConditionType.Reverted, "False", "DeadlineExceeded", "connection reset"),
        condition(ConditionType.Aborting, "True", "DeadlineExceeded", "connection reset"),
      ],
    });
    const result = await compensateStep(deps)(failed);
    expect(result).toMatchObject({
      kind: "finished",
      message: expect.stringContaining(`Git reverted at ${git.head.slice(0, 12)}`) as unknown,
    });
  });
});
