// Sharing Git workspaces across the whole process: the ManagedApp controller's version reader and
// both request controllers open the same remotes, and must queue on one workspace per remote.
import { createHash } from "node:crypto";
import { GitWorkspace, type GitRemote } from "./workspace.ts";

/**
 * One GitWorkspace per remote and credential: a workspace serializes its own operations, while
 * two objects over one cache folder would only have git's lock files between them.
 */
export class WorkspacePool {
  readonly #workspaces = new Map<string, Promise<GitWorkspace>>();
  readonly #signal: AbortSignal | undefined;

  /** `signal`: kills every git process of every workspace when it aborts (see OpenOptions). */
  constructor(opts: { readonly signal?: AbortSignal | undefined } = {}) {
    this.#signal = opts.signal;
  }

  open(root: string, remote: GitRemote): Promise<GitWorkspace> {
    const key = createHash("sha256")
      .update(JSON.stringify([root, remote.url, remote.branch, remote.credentials]))
      .digest("hex");
    let ws = this.#workspaces.get(key);
    if (!ws) {
      ws = GitWorkspace.open({ root, remote, signal: this.#signal });
      // A failed open is not cached: the next attempt may find the server back.
      ws.catch(() => this.#workspaces.delete(key));
      this.#workspaces.set(key, ws);
    }
    return ws;
  }
}
