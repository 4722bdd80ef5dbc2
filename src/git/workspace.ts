// A bare cache repository per remote, driven through the git CLI, with no working tree: files
// are read from objects, commits are built through a throwaway index, and reverts are merged
// with merge-tree. Every call runs with a fixed, minimal environment (no user or system config,
// no hooks, no prompts, C locale) and a timeout; credentials are added only to calls that talk
// to the remote, and only through the environment.
import { createHash, randomUUID } from "node:crypto";
import { mkdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { COMMIT_SHA_PATTERN } from "../api/fields.ts";
import { credentialEnv, secretsOf, transportOf, type GitCredentials } from "./credentials.ts";
import { GitError, gitErrorFrom, isGitError, maskSecrets } from "./errors.ts";
import { spawnGit, type GitRunner } from "./run.ts";
import { hasControlChar } from "./text.ts";

export interface GitRemote {
  /** http(s):// or ssh://; never with a password in it. */
  readonly url: string;
  readonly branch: string;
  readonly credentials: GitCredentials;
}

export interface GitAuthor {
  readonly name: string;
  readonly email: string;
  /** Author and committer date; now when absent. */
  readonly date?: Date;
}

export interface CallOptions {
  readonly signal?: AbortSignal;
}

export interface OpenOptions {
  /** Folder holding the cache repositories; created if missing. */
  readonly root: string;
  readonly remote: GitRemote;
  /** Per git process (a method may run several); default 60 s. */
  readonly timeoutMs?: number;
  /**
   * Environment git starts from, e.g. proxy settings; PATH defaults to the system's. Git's own
   * settings (config isolation, locale, prompts, credentials) always override it.
   */
  readonly baseEnv?: Readonly<Record<string, string>>;
  readonly runner?: GitRunner;
  /**
   * Kills every git process of this workspace when it aborts, on top of each call's own signal:
   * the leader's term, so that a replica that lost its lease leaves no push running behind it.
   */
  readonly signal?: AbortSignal | undefined;
}

export interface CommitFileOptions {
  readonly parent: string;
  readonly path: string;
  readonly content: string;
  readonly message: string;
  readonly author: GitAuthor;
}

export type RevertResult =
  | { readonly kind: "reverted"; readonly sha: string }
  | { readonly kind: "conflict"; readonly paths: string[] }
  /** Applying the revert changes nothing: onto no longer contains the commit's change. */
  | { readonly kind: "already-reverted" };

export const DEFAULT_TIMEOUT_MS = 60_000;
const MAX_OUTPUT_BYTES = 32 * 1024 * 1024;
const DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin";
const COMMIT_SHA = new RegExp(COMMIT_SHA_PATTERN);

/** Commits are named by full SHA only: nothing a caller passes can read as an option or a ref. */
function checkSha(value: string, what: string): void {
  if (!COMMIT_SHA.test(value)) {
    throw new GitError(
      "invalid",
      `${what} must be a full commit SHA, got ${JSON.stringify(value)}`,
    );
  }
}

/** A plain relative path inside the repository, as the index stores it. */
function checkRepoPath(path: string): void {
  const bad = (s: string) =>
    s === "" || s === "." || s === ".." || s.toLowerCase() === ".git" || s.includes("\\");
  if (path.length > 4096 || hasControlChar(path) || path.split("/").some(bad)) {
    throw new GitError(
      "invalid",
      `path ${JSON.stringify(path)} is not a plain relative path in the repository`,
    );
  }
}

function checkAuthor(author: GitAuthor): void {
  for (const value of [author.name, author.email]) {
    if (value.trim() === "" || /[<>\n\r\0]/.test(value)) {
      throw new GitError("invalid", `author ${JSON.stringify(value)} is not a valid name or email`);
    }
  }
}

function checkUrl(url: string): void {
  if (transportOf(url) === undefined) {
    throw new GitError("invalid", "the Git URL must start with http://, https:// or ssh://");
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new GitError("invalid", `the Git URL ${maskSecrets(url, [])} is not a valid URL`);
  }
  // A password in the URL would sit in every git argv; credentials come from a Secret instead.
  if (parsed.password !== "" || (transportOf(url) === "http" && parsed.username !== "")) {
    throw new GitError(
      "invalid",
      `the Git URL ${maskSecrets(url, [])} carries credentials; put them in a Secret instead`,
    );
  }
}

/** Where our copy of the remote branch lives: hashed, so "a" and "a/b" cannot collide. */
function trackingRef(branch: string): string {
  return `refs/cairn/fetched/${createHash("sha256").update(branch).digest("hex").slice(0, 32)}`;
}

function authorEnv(author: GitAuthor): Record<string, string> {
  const env: Record<string, string> = {
    GIT_AUTHOR_NAME: author.name,
    GIT_AUTHOR_EMAIL: author.email,
    GIT_COMMITTER_NAME: author.name,
    GIT_COMMITTER_EMAIL: author.email,
  };
  if (author.date !== undefined) {
    const date = `@${Math.floor(author.date.getTime() / 1000)} +0000`;
    env["GIT_AUTHOR_DATE"] = date;
    env["GIT_COMMITTER_DATE"] = date;
  }
  return env;
}

interface RunOptions {
  readonly input?: string | undefined;
  /** Adds the credentials to the environment. */
  readonly network?: boolean;
  readonly env?: Readonly<Record<string, string>>;
  /** Exit codes that are answers rather than failures. */
  readonly okCodes?: readonly number[];
  readonly signal?: AbortSignal | undefined;
}

interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export class GitWorkspace {
  readonly #dir: string;
  readonly #tmp: string;
  readonly #remote: GitRemote;
  readonly #timeoutMs: number;
  readonly #baseEnv: Readonly<Record<string, string>>;
  readonly #runner: GitRunner;
  readonly #secrets: readonly string[];
  readonly #signal: AbortSignal | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(options: OpenOptions, dir: string) {
    this.#signal = options.signal;
    this.#dir = dir;
    this.#tmp = join(options.root, "tmp");
    this.#remote = options.remote;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#baseEnv = { PATH: DEFAULT_PATH, ...options.baseEnv };
    this.#runner = options.runner ?? spawnGit;
    this.#secrets = secretsOf(options.remote.credentials);
  }

  /** Opens (and on first use creates) the cache repository for the remote under root. */
  static async open(options: OpenOptions): Promise<GitWorkspace> {
    checkUrl(options.remote.url);
    const name = createHash("sha256").update(options.remote.url).digest("hex").slice(0, 32);
    const workspace = new GitWorkspace(options, join(options.root, `${name}.git`));
    await mkdir(workspace.#tmp, { recursive: true, mode: 0o700 });
    await workspace.#exclusive(async () => {
      const branch = options.remote.branch;
      const format = await workspace.#git(
        `check-ref-format (branch ${JSON.stringify(branch)})`,
        ["check-ref-format", `refs/heads/${branch}`],
        { okCodes: [0, 1] },
        false,
      );
      if (format.code !== 0 || branch.startsWith("-")) {
        throw new GitError("invalid", `${JSON.stringify(branch)} is not a valid branch name`);
      }
      if (!(await isDirectory(join(workspace.#dir, "objects")))) {
        await workspace.#git("init", ["init", "--quiet", "--bare", workspace.#dir], {}, false);
      }
    });
    return workspace;
  }

  /** The cache repository's folder. */
  get dir(): string {
    return this.#dir;
  }

  get remote(): GitRemote {
    return this.#remote;
  }

  /** Fetches the branch and returns the SHA of its head on the remote. */
  fetch(options: CallOptions = {}): Promise<string> {
    return this.#exclusive(() => this.#fetch(options.signal));
  }

  /** The file's content at commit, or undefined when the commit has no such file. */
  async readFile(
    commit: string,
    path: string,
    options: CallOptions = {},
  ): Promise<string | undefined> {
    checkSha(commit, "commit");
    checkRepoPath(path);
    return this.#exclusive(async () => {
      await this.#requireCommit(commit, options.signal);
      const found = await this.#git(
        `cat-file (${path} at ${commit})`,
        ["cat-file", "--batch-check=%(objectname) %(objecttype)"],
        { input: `${commit}:${path}\n`, signal: options.signal },
      );
      const line = found.stdout.trim();
      if (line.endsWith(" missing")) return undefined;
      const [oid, type] = line.split(" ");
      if (type !== "blob" || oid === undefined) {
        throw new GitError("invalid", `${path} at ${commit} is a ${type ?? "?"}, not a file`);
      }
      const blob = await this.#git(`cat-file (${path} at ${commit})`, ["cat-file", "blob", oid], {
        signal: options.signal,
      });
      return blob.stdout;
    });
  }

  /**
   * Writes the files of commit into dest (an existing empty folder) through a throwaway index,
   * for a build that needs a tree on disk (the impact preview's kustomize build). The cache
   * repository itself stays without a working tree.
   */
  async exportTree(commit: string, dest: string, call: CallOptions = {}): Promise<void> {
    checkSha(commit, "commit");
    const signal = call.signal;
    return this.#exclusive(async () => {
      await this.#requireCommit(commit, signal);
      const index = join(this.#tmp, `index-${randomUUID()}`);
      const env = { GIT_INDEX_FILE: index };
      try {
        await this.#git("read-tree", ["read-tree", commit], { env, signal });
        await this.#git("checkout-index", ["--work-tree", dest, "checkout-index", "--all"], {
          env,
          signal,
        });
      } finally {
        await rm(index, { force: true });
      }
    });
  }

  /**
   * A commit on parent whose only change is path's new content, built in a throwaway index
   * without a checkout. The committer is the author.
   */
  async commitFile(options: CommitFileOptions, call: CallOptions = {}): Promise<string> {
    checkSha(options.parent, "parent");
    checkRepoPath(options.path);
    checkAuthor(options.author);
    const signal = call.signal;
    return this.#exclusive(async () => {
      await this.#requireCommit(options.parent, signal);
      const index = join(this.#tmp, `index-${randomUUID()}`);
      const env = { GIT_INDEX_FILE: index };
      try {
        await this.#git("read-tree", ["read-tree", options.parent], { env, signal });
        const mode = await this.#fileMode(options.parent, options.path, signal);
        const blob = await this.#git(
          "hash-object",
          ["hash-object", "-w", "--no-filters", "--stdin"],
          { input: options.content, signal },
        );
        await this.#git(
          "update-index",
          ["update-index", "--add", "--cacheinfo", `${mode},${blob.stdout.trim()},${options.path}`],
          { env, signal },
        );
        const tree = (await this.#git("write-tree", ["write-tree"], { env, signal })).stdout.trim();
        if (tree === (await this.#treeOf(options.parent, signal))) {
          throw new GitError(
            "invalid",
            `${options.path} at ${options.parent} already has this content; nothing to commit`,
          );
        }
        return await this.#commitTree(
          tree,
          [options.parent],
          options.message,
          options.author,
          signal,
        );
      } finally {
        await rm(index, { force: true });
      }
    });
  }

  /** Whether the cache repository holds the commit (no network). */
  async hasCommit(commit: string, options: CallOptions = {}): Promise<boolean> {
    checkSha(commit, "commit");
    return this.#exclusive(() =>
      this.#requireCommit(commit, options.signal).then(
        () => true,
        (err: unknown) => {
          if (isGitError(err, "not-found")) return false;
          throw err;
        },
      ),
    );
  }

  /**
   * Pushes commit to the branch, never forcing. "pushed" also when the branch already points at
   * commit, so a repeated push after a lost status write is harmless. Any refusal other than
   * "the branch moved on" throws. `expect`: the branch must be at exactly this commit on the
   * server (a compare-and-swap, `--force-with-lease` with the value given; commit is its child,
   * so the push is a fast-forward), else "non-fast-forward".
   */
  async push(
    commit: string,
    options: CallOptions & { readonly expect?: string } = {},
  ): Promise<"pushed" | "non-fast-forward"> {
    checkSha(commit, "commit");
    if (options.expect !== undefined) checkSha(options.expect, "expect");
    return this.#exclusive(async () => {
      const { url, branch } = this.#remote;
      const lease =
        options.expect !== undefined
          ? [`--force-with-lease=refs/heads/${branch}:${options.expect}`]
          : [];
      const result = await this.#git(
        `push ${commit} to ${branch} of ${url}`,
        ["push", "--porcelain", ...lease, url, `${commit}:refs/heads/${branch}`],
        { network: true, okCodes: [0, 1], signal: options.signal },
      );
      if (result.code === 0) return "pushed";
      // --porcelain prints each rejected ref as "!\t<src>:<dst>\t[rejected] (<reason>)".
      const rejected = result.stdout.split("\n").filter((l) => l.startsWith("!"));
      if (rejected.some((l) => /\((?:non-fast-forward|fetch first|stale info)\)/.test(l))) {
        return "non-fast-forward";
      }
      throw gitErrorFrom({
        operation: `push ${commit} to ${branch} of ${url}`,
        stderr: [...rejected, result.stderr].join("\n"),
        exitCode: result.code,
        secrets: this.#secrets,
      });
    });
  }

  /**
   * Proves the credentials may push, without changing anything: a dry-run push of the branch's
   * current head asks the server for its receive-pack advertisement, which needs write access.
   * Branch protection rules are not evaluated by a dry run. Fails with not-found while the
   * branch does not exist. With `head` (the SHA a fetch just returned) the fetch is skipped.
   */
  async canPush(options: CallOptions & { readonly head?: string } = {}): Promise<void> {
    if (options.head !== undefined) checkSha(options.head, "head");
    return this.#exclusive(async () => {
      const head = options.head ?? (await this.#fetch(options.signal));
      const { url, branch } = this.#remote;
      await this.#git(
        `push --dry-run to ${branch} of ${url}`,
        ["push", "--dry-run", "--porcelain", url, `${head}:refs/heads/${branch}`],
        { network: true, signal: options.signal },
      );
    });
  }

  /**
   * The newest commit reachable from `from` (at most maxCount commits back) whose message
   * carries exactly this trailer line, e.g. "Cairn-Request: shop/upgrade-1 <uid>".
   */
  async findCommitWithTrailer(
    options: { from: string; trailer: string; maxCount?: number },
    call: CallOptions = {},
  ): Promise<string | undefined> {
    checkSha(options.from, "from");
    const trailer = options.trailer.trim();
    if (trailer === "" || hasControlChar(trailer)) {
      throw new GitError("invalid", "a trailer is one non-empty line");
    }
    const maxCount = options.maxCount ?? 1000;
    return this.#exclusive(async () => {
      await this.#requireCommit(options.from, call.signal);
      // Only the trailer block is compared, line by line, so a body line that merely quotes
      // the trailer does not count. (No --grep: git applies --max-count after it, and the
      // limit is meant as a bound on how far back the walk goes.)
      const log = await this.#git(
        "log (trailer search)",
        [
          "log",
          `--max-count=${maxCount}`,
          "--format=%H%x1f%(trailers:only,unfold)%x1e",
          options.from,
          "--",
        ],
        { signal: call.signal },
      );
      for (const record of log.stdout.split("\x1e")) {
        const [sha, trailers] = record.trim().split("\x1f");
        if (!sha || trailers === undefined) continue;
        if (trailers.split("\n").some((line) => line.trim() === trailer)) return sha;
      }
      return undefined;
    });
  }

  async isAncestor(
    ancestor: string,
    descendant: string,
    options: CallOptions = {},
  ): Promise<boolean> {
    checkSha(ancestor, "ancestor");
    checkSha(descendant, "descendant");
    return this.#exclusive(async () => {
      await this.#requireCommit(ancestor, options.signal);
      await this.#requireCommit(descendant, options.signal);
      const result = await this.#git(
        `merge-base --is-ancestor ${ancestor} ${descendant}`,
        ["merge-base", "--is-ancestor", ancestor, descendant],
        { okCodes: [0, 1], signal: options.signal },
      );
      return result.code === 0;
    });
  }

  /**
   * Reverts commit on top of onto without a checkout: a three-way merge of onto and commit's
   * parent with commit as the merge base, as `git revert` does, committed with parent onto.
   */
  async revert(
    options: { commit: string; onto: string; message: string; author: GitAuthor },
    call: CallOptions = {},
  ): Promise<RevertResult> {
    checkSha(options.commit, "commit");
    checkSha(options.onto, "onto");
    checkAuthor(options.author);
    const signal = call.signal;
    return this.#exclusive(async () => {
      await this.#requireCommit(options.commit, signal);
      await this.#requireCommit(options.onto, signal);
      const parents = (
        await this.#git(
          "rev-list --parents",
          ["rev-list", "--parents", "-n", "1", options.commit],
          {
            signal,
          },
        )
      ).stdout
        .trim()
        .split(" ")
        .slice(1);
      if (parents.length > 1) {
        throw new GitError(
          "invalid",
          `${options.commit} is a merge commit; Cairn reverts only plain commits`,
        );
      }
      const parentTree =
        parents[0] === undefined
          ? await this.#emptyTree(signal)
          : await this.#treeOf(parents[0], signal);
      const ontoTree = await this.#treeOf(options.onto, signal);
      // git 2.39 (Debian bookworm) has merge-tree --write-tree but not --merge-base, so the merge
      // base is forced through history: two commits on one synthetic root holding commit's tree.
      // Only trees matter to the merge; these commits are never referenced and are pruned later.
      const synthetic = {
        name: options.author.name,
        email: options.author.email,
        date: new Date(0),
      };
      const base = await this.#commitTree(
        await this.#treeOf(options.commit, signal),
        [],
        "revert base",
        synthetic,
        signal,
      );
      const ours = await this.#commitTree(ontoTree, [base], "revert onto", synthetic, signal);
      const theirs = await this.#commitTree(parentTree, [base], "revert change", synthetic, signal);
      const merged = await this.#git(
        `merge-tree (revert ${options.commit} onto ${options.onto})`,
        ["merge-tree", "--write-tree", "-z", "--name-only", "--no-messages", ours, theirs],
        { okCodes: [0, 1], signal },
      );
      const [tree, ...conflicted] = merged.stdout.split("\0").filter((s) => s !== "");
      if (tree === undefined || !/^[0-9a-f]{40,64}$/.test(tree)) {
        throw gitErrorFrom({
          operation: `merge-tree (revert ${options.commit} onto ${options.onto})`,
          stderr: merged.stderr,
          exitCode: merged.code,
          secrets: this.#secrets,
        });
      }
      if (merged.code === 1) return { kind: "conflict", paths: [...new Set(conflicted)].sort() };
      if (tree === ontoTree) return { kind: "already-reverted" };
      const sha = await this.#commitTree(
        tree,
        [options.onto],
        options.message,
        options.author,
        signal,
      );
      return { kind: "reverted", sha };
    });
  }

  /** The unified diff of one file between two commits; "" when it did not change. */
  async diffFile(
    from: string,
    to: string,
    path: string,
    options: CallOptions = {},
  ): Promise<string> {
    checkSha(from, "from");
    checkSha(to, "to");
    checkRepoPath(path);
    return this.#exclusive(async () => {
      await this.#requireCommit(from, options.signal);
      await this.#requireCommit(to, options.signal);
      const diff = await this.#git(
        `diff ${from} ${to} (${path})`,
        [
          "diff",
          "--no-color",
          "--no-ext-diff",
          "--no-textconv",
          "--no-renames",
          from,
          to,
          "--",
          path,
        ],
        { signal: options.signal },
      );
      return diff.stdout;
    });
  }

  // Operations queue behind each other: a fetch updating the tracking ref must not interleave
  // with a push or a commit built from it. A failure does not block the queue.
  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #fetch(signal: AbortSignal | undefined): Promise<string> {
    const { url, branch } = this.#remote;
    const ref = trackingRef(branch);
    await this.#git(
      `fetch ${branch} from ${url}`,
      [
        "fetch",
        "--quiet",
        "--no-tags",
        "--no-write-fetch-head",
        url,
        `+refs/heads/${branch}:${ref}`,
      ],
      { network: true, signal },
    );
    const head = await this.#git(`rev-parse ${ref}`, ["rev-parse", "--verify", `${ref}^{commit}`], {
      signal,
    });
    return head.stdout.trim();
  }

  async #requireCommit(commit: string, signal: AbortSignal | undefined): Promise<void> {
    const found = await this.#git(
      `rev-parse ${commit}`,
      ["rev-parse", "--verify", "--quiet", `${commit}^{commit}`],
      { okCodes: [0, 1], signal },
    );
    if (found.code !== 0) {
      throw new GitError(
        "not-found",
        `commit ${commit} is not in the cache repository; fetch first`,
      );
    }
  }

  async #treeOf(commit: string, signal: AbortSignal | undefined): Promise<string> {
    const tree = await this.#git(`rev-parse ${commit}^{tree}`, ["rev-parse", `${commit}^{tree}`], {
      signal,
    });
    return tree.stdout.trim();
  }

  async #emptyTree(signal: AbortSignal | undefined): Promise<string> {
    const tree = await this.#git("mktree (empty)", ["mktree"], { input: "", signal });
    return tree.stdout.trim();
  }

  /** The mode to keep for path: its current one, or a plain file's when it is new. */
  async #fileMode(commit: string, path: string, signal: AbortSignal | undefined): Promise<string> {
    const listed = await this.#git(`ls-tree (${path})`, ["ls-tree", "-z", commit, "--", path], {
      signal,
    });
    const entry = listed.stdout.split("\0").find((e) => e.endsWith(`\t${path}`));
    if (entry === undefined) return "100644";
    const [mode = ""] = entry.split(" ");
    if (mode !== "100644" && mode !== "100755") {
      throw new GitError("invalid", `${path} at ${commit} is not a regular file (mode ${mode})`);
    }
    return mode;
  }

  async #commitTree(
    tree: string,
    parents: readonly string[],
    message: string,
    author: GitAuthor,
    signal: AbortSignal | undefined,
  ): Promise<string> {
    const commit = await this.#git(
      "commit-tree",
      ["commit-tree", tree, ...parents.flatMap((p) => ["-p", p]), "-F", "-"],
      { input: message.endsWith("\n") ? message : `${message}\n`, env: authorEnv(author), signal },
    );
    return commit.stdout.trim();
  }

  /**
   * Runs one git command in the cache repository (or, with inRepo false, outside any). Throws a
   * GitError for a timeout, an abort or an exit code not in okCodes (default: only 0).
   */
  async #git(
    operation: string,
    args: readonly string[],
    options: RunOptions = {},
    inRepo = true,
  ): Promise<RunResult> {
    const credentials = options.network
      ? await credentialEnv(this.#remote.credentials, this.#tmp)
      : undefined;
    try {
      const exit = await this.#runner({
        args: [
          "-c",
          "core.hooksPath=/dev/null",
          "-c",
          "gc.autoDetach=false",
          ...(inRepo ? ["--git-dir", this.#dir] : []),
          ...args,
        ],
        env: {
          ...this.#baseEnv,
          HOME: this.#tmp,
          LC_ALL: "C",
          LANG: "C",
          GIT_CONFIG_NOSYSTEM: "1",
          GIT_CONFIG_GLOBAL: "/dev/null",
          GIT_TERMINAL_PROMPT: "0",
          // A URL from a custom resource must not reach ext:: or file:: transports.
          GIT_ALLOW_PROTOCOL: "http:https:ssh",
          GIT_LITERAL_PATHSPECS: "1",
          ...options.env,
          ...credentials?.env,
        },
        cwd: this.#tmp,
        input: options.input,
        timeoutMs: this.#timeoutMs,
        signal: eitherSignal(this.#signal, options.signal),
        maxOutputBytes: MAX_OUTPUT_BYTES,
      });
      if (exit.kind === "exited") {
        const stdout = exit.stdout.toString("utf8");
        if ((options.okCodes ?? [0]).includes(exit.code)) {
          return { code: exit.code, stdout, stderr: exit.stderr };
        }
        throw gitErrorFrom({
          operation,
          stderr: exit.stderr,
          exitCode: exit.code,
          secrets: this.#secrets,
        });
      }
      const what = maskSecrets(operation, this.#secrets);
      switch (exit.kind) {
        case "timeout":
          throw new GitError("timeout", `git ${what} timed out after ${this.#timeoutMs} ms`);
        case "aborted": {
          const timedOut = exit.reason instanceof Error && exit.reason.name === "TimeoutError";
          throw new GitError(timedOut ? "timeout" : "failed", `git ${what} was aborted`);
        }
        case "output-too-large":
          throw new GitError("failed", `git ${what} printed more than ${MAX_OUTPUT_BYTES} bytes`);
        case "spawn-failed":
          throw new GitError("failed", `git ${what} could not start: ${exit.error.message}`);
      }
      // The switch covers every kind; a kind added to GitExit later fails the type check here.
      const unhandled: never = exit;
      throw new GitError("failed", `git ${what}: unexpected outcome ${String(unhandled)}`);
    } finally {
      await credentials?.dispose();
    }
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Aborts when either does; undefined when neither is given. */
function eitherSignal(
  a: AbortSignal | undefined,
  b: AbortSignal | undefined,
): AbortSignal | undefined {
  if (!a || !b) return a ?? b;
  return AbortSignal.any([a, b]);
}
