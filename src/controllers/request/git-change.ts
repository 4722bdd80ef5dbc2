// The one Git change a request makes: set the version (or image tags) in one file from the
// planned value to the target, as one commit carrying the request's trailer, pushed without
// force. Idempotent (docs/architecture.md, "Idempotency"): a branch that already holds the
// target is adopted, and a push that loses a race is redone on the new head, a bounded number
// of times.
import type { PlanGit } from "../../api/index.ts";
import { isGitError } from "../../git/errors.ts";
import {
  currentTag,
  readImageTags,
  readValue,
  setImageTag,
  setValue,
} from "../../git/yaml-edit.ts";
import type { GitWorkspace } from "../../git/workspace.ts";
import type { StepResult } from "./result.ts";

export const IMAGES_VERSION_PATH = "images";
const MAX_PUSH_ATTEMPTS = 5;

export function trailerOf(namespace: string, name: string, uid: string): string {
  return `Cairn-Request: ${namespace}/${name} ${uid}`;
}

/** Where the file stands: at the planned value, at the target, or somewhere else. */
export type FileState = "from" | "to" | "other";

/** Pure: reads the planned value(s) in the file's content. */
export function fileState(
  content: string | undefined,
  git: PlanGit,
  direction: "forward" | "back",
): FileState {
  if (content === undefined) return "other";
  const want = (image: { from: string; to: string }) =>
    direction === "forward" ? image : { from: image.to, to: image.from };
  if (git.versionPath === IMAGES_VERSION_PATH && git.images) {
    const states = git.images.map((image) => {
      const tags = readImageTags(content, image.name);
      if (!tags.ok) return "other" as const;
      const w = want(image);
      // An untagged container reference runs `latest`, as the plan recorded it.
      const found = [...new Set(tags.occurrences.map((o) => currentTag(o) ?? ""))];
      const joined = found.join(",");
      if (found.every((t) => t === w.to)) return "to" as const;
      return joined === w.from ? ("from" as const) : ("other" as const);
    });
    if (states.every((s) => s === "to")) return "to";
    if (states.every((s) => s === "from" || s === "to") && states.includes("from")) return "from";
    return "other";
  }
  const value = readValue(content, git.versionPath);
  if (!value.ok) return "other";
  const w = want(git);
  if (value.value === w.to) return "to";
  if (value.value === w.from) return "from";
  return "other";
}

/** Pure: the file's content with the change applied. */
export function editContent(content: string, git: PlanGit, direction: "forward" | "back"): string {
  if (git.versionPath === IMAGES_VERSION_PATH && git.images) {
    let edited = content;
    for (const image of git.images) {
      const tag = direction === "forward" ? image.to : (image.from.split(",")[0] ?? image.from);
      const set = setImageTag(edited, image.name, tag);
      if (!set.ok) throw new Error(`${git.path}: image ${image.name}: ${set.error.message}`);
      edited = set.content;
    }
    return edited;
  }
  const set = setValue(content, git.versionPath, direction === "forward" ? git.to : git.from);
  if (!set.ok) throw new Error(`${git.path} ${git.versionPath}: ${set.error.message}`);
  return set.content;
}

export type ChangeResult =
  | { readonly kind: "committed"; readonly sha: string }
  /** The branch already held the target: ours from an earlier attempt, or someone else's. */
  | { readonly kind: "adopted"; readonly sha: string; readonly ours: boolean }
  /** The file holds neither the planned value nor the target: Git changed since the plan. */
  | { readonly kind: "changed"; readonly head: string };

export interface ChangeInput {
  readonly ws: GitWorkspace;
  readonly git: PlanGit;
  readonly direction: "forward" | "back";
  readonly trailer: string;
  readonly message: string;
  readonly author: { readonly name: string; readonly email: string };
}

export async function commitChange(input: ChangeInput): Promise<ChangeResult> {
  const { ws, git } = input;
  for (let attempt = 1; ; attempt++) {
    // The first attempt builds on the head the plan read, without a fetch, when the cache still
    // holds it and the file there is at the planned value: its push is held against that head
    // (`expect`), so a branch that moved since (someone's commit, ours from an attempt a crash
    // cut short) refuses it, and the next attempt fetches and looks again.
    const planned = attempt === 1 ? await plannedHead(ws, git, input.direction) : undefined;
    const head = planned?.head ?? (await ws.fetch());
    const content = planned ? planned.content : await ws.readFile(head, git.path);
    const state = fileState(content, git, input.direction);
    if (state === "to") {
      const ours = await ws.findCommitWithTrailer({ from: head, trailer: input.trailer });
      return { kind: "adopted", sha: ours ?? head, ours: ours !== undefined };
    }
    if (state === "other" || content === undefined) return { kind: "changed", head };
    const sha = await ws.commitFile({
      parent: head,
      path: git.path,
      content: editContent(content, git, input.direction),
      message: `${input.message}\n\n${input.trailer}\n`,
      author: input.author,
    });
    const pushed = await ws.push(sha, planned ? { expect: planned.head } : {});
    if (pushed === "pushed") return { kind: "committed", sha };
    if (attempt >= MAX_PUSH_ATTEMPTS)
      throw new Error(`push of ${git.path} lost the race ${MAX_PUSH_ATTEMPTS} times; will retry`);
  }
}

/** The plan's head and the file there, when the cache holds it at the planned value. */
async function plannedHead(
  ws: GitWorkspace,
  git: PlanGit,
  direction: "forward" | "back",
): Promise<{ head: string; content: string } | undefined> {
  const head = git.baseCommit;
  if (head === undefined || !(await ws.hasCommit(head))) return undefined;
  const content = await ws.readFile(head, git.path);
  return content !== undefined && fileState(content, git, direction) === "from"
    ? { head, content }
    : undefined;
}

/** A branch that already holds the target: this request's earlier commit, or someone else's. */
export function adoptedCommit(result: { sha: string; ours: boolean }, to: string): StepResult {
  return {
    kind: "succeeded",
    message: result.ours
      ? `adopted this request's earlier commit ${result.sha.slice(0, 12)}`
      : `the branch already holds ${to}; adopted ${result.sha.slice(0, 12)} (not made by Cairn)`,
    facts: { commit: { sha: result.sha, adopted: true } },
  };
}

/** A push the server refused for good (credentials, permissions, a rejected ref); else undefined. */
export function pushRefused(err: unknown, branch: string): StepResult | undefined {
  if (isGitError(err, "auth") || isGitError(err, "forbidden") || isGitError(err, "invalid"))
    return {
      kind: "failed",
      reason: "PushRejected",
      message: `push to ${branch} refused: ${err.message}`,
    };
  return undefined;
}
