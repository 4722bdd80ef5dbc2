// Plan's Git failures are filed under the check that says what failed, each message starting
// with the field to change: never a path or credential error under GitReachable.
import { describe, expect, it } from "vitest";
import { GitError } from "../../../../src/git/errors.ts";
import { GitAccessError } from "../../../../src/controllers/request/git-access.ts";
import { gitFailureCheck } from "../../../../src/controllers/upgrade/git-checks.ts";

const repo = {
  url: "http://127.0.0.1:3000/apps.git",
  branch: "release",
  branchField: "spec.git.branch",
};

describe("gitFailureCheck", () => {
  it("files a missing branch under GitBranch, naming the field that set it", () => {
    const err = new GitError(
      "not-found",
      "fetch release from http://127.0.0.1:3000/apps.git: fatal: couldn't find remote ref refs/heads/release",
    );
    expect(gitFailureCheck(err, { repo, gitPath: "apps/a.yaml" })).toEqual({
      check: "GitBranch",
      message: "spec.git.branch: branch release does not exist in http://127.0.0.1:3000/apps.git",
    });
  });

  it("files a folder at spec.gitPath under GitFile", () => {
    const err = new GitError("invalid", "apps at 0123abcd is a tree, not a file");
    expect(gitFailureCheck(err, { repo, gitPath: "apps" })).toEqual({
      check: "GitFile",
      message: "spec.gitPath: apps at 0123abcd is a tree, not a file",
    });
  });

  it("files an unusable or missing Secret under GitCredentials, and other settings under GitSource", () => {
    const missing = new GitAccessError("spec.git.secretRef.name: Secret shop/w not found", {
      code: "not-found",
      kind: "Secret",
      namespace: "shop",
      name: "w",
      message: "spec.git.secretRef.name: Secret shop/w not found",
    });
    expect(gitFailureCheck(missing, { gitPath: "a.yaml" })).toEqual({
      check: "GitCredentials",
      message: "spec.git.secretRef.name: Secret shop/w not found",
    });
    const pinned = new GitAccessError("GitRepository shop/apps follows a tag (spec.ref.tag)", {
      code: "unsupported-ref",
      message: "GitRepository shop/apps follows a tag (spec.ref.tag)",
    });
    expect(gitFailureCheck(pinned, { gitPath: "a.yaml" }).check).toBe("GitSource");
    expect(gitFailureCheck(new GitError("auth", "401"), { repo, gitPath: "a.yaml" }).check).toBe(
      "GitCredentials",
    );
  });

  it("leaves only the server's failures to GitReachable", () => {
    const err = new GitError("network", "Connection refused");
    expect(gitFailureCheck(err, { repo, gitPath: "a.yaml" })).toEqual({
      check: "GitReachable",
      message: "Connection refused",
    });
    // A repository that does not exist is not a missing branch.
    const noRepo = new GitError("not-found", "repository 'x' not found");
    expect(gitFailureCheck(noRepo, { repo, gitPath: "a.yaml" }).check).toBe("GitReachable");
  });
});
