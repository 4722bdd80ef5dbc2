// The git server against the real git CLI over real HTTP on 127.0.0.1. Every client call runs
// without the user's git config, credential helpers or prompts, so a missing or wrong credential
// fails the command instead of hanging on a terminal.
import { execFile } from "node:child_process";
import { request } from "node:http";
import { access, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commitFiles, createBareRepo, readFileAt, revParse } from "../../src/git-fixtures.ts";
import {
  ANONYMOUS_PUSHER,
  decide,
  DROP_PUSH_FILE,
  identify,
  parseCgiHead,
  receivePackRepo,
  startGitServer,
  TOKEN_USER,
  type GitServer,
} from "../../src/git-server.ts";

const SEED = fileURLToPath(new URL("../../fixtures/repos/demo-app", import.meta.url));
const WRITER = { username: "cairn", password: "s3cret-pass" };
const VIEWER = { username: "viewer", password: "view-pass" };
const TOKEN = "tok-0123456789";
const READ_ONLY_TOKEN = "tok-readonly";
const SECRETS = [WRITER.password, VIEWER.password, TOKEN, READ_ONLY_TOKEN];

interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

let tmp: string;
let root: string;
let server: GitServer;
let readOnlyServer: GitServer;
let privateServer: GitServer;
let openServer: GitServer;
const logLines: string[] = [];
let seq = 0;

function clientEnv(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: join(tmp, "home"),
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_TERMINAL_PROMPT: "0",
    GIT_ASKPASS: "true",
    GIT_AUTHOR_NAME: "Test Client",
    GIT_AUTHOR_EMAIL: "client@cairn.invalid",
    GIT_COMMITTER_NAME: "Test Client",
    GIT_COMMITTER_EMAIL: "client@cairn.invalid",
  };
}

/** Runs the git CLI as a client; resolves with the exit code instead of throwing. */
function git(args: readonly string[], cwd?: string): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      "git",
      ["-c", "credential.helper=", ...args],
      { cwd, env: clientEnv(), timeout: 20_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

async function mustGit(args: readonly string[], cwd?: string): Promise<string> {
  const result = await git(args, cwd);
  expect(result.code, `git ${args.join(" ")}: ${result.stderr}`).toBe(0);
  return result.stdout.trim();
}

function withCredentials(url: string, user: { username: string; password: string }): string {
  const u = new URL(url);
  u.username = user.username;
  u.password = user.password;
  return u.toString();
}

/** A fresh clone with one new local commit on main; returns its folder and SHA. */
async function cloneWithCommit(repoUrl: string): Promise<{ dir: string; sha: string }> {
  const dir = join(tmp, `clone-${++seq}`);
  await mustGit(["clone", "-q", repoUrl, dir]);
  await writeFile(join(dir, `change-${seq}.txt`), `change ${seq}\n`);
  await mustGit(["add", "-A"], dir);
  await mustGit(["commit", "-q", "-m", `change ${seq}`], dir);
  return { dir, sha: await mustGit(["rev-parse", "HEAD"], dir) };
}

/** GET with the path exactly as given: fetch() would normalise `..` away before sending. */
function rawGet(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, headers }, (res) => {
      res.resume();
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers });
      });
    });
    req.on("error", reject);
    req.end();
  });
}

function pktLine(text: string): string {
  return (text.length + 4).toString(16).padStart(4, "0") + text;
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "git-server-test-"));
  root = join(tmp, "git");
  await createBareRepo(root, "shop", SEED);
  const log = (line: string) => logLines.push(line);
  const auth = {
    basic: [WRITER, VIEWER],
    bearerTokens: [TOKEN],
    readOnlyUsers: [VIEWER.username],
    readOnlyTokens: [READ_ONLY_TOKEN],
  };
  server = await startGitServer({ root, auth, log });
  readOnlyServer = await startGitServer({ root, auth, readOnly: true, log });
  privateServer = await startGitServer({ root, auth: { ...auth, requireAuthForReads: true }, log });
  openServer = await startGitServer({ root, log });
});

afterAll(async () => {
  await Promise.all([
    server.close(),
    readOnlyServer.close(),
    privateServer.close(),
    openServer.close(),
  ]);
  await rm(tmp, { recursive: true, force: true });
});

describe("git server", { timeout: 30_000 }, () => {
  it("listens on 127.0.0.1 and names repositories by URL", () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect(server.repoUrl("shop")).toBe(`${server.url}/shop.git`);
  });

  it("clones anonymously with protocol v2", async () => {
    const dir = join(tmp, "anon-clone");
    await mustGit(["-c", "protocol.version=2", "clone", "-q", server.repoUrl("shop"), dir]);
    expect(await mustGit(["rev-parse", "HEAD"], dir)).toBe(await revParse(root, "shop"));
    expect(await readFile(join(dir, "apps/demo/release.yaml"), "utf8")).toContain("HelmRelease");
  });

  it("clones and pushes with protocol v0, as go-git does", async () => {
    const dir = join(tmp, "v0-clone");
    await mustGit(["-c", "protocol.version=0", "clone", "-q", server.repoUrl("shop"), dir]);
    await writeFile(join(dir, "v0.txt"), "v0\n");
    await mustGit(["add", "-A"], dir);
    await mustGit(["commit", "-q", "-m", "v0"], dir);
    const sha = await mustGit(["rev-parse", "HEAD"], dir);
    const url = withCredentials(server.repoUrl("shop"), WRITER);
    await mustGit(["-c", "protocol.version=0", "push", "-q", url, "HEAD:main"], dir);
    expect(await revParse(root, "shop")).toBe(sha);
  });

  it("accepts a push with valid Basic credentials", async () => {
    const { dir, sha } = await cloneWithCommit(server.repoUrl("shop"));
    await mustGit(
      ["push", "-q", withCredentials(server.repoUrl("shop"), WRITER), "HEAD:main"],
      dir,
    );
    expect(await revParse(root, "shop")).toBe(sha);
    expect(await readFileAt(root, "shop", `change-${seq}.txt`)).toBe(`change ${seq}\n`);
  });

  it("rejects a push with a wrong password or none, leaving the repository unchanged", async () => {
    const before = await revParse(root, "shop");
    const { dir } = await cloneWithCommit(server.repoUrl("shop"));
    const wrong = withCredentials(server.repoUrl("shop"), { ...WRITER, password: "nope" });
    const bad = await git(["push", wrong, "HEAD:main"], dir);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/401|Authentication failed/);
    const anonymous = await git(["push", server.repoUrl("shop"), "HEAD:main"], dir);
    expect(anonymous.code).not.toBe(0);
    expect(anonymous.stderr).toMatch(/401|Authentication failed|could not read Username/);
    expect(await revParse(root, "shop")).toBe(before);
  });

  it("answers 401 with a Basic challenge for the realm", async () => {
    const res = await rawGet(server.port, "/shop.git/info/refs?service=git-receive-pack");
    expect(res.status).toBe(401);
    expect(res.headers["www-authenticate"]).toBe('Basic realm="cairn-testbed"');
  });

  it("accepts a push with a valid bearer token and rejects a wrong one", async () => {
    const { dir, sha } = await cloneWithCommit(server.repoUrl("shop"));
    const before = await revParse(root, "shop");
    const wrong = await git(
      [
        "-c",
        "http.extraHeader=Authorization: Bearer not-a-token",
        "push",
        server.repoUrl("shop"),
        "HEAD:main",
      ],
      dir,
    );
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/401|Authentication failed|could not read Username/);
    expect(await revParse(root, "shop")).toBe(before);
    await mustGit(
      [
        "-c",
        `http.extraHeader=Authorization: Bearer ${TOKEN}`,
        "push",
        "-q",
        server.repoUrl("shop"),
        "HEAD:main",
      ],
      dir,
    );
    expect(await revParse(root, "shop")).toBe(sha);
  });

  it("answers 403 to any push in read-only mode but still serves clones", async () => {
    const before = await revParse(root, "shop");
    const { dir } = await cloneWithCommit(readOnlyServer.repoUrl("shop"));
    const result = await git(
      ["push", withCredentials(readOnlyServer.repoUrl("shop"), WRITER), "HEAD:main"],
      dir,
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/403/);
    expect(await revParse(root, "shop")).toBe(before);
  });

  it("answers 403 to pushes from read-only users and tokens", async () => {
    const before = await revParse(root, "shop");
    const { dir } = await cloneWithCommit(server.repoUrl("shop"));
    const asViewer = await git(
      ["push", withCredentials(server.repoUrl("shop"), VIEWER), "HEAD:main"],
      dir,
    );
    expect(asViewer.code).not.toBe(0);
    expect(asViewer.stderr).toMatch(/403/);
    const withToken = await git(
      [
        "-c",
        `http.extraHeader=Authorization: Bearer ${READ_ONLY_TOKEN}`,
        "push",
        server.repoUrl("shop"),
        "HEAD:main",
      ],
      dir,
    );
    expect(withToken.code).not.toBe(0);
    expect(withToken.stderr).toMatch(/403/);
    expect(await revParse(root, "shop")).toBe(before);
  });

  it("can require credentials for reads", async () => {
    const anonymous = await git([
      "clone",
      "-q",
      privateServer.repoUrl("shop"),
      join(tmp, "private-anon"),
    ]);
    expect(anonymous.code).not.toBe(0);
    expect(anonymous.stderr).toMatch(/401|Authentication failed|could not read Username/);
    const dir = join(tmp, "private-viewer");
    await mustGit(["clone", "-q", withCredentials(privateServer.repoUrl("shop"), VIEWER), dir]);
    expect(await mustGit(["rev-parse", "HEAD"], dir)).toBe(await revParse(root, "shop"));
  });

  it("takes pushes from anyone when no auth is configured", async () => {
    const first = await cloneWithCommit(openServer.repoUrl("shop"));
    await mustGit(["push", "-q", openServer.repoUrl("shop"), "HEAD:main"], first.dir);
    expect(await revParse(root, "shop")).toBe(first.sha);
    const second = await cloneWithCommit(openServer.repoUrl("shop"));
    const url = withCredentials(openServer.repoUrl("shop"), { username: "x", password: "y" });
    await mustGit(["push", "-q", url, "HEAD:main"], second.dir);
    expect(await revParse(root, "shop")).toBe(second.sha);
  });

  it("lets a fetch see a commit made by the fixture helpers", async () => {
    const dir = join(tmp, "fetcher");
    await mustGit(["clone", "-q", server.repoUrl("shop"), dir]);
    const sha = await commitFiles(
      root,
      "shop",
      { "apps/demo/extra.yaml": "a: 1\n" },
      "fixture commit",
    );
    await mustGit(["fetch", "-q", "origin"], dir);
    expect(await mustGit(["rev-parse", "origin/main"], dir)).toBe(sha);
    await mustGit(["merge", "-q", "--ff-only", "origin/main"], dir);
    expect(await readFile(join(dir, "apps/demo/extra.yaml"), "utf8")).toBe("a: 1\n");
  });

  it("serves concurrent clones", async () => {
    const head = await revParse(root, "shop");
    const dirs = Array.from({ length: 6 }, (_, i) => join(tmp, `parallel-${i}`));
    const results = await Promise.all(
      dirs.map((d) => git(["clone", "-q", server.repoUrl("shop"), d])),
    );
    for (const result of results) expect(result.code, result.stderr).toBe(0);
    const heads = await Promise.all(dirs.map((d) => mustGit(["rev-parse", "HEAD"], d)));
    expect(new Set(heads)).toEqual(new Set([head]));
  });

  it("inflates gzip request bodies", async () => {
    const head = await revParse(root, "shop");
    const body = gzipSync(pktLine(`want ${head ?? ""}\n`) + "0000" + pktLine("done\n"));
    const res = await fetch(`${server.repoUrl("shop")}/git-upload-pack`, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-git-upload-pack-request",
        "Content-Encoding": "gzip",
      },
      body,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-git-upload-pack-result");
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.subarray(0, 8).toString()).toBe("0008NAK\n");
    expect(bytes.subarray(8, 12).toString()).toBe("PACK");
  });

  it("answers 404 for unknown repositories and 400 for paths that climb out", async () => {
    expect((await rawGet(server.port, "/nope.git/info/refs?service=git-upload-pack")).status).toBe(
      404,
    );
    expect(
      (await rawGet(server.port, "/../git/shop.git/info/refs?service=git-upload-pack")).status,
    ).toBe(400);
    expect((await rawGet(server.port, "/%2e%2e/git/shop.git/info/refs")).status).toBe(400);
  });

  it("lands a push and then drops the connection once when the repository holds the marker", async () => {
    await createBareRepo(root, "dropped", SEED);
    const url = withCredentials(server.repoUrl("dropped"), WRITER);
    const marker = join(root, "dropped.git", DROP_PUSH_FILE);
    const before = await revParse(root, "dropped");
    // A clone and the ref advertisement of a push are reads: they leave the marker alone.
    await writeFile(marker, "200\n");
    const first = await cloneWithCommit(server.repoUrl("dropped"));
    const dryRun = await git(
      ["push", "--dry-run", "--porcelain", url, `${before}:main`],
      first.dir,
    );
    expect(dryRun.code, dryRun.stderr).toBe(0);
    await expect(access(marker)).resolves.toBeUndefined();

    // The pack upload: the ref moves, yet the client gets no answer and fails.
    const dropped = await git(["push", "--porcelain", url, "HEAD:main"], first.dir);
    expect(dropped.code).not.toBe(0);
    expect(dropped.stderr).toMatch(/RPC failed|hung up|transfer closed/i);
    expect(await revParse(root, "dropped")).toBe(first.sha);
    expect(logLines.some((l) => /git-receive-pack \(push\) -> dropped after 200 ms/.test(l))).toBe(
      true,
    );
    // Consumed: the next push is answered as usual.
    await expect(access(marker)).rejects.toThrow();
    const second = await cloneWithCommit(server.repoUrl("dropped"));
    await mustGit(["push", "-q", url, "HEAD:main"], second.dir);
    expect(await revParse(root, "dropped")).toBe(second.sha);
  });

  it("never logs a credential", () => {
    expect(logLines.length).toBeGreaterThan(0);
    for (const line of logLines) for (const secret of SECRETS) expect(line).not.toContain(secret);
  });
});

describe("access decisions", () => {
  const auth = { basic: [WRITER], bearerTokens: [TOKEN], readOnlyUsers: ["ro"] };
  const basic = (user: string, password: string) =>
    `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

  it("identifies Basic users and bearer tokens, and nothing else", () => {
    expect(identify(undefined, auth)).toEqual({ kind: "anonymous" });
    expect(identify(basic(WRITER.username, WRITER.password), auth)).toEqual({
      kind: "user",
      name: WRITER.username,
      readOnly: false,
    });
    expect(identify(basic(WRITER.username, "wrong"), auth)).toEqual({ kind: "invalid" });
    expect(identify(`Bearer ${TOKEN}`, auth)).toEqual({ kind: "token", readOnly: false });
    expect(identify("Bearer other", auth)).toEqual({ kind: "invalid" });
    expect(identify("Digest x", auth)).toEqual({ kind: "invalid" });
  });

  it("sets REMOTE_USER only for allowed requests", () => {
    const user = { kind: "user", name: "cairn", readOnly: false } as const;
    expect(decide(user, true, { auth })).toEqual({ allow: true, remoteUser: "cairn" });
    expect(decide({ kind: "token", readOnly: false }, true, { auth })).toEqual({
      allow: true,
      remoteUser: TOKEN_USER,
    });
    expect(decide({ kind: "anonymous" }, false, { auth })).toEqual({
      allow: true,
      remoteUser: undefined,
    });
    expect(decide({ kind: "anonymous" }, true, { auth })).toMatchObject({
      allow: false,
      status: 401,
    });
    expect(decide({ kind: "invalid" }, false, { auth })).toMatchObject({
      allow: false,
      status: 401,
    });
    expect(decide(user, true, { auth, readOnly: true })).toMatchObject({
      allow: false,
      status: 403,
    });
    expect(decide({ kind: "anonymous" }, true, {})).toEqual({
      allow: true,
      remoteUser: ANONYMOUS_PUSHER,
    });
    expect(decide({ kind: "anonymous" }, true, { readOnly: true })).toMatchObject({ status: 403 });
    // go-git sends credentials unasked; a server without accounts ignores them.
    expect(decide({ kind: "invalid" }, true, {})).toEqual({
      allow: true,
      remoteUser: ANONYMOUS_PUSHER,
    });
  });

  it("names the repository of a pack upload and of nothing else", () => {
    expect(receivePackRepo("POST", "/shop.git/git-receive-pack")).toBe("shop.git");
    expect(receivePackRepo("POST", "/team/shop.git/git-receive-pack")).toBe("team/shop.git");
    expect(receivePackRepo("GET", "/shop.git/info/refs")).toBeUndefined();
    expect(receivePackRepo("POST", "/shop.git/git-upload-pack")).toBeUndefined();
    expect(receivePackRepo("GET", "/shop.git/git-receive-pack")).toBeUndefined();
  });

  it("parses the CGI header block with CRLF or LF line ends", () => {
    const crlf = parseCgiHead(Buffer.from("Status: 404 Not Found\r\nExpires: 0\r\n\r\nbody"));
    expect(crlf).toEqual({
      status: 404,
      headers: [["Expires", "0"]],
      body: Buffer.from("body"),
    });
    expect(parseCgiHead(Buffer.from("Content-Type: text/plain\n\nx"))?.status).toBe(200);
    expect(parseCgiHead(Buffer.from("Content-Type: text/plain\r\n"))).toBeUndefined();
  });
});

describe("git fixtures", () => {
  it("creates, commits, deletes and reads files on main", async () => {
    const repo = await createBareRepo(root, "team/empty");
    expect(repo.path).toBe(join(root, "team/empty.git"));
    expect(repo.head).toBeUndefined();
    const first = await commitFiles(
      root,
      "team/empty",
      { "a.txt": "one\n", "d/b.txt": "two\n" },
      "first",
    );
    const second = await commitFiles(
      root,
      "team/empty",
      { "a.txt": null, "d/b.txt": "three\n" },
      "second",
    );
    expect(await revParse(root, "team/empty")).toBe(second);
    expect(await readFileAt(root, "team/empty", "a.txt", first)).toBe("one\n");
    expect(await readFileAt(root, "team/empty", "d/b.txt")).toBe("three\n");
    await expect(readFileAt(root, "team/empty", "a.txt")).rejects.toThrow(/failed/);
  });

  it("refuses names and paths that leave the tree", async () => {
    await expect(createBareRepo(root, "../escape")).rejects.toThrow(/plain relative path/);
    await expect(commitFiles(root, "shop", { "../x": "x" }, "m")).rejects.toThrow(
      /plain relative path/,
    );
    await expect(commitFiles(root, "shop", { ".git/config": "x" }, "m")).rejects.toThrow(
      /plain relative path/,
    );
    await expect(createBareRepo(root, "shop")).rejects.toThrow(/already exists/);
  });
});
