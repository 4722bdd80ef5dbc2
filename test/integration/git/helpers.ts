// Shared setup of the Git integration tests: the test bed's git server, a fresh repository per
// test, a cache root per file, and a runner that records what would be spawned.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { inject } from "vitest";
import type { GitCredentials } from "../../../src/git/credentials.ts";
import { spawnGit, type GitCommand, type GitRunner } from "../../../src/git/run.ts";
import { GitWorkspace, type OpenOptions } from "../../../src/git/workspace.ts";
import type { GitAccess } from "../../../testbed/src/cluster.ts";
import {
  commitFiles,
  createBareRepo,
  fixtureGitEnv,
  repoPath,
} from "../../../testbed/src/git-fixtures.ts";

const run = promisify(execFile);

export function gitAccess(): GitAccess {
  const git = inject("git");
  if (!git) throw new Error("the test bed runs without its git server");
  return git;
}

export const AUTHOR = { name: "Cairn", email: "cairn@cairn.invalid" } as const;

export function writer(git: GitAccess): GitCredentials {
  return { kind: "basic", username: git.username, password: git.password };
}

export function reader(git: GitAccess): GitCredentials {
  return { kind: "basic", username: git.readOnlyUsername, password: git.readOnlyPassword };
}

export interface TestRepo {
  readonly name: string;
  readonly url: string;
  /** The seed commit on main. */
  readonly head: string;
}

/** A new repository on the server with one commit on main holding files. */
export async function seedRepo(
  git: GitAccess,
  prefix: string,
  files: Record<string, string>,
): Promise<TestRepo> {
  const name = `${prefix}-${randomBytes(4).toString("hex")}`;
  await createBareRepo(git.root, name);
  const head = await commitFiles(git.root, name, files, "Seed");
  return { name, url: `${git.url}/${name}.git`, head };
}

/** Runs git in the server's bare repository directly, as an observer. */
export async function serverGit(git: GitAccess, repo: string, args: string[]): Promise<string> {
  const { stdout } = await run("git", ["--git-dir", repoPath(git.root, repo), ...args], {
    env: fixtureGitEnv(),
  });
  return stdout;
}

export interface CacheRoot {
  readonly path: string;
  open(options: Omit<OpenOptions, "root">): Promise<GitWorkspace>;
  remove(): Promise<void>;
}

export async function cacheRoot(): Promise<CacheRoot> {
  const path = await mkdtemp(join(tmpdir(), "cairn-git-cache-"));
  return {
    path,
    open: (options) => GitWorkspace.open({ root: path, ...options }),
    remove: () => rm(path, { recursive: true, force: true }),
  };
}

/** Spawns for real and keeps every command (argv and environment) it was asked to run. */
export function recordingRunner(): { runner: GitRunner; commands: GitCommand[] } {
  const commands: GitCommand[] = [];
  return {
    commands,
    runner: (command) => {
      commands.push(command);
      return spawnGit(command);
    },
  };
}
