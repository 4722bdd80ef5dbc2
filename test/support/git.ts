// Git on the test bed's server, as a user (or Cairn) would use it: clone, commit, push over HTTP.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { fixtureGitEnv } from "../../testbed/src/git-fixtures.ts";

const run = promisify(execFile);

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

function authHeader(creds: Credentials): string {
  return `Authorization: Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString("base64")}`;
}

async function git(cwd: string, args: readonly string[], creds?: Credentials) {
  // No credential helper, no prompt: a missing or wrong credential fails at once.
  const auth = creds ? ["-c", `http.extraHeader=${authHeader(creds)}`] : [];
  return run("git", ["-c", "credential.helper=", ...auth, ...args], {
    cwd,
    env: { ...fixtureGitEnv(), GIT_TERMINAL_PROMPT: "0" },
  });
}

/**
 * Clones url, rewrites one file with edit(), commits and pushes to main. Resolves with the new
 * commit's SHA; rejects with git's stderr when the push is refused.
 */
export async function pushEdit(
  url: string,
  creds: Credentials,
  path: string,
  edit: (text: string) => string,
  message: string,
): Promise<string> {
  const work = await mkdtemp(join(tmpdir(), "push-"));
  try {
    await git(work, ["clone", "--quiet", "--branch", "main", url, "repo"]);
    const dir = join(work, "repo");
    const file = join(dir, path);
    await writeFile(file, edit(await readFile(file, "utf8")));
    await git(dir, ["commit", "--quiet", "-am", message]);
    await git(dir, ["push", "--quiet", "origin", "main"], creds);
    return (await git(dir, ["rev-parse", "HEAD"])).stdout.trim();
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export async function remoteHead(url: string): Promise<string> {
  const { stdout } = await git(tmpdir(), ["ls-remote", url, "refs/heads/main"]);
  return stdout.split("\t")[0] ?? "";
}
