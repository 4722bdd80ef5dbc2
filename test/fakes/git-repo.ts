// An in-memory Git remote and workspace for step handlers: the subset of GitWorkspace they call
// (fetch, readFile, commitFile, push, findCommitWithTrailer, isAncestor), with a branch head that
// another writer can move and pushes that fast-forward or are refused. Faults: the next call of
// a method throws.
import { createHash } from "node:crypto";
import type { OpenedRepo } from "../../src/controllers/request/git-access.ts";
import type { GitWorkspace } from "../../src/git/workspace.ts";

interface Commit {
  readonly parent: string | undefined;
  readonly files: ReadonlyMap<string, string>;
  readonly message: string;
}

type Method = "fetch" | "readFile" | "commitFile" | "push" | "findCommitWithTrailer";

export class FakeGitRepo {
  readonly #commits = new Map<string, Commit>();
  #head: string;
  readonly #faults = new Map<Method, Error>();
  readonly pushes: string[] = [];

  constructor(files: Record<string, string>) {
    this.#head = this.#add({
      parent: undefined,
      files: new Map(Object.entries(files)),
      message: "init",
    });
  }

  get head(): string {
    return this.#head;
  }

  /** Another writer commits on the branch. */
  commitByOther(path: string, content: string, message = "someone else"): string {
    const files = new Map(this.#commits.get(this.#head)?.files);
    files.set(path, content);
    this.#head = this.#add({ parent: this.#head, files, message });
    return this.#head;
  }

  failNext(method: Method, error: Error): void {
    this.#faults.set(method, error);
  }

  /** As OpenedRepo, for a StepDeps.repoFor. */
  opened(): OpenedRepo {
    return {
      ws: this as unknown as GitWorkspace,
      url: "https://git.example/app.git",
      branch: "main",
      gitRepository: { namespace: "shop", name: "repo" },
      branchField: "GitRepository shop/repo spec.ref.branch",
    };
  }

  fetch(): Promise<string> {
    return this.#call("fetch", () => this.#head);
  }

  readFile(commit: string, path: string): Promise<string | undefined> {
    return this.#call("readFile", () => this.#commits.get(commit)?.files.get(path));
  }

  commitFile(o: {
    parent: string;
    path: string;
    content: string;
    message: string;
  }): Promise<string> {
    return this.#call("commitFile", () => {
      const files = new Map(this.#commits.get(o.parent)?.files);
      files.set(o.path, o.content);
      return this.#add({ parent: o.parent, files, message: o.message });
    });
  }

  push(commit: string): Promise<"pushed" | "non-fast-forward"> {
    return this.#call("push", () => {
      if (this.#commits.get(commit)?.parent !== this.#head) return "non-fast-forward";
      this.#head = commit;
      this.pushes.push(commit);
      return "pushed";
    });
  }

  /** Pushes, then fails as a connection dropped after the server took the push would. */
  pushThenFail(error: Error): void {
    const push = this.push.bind(this);
    this.push = async (commit: string) => {
      this.push = push;
      await push(commit);
      throw error;
    };
  }

  findCommitWithTrailer(o: { from: string; trailer: string }): Promise<string | undefined> {
    return this.#call("findCommitWithTrailer", () => {
      for (let sha: string | undefined = o.from; sha; sha = this.#commits.get(sha)?.parent)
        if (this.#commits.get(sha)?.message.includes(o.trailer)) return sha;
      return undefined;
    });
  }

  isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    for (let sha: string | undefined = descendant; sha; sha = this.#commits.get(sha)?.parent)
      if (sha === ancestor) return Promise.resolve(true);
    return Promise.resolve(false);
  }

  #add(commit: Commit): string {
    const sha = createHash("sha1")
      .update(
        JSON.stringify([commit.parent, [...commit.files], commit.message, this.#commits.size]),
      )
      .digest("hex");
    this.#commits.set(sha, commit);
    return sha;
  }

  async #call<T>(method: Method, fn: () => T): Promise<T> {
    await Promise.resolve();
    const fault = this.#faults.get(method);
    if (fault) {
      this.#faults.delete(method);
      throw fault;
    }
    return fn();
  }
}
