// Undoing the upgrade's Git change. A real `git revert` of the upgrade's commit when it applies
// cleanly; when later commits changed the same lines, the previous value written as a new commit
// (commitChange, direction "back"); when the branch already holds the previous value, the head
// adopted. Idempotent: our earlier revert is found by the rollback's trailer before anything new
// is made, and a push that loses a race is redone on the new head, a bounded number of times.
import type { PlanGit } from "../../api/index.ts";
import { isGitError } from "../../git/errors.ts";
import type { GitAuthor, GitWorkspace } from "../../git/workspace.ts";
import { lineDiff, readValue } from "../../git/yaml-edit.ts";
import {
  commitChange,
  editContent,
  fileState,
  IMAGES_VERSION_PATH,
} from "../request/git-change.ts";
import type { RevertProbe } from "./plan.ts";

const MAX_PUSH_ATTEMPTS = 5;

export interface RevertInput {
  readonly ws: GitWorkspace;
  /** The upgrade's Git facts (as the upgrade planned them: from → to). */
  readonly upgradeGit: PlanGit;
  /** The upgrade's commit. */
  readonly commit: string;
  /** The upgrade's trailer: its commit carries it when Cairn made it for that upgrade. */
  readonly upgradeTrailer: string;
  /** This rollback's trailer. */
  readonly trailer: string;
  /** Commit messages without the trailer, which is added to both. */
  readonly messages: { readonly revert: string; readonly fallback: string };
  readonly author: GitAuthor;
}

export type ProbeInput = Omit<RevertInput, "trailer">;

export type RevertResult =
  | { readonly kind: "reverted"; readonly sha: string }
  /** `why`: the reason a plain revert could not be used. */
  | { readonly kind: "committed"; readonly sha: string; readonly why: string }
  | { readonly kind: "adopted"; readonly sha: string; readonly ours: boolean }
  | { readonly kind: "changed"; readonly head: string; readonly value: string | undefined };

/** The value at the version path, for messages; undefined when it cannot be read. */
export function valueAt(content: string | undefined, git: PlanGit): string | undefined {
  if (content === undefined || git.versionPath === IMAGES_VERSION_PATH) return undefined;
  const v = readValue(content, git.versionPath);
  return v.ok ? v.value : undefined;
}

/**
 * Whether a plain revert is safe: the commit was made by Cairn for this upgrade (its trailer says
 * so), so it changes nothing but the version. A commit the upgrade adopted may hold more.
 */
async function madeForUpgrade(input: ProbeInput): Promise<boolean> {
  try {
    const found = await input.ws.findCommitWithTrailer({
      from: input.commit,
      trailer: input.upgradeTrailer,
      maxCount: 1,
    });
    return found === input.commit;
  } catch (err) {
    // The commit left the branch's history (rewritten): the value-level fallback still works.
    if (isGitError(err, "not-found")) return false;
    throw err;
  }
}

/** Tries `git revert` of the commit onto head, without pushing; the trailer ends the message. */
async function tryRevert(
  input: ProbeInput & { readonly trailer?: string },
  head: string,
): Promise<{ sha: string } | { why: string }> {
  if (!(await madeForUpgrade(input)))
    return {
      why: `commit ${input.commit.slice(0, 12)} was not made by Cairn for the upgrade (it was adopted), so reverting it could undo more than the version`,
    };
  const result = await input.ws.revert({
    commit: input.commit,
    onto: head,
    message: input.trailer
      ? `${input.messages.revert}\n\n${input.trailer}\n`
      : input.messages.revert,
    author: input.author,
  });
  switch (result.kind) {
    case "reverted":
      return { sha: result.sha };
    case "conflict":
      return {
        why: `git revert of ${input.commit.slice(0, 12)} conflicts with later commits in ${result.paths.join(", ")}`,
      };
    case "already-reverted":
      return { why: `the branch no longer contains the change of ${input.commit.slice(0, 12)}` };
  }
}

export async function revertUpgrade(input: RevertInput): Promise<RevertResult> {
  const { ws, upgradeGit } = input;
  for (let attempt = 1; ; attempt++) {
    const head = await ws.fetch();
    const ours = await ws.findCommitWithTrailer({ from: head, trailer: input.trailer });
    if (ours) return { kind: "adopted", sha: ours, ours: true };
    const content = await ws.readFile(head, upgradeGit.path);
    const state = fileState(content, upgradeGit, "back");
    if (state === "to") return { kind: "adopted", sha: head, ours: false };
    if (state === "other") return { kind: "changed", head, value: valueAt(content, upgradeGit) };
    const tried = await tryRevert(input, head);
    if ("why" in tried) {
      // commitChange re-reads the head itself and writes the previous value with our trailer.
      const change = await commitChange({
        ws,
        git: upgradeGit,
        direction: "back",
        trailer: input.trailer,
        message: `${input.messages.fallback}\n\n${tried.why}.`,
        author: input.author,
      });
      switch (change.kind) {
        case "committed":
          return { kind: "committed", sha: change.sha, why: tried.why };
        case "adopted":
          return { kind: "adopted", sha: change.sha, ours: change.ours };
        case "changed": {
          const now = await ws.readFile(change.head, upgradeGit.path);
          return { kind: "changed", head: change.head, value: valueAt(now, upgradeGit) };
        }
      }
    }
    if ((await ws.push(tried.sha)) === "pushed") return { kind: "reverted", sha: tried.sha };
    if (attempt >= MAX_PUSH_ATTEMPTS)
      throw new Error(`push of the revert lost the race ${MAX_PUSH_ATTEMPTS} times; will retry`);
  }
}

/**
 * What the revert would do on the current head, without pushing anything (for the plan and dry
 * runs). `git revert` onto the head only creates a commit object nothing refers to.
 */
export async function probeRevert(input: ProbeInput, head: string): Promise<RevertProbe> {
  const { ws, upgradeGit } = input;
  const content = await ws.readFile(head, upgradeGit.path);
  if (content === undefined) return { kind: "missing-file" };
  const state = fileState(content, upgradeGit, "back");
  if (state === "to") return { kind: "adopt", head };
  if (state === "other") return { kind: "changed", value: valueAt(content, upgradeGit) };
  const tried = await tryRevert(input, head);
  if ("sha" in tried) {
    const after = (await ws.readFile(tried.sha, upgradeGit.path)) ?? "";
    return { kind: "revert", diff: lineDiff(content, after) };
  }
  return {
    kind: "fallback",
    why: tried.why,
    diff: lineDiff(content, editContent(content, upgradeGit, "back")),
  };
}
