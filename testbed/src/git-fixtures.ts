// Bare repositories for the git server, seeded and changed through the git CLI alone. Every call
// gets an environment without the user's global or system config and with a fixed author, so
// hooks, signing, templates or a missing user.name on the machine cannot change the outcome.
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { promisify } from "node:util";
import { isolatedGitEnv } from "./git-server.ts";
import { pathExists } from "./fs-util.ts";

const run = promisify(execFile);

export const FIXTURE_AUTHOR = { name: "Cairn Testbed", email: "testbed@cairn.invalid" } as const;

export interface BareRepo {
  /** `<root>/<name>.git` */
  readonly path: string;
  /** SHA of main, or undefined while the repository is empty. */
  readonly head: string | undefined;
}

/** File path → new content, or null to delete the file. Paths are relative, with `/`. */
export type FileChanges = Readonly<Record<string, string | Uint8Array | null>>;

export function fixtureGitEnv(): Record<string, string> {
  return {
    ...isolatedGitEnv(),
    GIT_AUTHOR_NAME: FIXTURE_AUTHOR.name,
    GIT_AUTHOR_EMAIL: FIXTURE_AUTHOR.email,
    GIT_COMMITTER_NAME: FIXTURE_AUTHOR.name,
    GIT_COMMITTER_EMAIL: FIXTURE_AUTHOR.email,
    GIT_TERMINAL_PROMPT: "0",
  };
}

async function git(args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await run("git", args, {
      env: fixtureGitEnv(),
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? "";
    throw new Error(
      `git ${args.filter((a) => a !== "-q").join(" ")} failed: ${stderr.trim() || String(err)}`,
      {
        cause: err,
      },
    );
  }
}

/** Relative paths of plain segments only: nothing may land outside the tree or inside a .git. */
function checkedSegments(path: string, what: string): string[] {
  const segments = path.split("/");
  const bad = (s: string) =>
    s === "" || s === "." || s === ".." || s === ".git" || s.includes("\\") || s.includes("\0");
  if (segments.some(bad))
    throw new Error(`${what} ${JSON.stringify(path)} is not a plain relative path`);
  return segments;
}

export function repoPath(root: string, name: string): string {
  checkedSegments(name, "repository name");
  return join(root, `${name}.git`);
}

/** The SHA ref points at in the bare repository, or undefined if there is no such ref. */
export async function revParse(
  root: string,
  name: string,
  ref = "main",
): Promise<string | undefined> {
  try {
    const { stdout } = await run(
      "git",
      ["--git-dir", repoPath(root, name), "rev-parse", "--verify", "--quiet", `${ref}^{commit}`],
      { env: fixtureGitEnv() },
    );
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Commits on main of the bare repository through a throwaway clone: fetch main (if any), let
 * change() edit the work tree, commit everything and push it back. A concurrent commit makes the
 * push fail as a non-fast-forward instead of losing a change.
 */
async function commitThroughWorkTree(
  bare: string,
  message: string,
  change: (workTree: string) => Promise<void>,
): Promise<string> {
  const work = await mkdtemp(join(tmpdir(), "cairn-git-work-"));
  try {
    await git(["init", "-q", "--initial-branch=main", work]);
    const { stdout } = await run("git", ["--git-dir", bare, "for-each-ref", "refs/heads/main"], {
      env: fixtureGitEnv(),
    });
    if (stdout.trim()) {
      await git(["-C", work, "fetch", "-q", "--no-tags", bare, "refs/heads/main"]);
      await git(["-C", work, "checkout", "-q", "-B", "main", "FETCH_HEAD"]);
    }
    await change(work);
    await git(["-C", work, "add", "-A"]);
    await git(["-C", work, "commit", "-q", "--allow-empty", "--no-verify", "-m", message]);
    await git(["-C", work, "push", "-q", bare, "HEAD:refs/heads/main"]);
    return (await git(["-C", work, "rev-parse", "HEAD"])).trim();
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Creates `<root>/<name>.git` (bare, default branch main). With fromFolder, main gets one commit
 * holding that folder's files (a `.git` inside it is skipped).
 */
export async function createBareRepo(
  root: string,
  name: string,
  fromFolder?: string,
): Promise<BareRepo> {
  const path = repoPath(root, name);
  if (await pathExists(path)) throw new Error(`repository ${path} already exists`);
  await mkdir(dirname(path), { recursive: true });
  await git(["init", "-q", "--bare", "--initial-branch=main", path]);
  if (fromFolder === undefined) return { path, head: undefined };
  const head = await commitThroughWorkTree(path, `Seed from ${basename(fromFolder)}`, (work) =>
    cp(fromFolder, work, { recursive: true, filter: (src) => basename(src) !== ".git" }),
  );
  return { path, head };
}

/** Adds one commit to main (null deletes a file) and returns its SHA. */
export async function commitFiles(
  root: string,
  name: string,
  files: FileChanges,
  message: string,
): Promise<string> {
  const bare = repoPath(root, name);
  const changes = Object.entries(files).map(([path, content]) => {
    checkedSegments(path, "file path");
    return { path, content };
  });
  return commitThroughWorkTree(bare, message, async (work) => {
    for (const { path, content } of changes) {
      const target = join(work, path);
      if (content === null) {
        await rm(target, { force: true });
      } else {
        await mkdir(dirname(target), { recursive: true });
        await writeFile(target, content);
      }
    }
  });
}

/** A file's content at ref (default main) in the bare repository. */
export async function readFileAt(
  root: string,
  name: string,
  path: string,
  ref = "main",
): Promise<string> {
  checkedSegments(path, "file path");
  return git(["--git-dir", repoPath(root, name), "cat-file", "blob", `${ref}:${path}`]);
}
