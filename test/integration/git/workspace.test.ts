// GitWorkspace against the test bed's smart-HTTP git server (git http-backend, Basic and Bearer
// auth, a read-only user whose pushes get 403).
import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isGitError, type GitError } from "../../../src/git/errors.ts";
import { setValue } from "../../../src/git/yaml-edit.ts";
import { commitFiles, readFileAt, revParse } from "../../../testbed/src/git-fixtures.ts";
import {
  AUTHOR,
  cacheRoot,
  gitAccess,
  reader,
  recordingRunner,
  seedRepo,
  serverGit,
  writer,
  type CacheRoot,
} from "./helpers.ts";

const RELEASE = `# The shop's database
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: db
spec:
  chart:
    spec:
      chart: postgresql
      version: "15.2.0" # pinned
`;

const git = gitAccess();
let cache: CacheRoot;

beforeAll(async () => {
  cache = await cacheRoot();
});
afterAll(async () => {
  await cache.remove();
});

async function caught(promise: Promise<unknown>): Promise<GitError> {
  try {
    await promise;
  } catch (err) {
    if (isGitError(err)) return err;
    throw err;
  }
  throw new Error("expected a GitError");
}

function bump(content: string, version: string): string {
  const edited = setValue(content, "spec.chart.spec.version", version);
  if (!edited.ok) throw new Error(edited.error.message);
  return edited.content;
}

describe("fetch and readFile", () => {
  it("fetches the branch head and reads files at any fetched commit", async () => {
    const repo = await seedRepo(git, "ws-read", {
      "apps/db/release.yaml": RELEASE,
      "README.md": "shop\n",
    });
    const second = await commitFiles(git.root, repo.name, { "README.md": "shop v2\n" }, "Docs");
    const ws = await cache.open({
      remote: { url: repo.url, branch: "main", credentials: writer(git) },
    });

    expect(await ws.fetch()).toBe(second);
    expect(await ws.readFile(second, "apps/db/release.yaml")).toBe(RELEASE);
    expect(await ws.readFile(second, "README.md")).toBe("shop v2\n");
    expect(await ws.readFile(repo.head, "README.md")).toBe("shop\n");
    expect(await ws.readFile(second, "apps/db/missing.yaml")).toBeUndefined();
    expect((await caught(ws.readFile(second, "apps/db"))).code).toBe("invalid");
    expect((await caught(ws.readFile("0".repeat(40), "README.md"))).code).toBe("not-found");
    expect((await caught(ws.readFile(second, "../etc/passwd"))).code).toBe("invalid");
    expect((await caught(ws.readFile("main", "README.md"))).code).toBe("invalid");
  });

  it("reads anonymously where the server allows reads", async () => {
    const repo = await seedRepo(git, "ws-anon", { "a.txt": "a\n" });
    const ws = await cache.open({
      remote: { url: repo.url, branch: "main", credentials: { kind: "none" } },
    });
    expect(await ws.fetch()).toBe(repo.head);
  });

  it("reuses one cache repository per URL", async () => {
    const repo = await seedRepo(git, "ws-cache", { "a.txt": "a\n" });
    const remote = { url: repo.url, branch: "main", credentials: writer(git) };
    const first = await cache.open({ remote });
    await first.fetch();
    const second = await cache.open({ remote });
    expect(second.dir).toBe(first.dir);
    // Objects fetched by the first are there for the second without a fetch.
    expect(await second.readFile(repo.head, "a.txt")).toBe("a\n");
  });

  it("reports a missing branch, a missing repository and an unreachable server", async () => {
    const repo = await seedRepo(git, "ws-missing", { "a.txt": "a\n" });
    const noBranch = await cache.open({
      remote: { url: repo.url, branch: "nope", credentials: writer(git) },
    });
    expect((await caught(noBranch.fetch())).code).toBe("not-found");
    const noRepo = await cache.open({
      remote: { url: `${git.url}/does-not-exist.git`, branch: "main", credentials: writer(git) },
    });
    expect((await caught(noRepo.fetch())).code).toBe("not-found");
    const noServer = await cache.open({
      remote: { url: "http://127.0.0.1:1/r.git", branch: "main", credentials: writer(git) },
    });
    expect((await caught(noServer.fetch())).code).toBe("network");
  });

  it("refuses URLs it must not use and branch names git would not accept", async () => {
    const remote = { branch: "main", credentials: writer(git) };
    for (const url of ["file:///etc", "ext::sh -c id", "git@github.com:o/r.git"]) {
      expect((await caught(cache.open({ remote: { ...remote, url } }))).code).toBe("invalid");
    }
    const withPassword = await caught(
      cache.open({ remote: { ...remote, url: "https://u:hunter2@example.com/r.git" } }),
    );
    expect(withPassword.code).toBe("invalid");
    expect(withPassword.message).not.toContain("hunter2");
    for (const branch of ["-main", "a..b", "x.lock", "a b"]) {
      const err = await caught(
        cache.open({ remote: { ...remote, url: `${git.url}/r.git`, branch } }),
      );
      expect(err.code).toBe("invalid");
    }
  });

  it("times out on a server that never answers", async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const address = silent.address();
    const port = typeof address === "object" && address ? address.port : 0;
    try {
      const ws = await cache.open({
        remote: { url: `http://127.0.0.1:${port}/r.git`, branch: "main", credentials: writer(git) },
        timeoutMs: 1500,
      });
      const started = Date.now();
      const err = await caught(ws.fetch());
      expect(err.code).toBe("timeout");
      expect(Date.now() - started).toBeLessThan(10_000);
      // A caller's signal ends a call early too.
      const aborted = await caught(ws.fetch({ signal: AbortSignal.timeout(200) }));
      expect(aborted.code).toBe("timeout");
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

describe("commitFile and push", () => {
  it("commits one file without a checkout and pushes it", async () => {
    const repo = await seedRepo(git, "ws-commit", {
      "apps/db/release.yaml": RELEASE,
      "apps/other.yaml": "other: true\n",
    });
    const ws = await cache.open({
      remote: { url: repo.url, branch: "main", credentials: writer(git) },
    });
    const head = await ws.fetch();
    const date = new Date("2025-03-04T05:06:07Z");
    const sha = await ws.commitFile({
      parent: head,
      path: "apps/db/release.yaml",
      content: bump(RELEASE, "15.3.1"),
      message: "Upgrade db to 15.3.1\n\nCairn-Request: shop/upgrade-1 uid-1",
      author: { ...AUTHOR, date },
    });
    expect(await ws.isAncestor(head, sha)).toBe(true);
    expect(await ws.push(sha)).toBe("pushed");

    expect(await revParse(git.root, repo.name)).toBe(sha);
    expect(await readFileAt(git.root, repo.name, "apps/db/release.yaml")).toBe(
      bump(RELEASE, "15.3.1"),
    );
    expect(await serverGit(git, repo.name, ["diff", "--name-only", head, sha])).toBe(
      "apps/db/release.yaml\n",
    );
    expect(
      await serverGit(git, repo.name, ["log", "-1", "--format=%P|%an|%ae|%cn|%ce|%at|%ct", sha]),
    ).toBe(
      `${head}|Cairn|cairn@cairn.invalid|Cairn|cairn@cairn.invalid|${date.getTime() / 1000}|${date.getTime() / 1000}\n`,
    );
    const diff = await ws.diffFile(head, sha, "apps/db/release.yaml");
    expect(diff).toContain('-      version: "15.2.0" # pinned');
    expect(diff).toContain('+      version: "15.3.1" # pinned');
    expect(await ws.diffFile(head, sha, "apps/other.yaml")).toBe("");
    // Pushing the same commit again changes nothing and still succeeds.
    expect(await ws.push(sha)).toBe("pushed");
  });

  it("adds a new file, and refuses a commit that changes nothing", async () => {
    const repo = await seedRepo(git, "ws-new-file", { "a.txt": "a\n" });
    const ws = await cache.open({
      remote: { url: repo.url, branch: "main", credentials: writer(git) },
    });
    const head = await ws.fetch();
    const sha = await ws.commitFile({
      parent: head,
      path: "deep/new/file.yaml",
      content: "x: 1\n",
      message: "Add",
      author: AUTHOR,
    });
    expect(await ws.readFile(sha, "deep/new/file.yaml")).toBe("x: 1\n");
    expect(await ws.readFile(sha, "a.txt")).toBe("a\n");
    const same = await caught(
      ws.commitFile({
        parent: head,
        path: "a.txt",
        content: "a\n",
        message: "Noop",
        author: AUTHOR,
      }),
    );
    expect(same.code).toBe("invalid");
  });

  it("reports non-fast-forward when someone pushed first, and succeeds after a refetch", async () => {
    const repo = await seedRepo(git, "ws-nff", { "apps/db/release.yaml": RELEASE, "b.txt": "b\n" });
    const ws = await cache.open({
      remote: { url: repo.url, branch: "main", credentials: writer(git) },
    });
    const head = await ws.fetch();
    const ours = await ws.commitFile({
      parent: head,
      path: "apps/db/release.yaml",
      content: bump(RELEASE, "15.3.1"),
      message: "Upgrade",
      author: AUTHOR,
    });
    const theirs = await commitFiles(
      git.root,
      repo.name,
      { "b.txt": "someone else\n" },
      "Other change",
    );

    expect(await ws.push(ours)).toBe("non-fast-forward");
    expect(await revParse(git.root, repo.name)).toBe(theirs);

    const newHead = await ws.fetch();
    expect(newHead).toBe(theirs);
    const redo = await ws.commitFile({
      parent: newHead,
      path: "apps/db/release.yaml",
      content: bump(RELEASE, "15.3.1"),
      message: "Upgrade",
      author: AUTHOR,
    });
    expect(await ws.push(redo)).toBe("pushed");
    expect(await readFileAt(git.root, repo.name, "b.txt")).toBe("someone else\n");
  });

  it("a push held against an expected head is refused once the branch moved, even as a fast-forward", async () => {
    const repo = await seedRepo(git, "ws-lease", {
      "apps/db/release.yaml": RELEASE,
      "b.txt": "b\n",
    });
    const ws = await cache.open({
      remote: { url: repo.url, branch: "main", credentials: writer(git) },
    });
    const seed = await ws.fetch();
    expect(await ws.hasCommit(seed)).toBe(true);
    const theirs = await commitFiles(git.root, repo.name, { "b.txt": "later\n" }, "Other change");
    expect(await ws.hasCommit(theirs)).toBe(false);
    expect(await ws.fetch()).toBe(theirs);
    const ours = await ws.commitFile({
      parent: theirs,
      path: "apps/db/release.yaml",
      content: bump(RELEASE, "15.3.1"),
      message: "Upgrade",
      author: AUTHOR,
    });
    // A child of the branch's head, but the push expects the seed: refused, nothing written.
    expect(await ws.push(ours, { expect: seed })).toBe("non-fast-forward");
    expect(await revParse(git.root, repo.name)).toBe(theirs);
    expect(await ws.push(ours, { expect: theirs })).toBe("pushed");
    expect(await revParse(git.root, repo.name)).toBe(ours);
  });

  it("pushes with a bearer token", async () => {
    const repo = await seedRepo(git, "ws-bearer", { "a.txt": "a\n" });
    const ws = await cache.open({
      remote: { url: repo.url, branch: "main", credentials: { kind: "bearer", token: git.token } },
    });
    const sha = await ws.commitFile({
      parent: await ws.fetch(),
      path: "a.txt",
      content: "b\n",
      message: "Token push",
      author: AUTHOR,
    });
    await ws.canPush();
    expect(await ws.push(sha)).toBe("pushed");
    expect(await revParse(git.root, repo.name)).toBe(sha);
  });

  it("fails pushes of the read-only user and of a wrong password with typed errors", async () => {
    const repo = await seedRepo(git, "ws-denied", { "a.txt": "a\n" });
    const ro = await cache.open({
      remote: { url: repo.url, branch: "main", credentials: reader(git) },
    });
    const sha = await ro.commitFile({
      parent: await ro.fetch(),
      path: "a.txt",
      content: "b\n",
      message: "Denied",
      author: AUTHOR,
    });
    expect((await caught(ro.push(sha))).code).toBe("forbidden");
    const wrong = await cache.open({
      remote: {
        url: repo.url,
        branch: "main",
        credentials: { kind: "basic", username: git.username, password: "wrong" },
      },
    });
    expect((await caught(wrong.push(sha))).code).toBe("auth");
    const anonymous = await cache.open({
      remote: { url: repo.url, branch: "main", credentials: { kind: "none" } },
    });
    expect((await caught(anonymous.push(sha))).code).toBe("auth");
    expect(await revParse(git.root, repo.name)).toBe(repo.head);
  });
});

describe("canPush", () => {
  it("passes for the writer and changes nothing", async () => {
    const repo = await seedRepo(git, "ws-canpush", { "a.txt": "a\n" });
    const ws = await cache.open({
      remote: { url: repo.url, branch: "main", credentials: writer(git) },
    });
    await expect(ws.canPush()).resolves.toBeUndefined();
    expect(await revParse(git.root, repo.name)).toBe(repo.head);
    expect(await serverGit(git, repo.name, ["for-each-ref", "--format=%(refname)"])).toBe(
      "refs/heads/main\n",
    );
  });

  it("skips its own fetch when given the head a fetch just returned", async () => {
    const repo = await seedRepo(git, "ws-canpush-head", { "a.txt": "a\n" });
    const { runner, commands } = recordingRunner();
    const ws = await cache.open({
      remote: { url: repo.url, branch: "main", credentials: writer(git) },
      runner,
    });
    const head = await ws.fetch();
    commands.length = 0;
    await expect(ws.canPush({ head })).resolves.toBeUndefined();
    const verbs = commands.map((c) => c.args.find((a) => a === "fetch" || a === "push"));
    expect(verbs).toEqual(["push"]);
    expect((await caught(ws.canPush({ head: "main" }))).code).toBe("invalid");
    expect(await revParse(git.root, repo.name)).toBe(repo.head);
  });

  it("fails with forbidden for the read-only user and with auth for a wrong password", async () => {
    const repo = await seedRepo(git, "ws-canpush-ro", { "a.txt": "a\n" });
    const ro = await cache.open({
      remote: { url: repo.url, branch: "main", credentials: reader(git) },
    });
    const denied = await caught(ro.canPush());
    expect(denied.code).toBe("forbidden");
    const wrong = await cache.open({
      remote: {
        url: repo.url,
        branch: "main",
        credentials: { kind: "basic", username: git.username, password: "nope" },
      },
    });
    expect((await caught(wrong.canPush())).code).toBe("auth");
  });
});

describe("history", () => {
  it("finds the newest commit carrying an exact trailer line", async () => {
    const repo = await seedRepo(git, "ws-trailer", { "v.txt": "1\n" });
    const ws = await cache.open({
      remote: { url: repo.url, branch: "main", credentials: writer(git) },
    });
    let parent = await ws.fetch();
    const commit = async (content: string, message: string) => {
      parent = await ws.commitFile({ parent, path: "v.txt", content, message, author: AUTHOR });
      return parent;
    };
    const trailer = "Cairn-Request: shop/upgrade-1 uid-1";
    const ours = await commit("2\n", `Upgrade to 2\n\n${trailer}`);
    const mention = await commit(
      "3\n",
      `Quote\n\n${trailer}\nwas quoted in this paragraph, which is body text.\n\nSigned-off-by: A <a@b.invalid>`,
    );
    const other = await commit("4\n", "Upgrade to 4\n\nCairn-Request: shop/upgrade-1 uid-2");
    const later = await commit("5\n", "Unrelated");

    expect(await ws.findCommitWithTrailer({ from: later, trailer })).toBe(ours);
    expect(
      await ws.findCommitWithTrailer({
        from: later,
        trailer: "Cairn-Request: shop/upgrade-1 uid-2",
      }),
    ).toBe(other);
    expect(
      await ws.findCommitWithTrailer({
        from: mention,
        trailer: "Cairn-Request: shop/upgrade-1 uid",
      }),
    ).toBe(undefined);
    expect(await ws.findCommitWithTrailer({ from: later, trailer, maxCount: 3 })).toBeUndefined();
    expect(await ws.findCommitWithTrailer({ from: repo.head, trailer })).toBeUndefined();
  });

  it("answers ancestry", async () => {
    const repo = await seedRepo(git, "ws-ancestry", { "a.txt": "a\n" });
    const ws = await cache.open({
      remote: { url: repo.url, branch: "main", credentials: writer(git) },
    });
    const head = await ws.fetch();
    const child = await ws.commitFile({
      parent: head,
      path: "a.txt",
      content: "b\n",
      message: "b",
      author: AUTHOR,
    });
    const sibling = await ws.commitFile({
      parent: head,
      path: "a.txt",
      content: "c\n",
      message: "c",
      author: AUTHOR,
    });
    expect(await ws.isAncestor(head, child)).toBe(true);
    expect(await ws.isAncestor(child, child)).toBe(true);
    expect(await ws.isAncestor(child, head)).toBe(false);
    expect(await ws.isAncestor(child, sibling)).toBe(false);
    expect((await caught(ws.isAncestor("1".repeat(40), child))).code).toBe("not-found");
  });
});

describe("revert", () => {
  const values = (version: string, replicas: number) =>
    `image:\n  tag: "${version}"\n# a comment between\nreplicas: ${replicas}\n`;

  it("reverts a commit below later, unrelated changes", async () => {
    const repo = await seedRepo(git, "ws-revert", {
      "values.yaml": values("1.0.0", 1),
      "b.txt": "b\n",
    });
    const ws = await cache.open({
      remote: { url: repo.url, branch: "main", credentials: writer(git) },
    });
    const base = await ws.fetch();
    const upgrade = await ws.commitFile({
      parent: base,
      path: "values.yaml",
      content: values("2.0.0", 1),
      message: "Upgrade",
      author: AUTHOR,
    });
    // Later work touches the same file elsewhere, and another file.
    const scale = await ws.commitFile({
      parent: upgrade,
      path: "values.yaml",
      content: values("2.0.0", 3),
      message: "Scale",
      author: AUTHOR,
    });
    const later = await ws.commitFile({
      parent: scale,
      path: "b.txt",
      content: "b2\n",
      message: "b",
      author: AUTHOR,
    });

    const result = await ws.revert({
      commit: upgrade,
      onto: later,
      message: `Revert "Upgrade"\n\nThis reverts commit ${upgrade}.`,
      author: AUTHOR,
    });
    if (result.kind !== "reverted") throw new Error(`expected a revert, got ${result.kind}`);
    expect(await ws.readFile(result.sha, "values.yaml")).toBe(values("1.0.0", 3));
    expect(await ws.readFile(result.sha, "b.txt")).toBe("b2\n");
    expect(await ws.isAncestor(later, result.sha)).toBe(true);
    expect(await ws.diffFile(later, result.sha, "b.txt")).toBe("");
    expect(await ws.push(result.sha)).toBe("pushed");
    expect(await serverGit(git, repo.name, ["log", "-1", "--format=%P%n%B", result.sha])).toBe(
      `${later}\nRevert "Upgrade"\n\nThis reverts commit ${upgrade}.\n\n`,
    );

    // Reverting again changes nothing.
    expect(
      await ws.revert({ commit: upgrade, onto: result.sha, message: "again", author: AUTHOR }),
    ).toEqual({ kind: "already-reverted" });
  });

  it("reports the conflicting paths when later commits changed the same lines", async () => {
    const repo = await seedRepo(git, "ws-revert-conflict", { "values.yaml": values("1.0.0", 1) });
    const ws = await cache.open({
      remote: { url: repo.url, branch: "main", credentials: writer(git) },
    });
    const base = await ws.fetch();
    const upgrade = await ws.commitFile({
      parent: base,
      path: "values.yaml",
      content: values("2.0.0", 1),
      message: "Upgrade",
      author: AUTHOR,
    });
    const next = await ws.commitFile({
      parent: upgrade,
      path: "values.yaml",
      content: values("3.0.0", 1),
      message: "Upgrade again",
      author: AUTHOR,
    });
    expect(
      await ws.revert({ commit: upgrade, onto: next, message: "Revert", author: AUTHOR }),
    ).toEqual({
      kind: "conflict",
      paths: ["values.yaml"],
    });
    // Nothing was pushed or moved.
    expect(await revParse(git.root, repo.name)).toBe(repo.head);
  });

  it("reverts the first commit of a repository", async () => {
    const repo = await seedRepo(git, "ws-revert-root", { "a.txt": "a\n" });
    const ws = await cache.open({
      remote: { url: repo.url, branch: "main", credentials: writer(git) },
    });
    const head = await ws.fetch();
    const next = await ws.commitFile({
      parent: head,
      path: "b.txt",
      content: "b\n",
      message: "b",
      author: AUTHOR,
    });
    const result = await ws.revert({
      commit: head,
      onto: next,
      message: "Revert seed",
      author: AUTHOR,
    });
    if (result.kind !== "reverted") throw new Error(result.kind);
    expect(await ws.readFile(result.sha, "a.txt")).toBeUndefined();
    expect(await ws.readFile(result.sha, "b.txt")).toBe("b\n");
  });
});

describe("concurrency", () => {
  it("keeps the cache consistent under concurrent operations", async () => {
    const repo = await seedRepo(git, "ws-concurrent", { "a.txt": "0\n" });
    const ws = await cache.open({
      remote: { url: repo.url, branch: "main", credentials: writer(git) },
    });
    const head = await ws.fetch();
    const work = Array.from({ length: 8 }, (_, i) =>
      Promise.all([
        ws.fetch(),
        ws.commitFile({
          parent: head,
          path: "a.txt",
          content: `${i + 1}\n`,
          message: `c${i}`,
          author: AUTHOR,
        }),
        ws.readFile(head, "a.txt"),
      ]),
    );
    const results = await Promise.all(work);
    for (const [i, [fetched, sha, read]] of results.entries()) {
      expect(fetched).toBe(head);
      expect(read).toBe("0\n");
      expect(await ws.readFile(sha, "a.txt")).toBe(`${i + 1}\n`);
    }
    // The commits differ only in content; all are distinct and intact.
    expect(new Set(results.map((r) => r[1])).size).toBe(8);
  });
});

describe("credentials stay secret", () => {
  it("never puts a password or token in argv, and never in an error message", async () => {
    const repo = await seedRepo(git, "ws-secret", { "a.txt": "a\n" });
    const basic = Buffer.from(`${git.username}:${git.password}`).toString("base64");
    const secrets = [git.password, git.token, basic, git.readOnlyPassword];
    const recorded = recordingRunner();
    const open = (
      credentials: Parameters<typeof cache.open>[0]["remote"]["credentials"],
      url = repo.url,
    ) => cache.open({ remote: { url, branch: "main", credentials }, runner: recorded.runner });

    const ws = await open(writer(git));
    const sha = await ws.commitFile({
      parent: await ws.fetch(),
      path: "a.txt",
      content: "b\n",
      message: "x",
      author: AUTHOR,
    });
    await ws.canPush();
    expect(await ws.push(sha)).toBe("pushed");
    await (await open({ kind: "bearer", token: git.token })).canPush();

    const errors: GitError[] = [];
    errors.push(await caught((await open(reader(git))).canPush()));
    errors.push(
      await caught(
        (
          await open({ kind: "basic", username: git.username, password: `${git.password}x` })
        ).fetch(),
      ),
    );
    errors.push(await caught((await open(writer(git), `${git.url}/missing.git`)).fetch()));
    errors.push(
      await caught(
        (await open({ kind: "bearer", token: git.token }, "http://127.0.0.1:1/r.git")).fetch(),
      ),
    );
    expect(errors.map((e) => e.code)).toEqual(["forbidden", "auth", "not-found", "network"]);

    expect(recorded.commands.length).toBeGreaterThan(10);
    for (const command of recorded.commands) {
      const argv = command.args.join(" ");
      for (const secret of secrets) expect(argv).not.toContain(secret);
      // Credentials travel only in the one config variable, and only to calls that need them.
      for (const [name, value] of Object.entries(command.env)) {
        if (name === "GIT_CONFIG_VALUE_0") continue;
        for (const secret of secrets) expect(value).not.toContain(secret);
      }
    }
    const network = recorded.commands.filter((c) =>
      ["fetch", "push"].some((op) => c.args.includes(op)),
    );
    const local = recorded.commands.filter((c) => !network.includes(c));
    expect(
      network.every((c) => c.env["GIT_CONFIG_VALUE_0"]?.startsWith("Authorization: ") ?? false),
    ).toBe(true);
    expect(local.every((c) => c.env["GIT_CONFIG_VALUE_0"] === undefined)).toBe(true);
    for (const err of errors) {
      for (const secret of secrets) expect(err.message).not.toContain(secret);
    }
  });
});
