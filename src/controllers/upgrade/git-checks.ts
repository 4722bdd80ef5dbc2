// Which of Plan's Git checks a failure to read the app's Git file belongs to (pure), so a path
// error is never filed under GitReachable: the app's Git settings (GitSource), its credential
// (GitCredentials), the branch (GitBranch), the file (GitFile), or the server (GitReachable).
// Each message starts with the field a person changes to fix it, where there is one.
import { isGitError } from "../../git/errors.ts";
import { GitAccessError } from "../request/git-access.ts";

export type GitCheckName =
  "GitSource" | "GitCredentials" | "GitBranch" | "GitFile" | "GitReachable";

export interface GitFailureCheck {
  readonly check: GitCheckName;
  readonly message: string;
}

export interface GitFailureContext {
  /** What was opened, when openRepo got that far. */
  readonly repo?:
    { readonly url: string; readonly branch: string; readonly branchField: string } | undefined;
  readonly gitPath: string;
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

export function gitFailureCheck(err: unknown, ctx: GitFailureContext): GitFailureCheck {
  if (err instanceof GitAccessError) {
    const code = err.error?.code;
    const credential =
      code === "credentials" || (code === "not-found" && err.error?.kind === "Secret");
    return { check: credential ? "GitCredentials" : "GitSource", message: err.message };
  }
  if (isGitError(err, "not-found") && ctx.repo && /couldn't find remote ref/.test(err.message)) {
    const { url, branch, branchField } = ctx.repo;
    return {
      check: "GitBranch",
      message: `${branchField}: branch ${branch} does not exist in ${url}`,
    };
  }
  // readFile refuses a path that is a folder (or a link) at the head.
  if (isGitError(err, "invalid") && ctx.repo) {
    return { check: "GitFile", message: `spec.gitPath: ${err.message}` };
  }
  if (isGitError(err, "auth") || isGitError(err, "forbidden")) {
    return { check: "GitCredentials", message: messageOf(err) };
  }
  return { check: "GitReachable", message: messageOf(err) };
}
