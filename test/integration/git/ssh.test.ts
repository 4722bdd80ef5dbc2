// GitWorkspace over SSH, against an sshd this file starts on loopback (key-only login as the
// current user, serving the test bed's bare repositories). Runs where OpenSSH's server is
// installed; elsewhere the SSH transport is covered only by the unit tests of its environment.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GitCredentials } from "../../../src/git/credentials.ts";
import { isGitError } from "../../../src/git/errors.ts";
import { revParse } from "../../../testbed/src/git-fixtures.ts";
import { freePort } from "../../../testbed/src/ports.ts";
import { eventually } from "../../../testbed/src/poll.ts";
import {
  AUTHOR,
  cacheRoot,
  gitAccess,
  recordingRunner,
  seedRepo,
  type CacheRoot,
} from "./helpers.ts";

const run = promisify(execFile);
const SSHD = "/usr/sbin/sshd";

describe.skipIf(!existsSync(SSHD))("GitWorkspace over SSH", () => {
  const git = gitAccess();
  let dir: string;
  let sshd: ChildProcess | undefined;
  let port: number;
  let cache: CacheRoot;
  let identity: string;
  let otherIdentity: string;
  let knownHosts: string;

  async function keypair(name: string): Promise<string> {
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", join(dir, name)]);
    return readFile(join(dir, name), "utf8");
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "cairn-sshd-"));
    cache = await cacheRoot();
    await keypair("host");
    identity = await keypair("client");
    otherIdentity = await keypair("stranger");
    await writeFile(join(dir, "authorized_keys"), await readFile(join(dir, "client.pub")), {
      mode: 0o600,
    });
    port = await freePort();
    const hostPub = (await readFile(join(dir, "host.pub"), "utf8"))
      .split(" ")
      .slice(0, 2)
      .join(" ");
    knownHosts = `[127.0.0.1]:${port} ${hostPub}\n`;
    await writeFile(
      join(dir, "sshd_config"),
      [
        `Port ${port}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${join(dir, "host")}`,
        `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        `PidFile ${join(dir, "sshd.pid")}`,
        "",
      ].join("\n"),
    );
    // sshd insists on its privilege-separation folder when it runs as root.
    if (process.getuid?.() === 0) await run("mkdir", ["-p", "/run/sshd"]);
    sshd = spawn(SSHD, ["-D", "-e", "-f", join(dir, "sshd_config")], { stdio: "ignore" });
    await eventually(
      "sshd listening",
      async () => {
        try {
          await run("ssh-keyscan", ["-p", String(port), "127.0.0.1"], { timeout: 2000 });
          return true;
        } catch {
          return undefined;
        }
      },
      { timeoutMs: 15_000 },
    );
  });

  afterAll(async () => {
    sshd?.kill("SIGTERM");
    await cache.remove();
    await rm(dir, { recursive: true, force: true });
  });

  const sshUrl = (name: string) =>
    `ssh://${userInfo().username}@127.0.0.1:${port}${join(git.root, `${name}.git`)}`;

  it("fetches, commits and pushes with a key, never exposing it", async () => {
    const repo = await seedRepo(git, "ssh-push", { "a.txt": "a\n" });
    const recorded = recordingRunner();
    const credentials: GitCredentials = { kind: "ssh", identity, knownHosts };
    const ws = await cache.open({
      remote: { url: sshUrl(repo.name), branch: "main", credentials },
      runner: recorded.runner,
    });
    const head = await ws.fetch();
    expect(head).toBe(repo.head);
    await ws.canPush();
    const sha = await ws.commitFile({
      parent: head,
      path: "a.txt",
      content: "b\n",
      message: "ssh",
      author: AUTHOR,
    });
    expect(await ws.push(sha)).toBe("pushed");
    expect(await revParse(git.root, repo.name)).toBe(sha);

    const keyLine = identity.split("\n")[1] ?? "";
    expect(keyLine.length).toBeGreaterThan(20);
    for (const command of recorded.commands) {
      expect(command.args.join(" ")).not.toContain(keyLine);
      expect(Object.values(command.env).join("\n")).not.toContain(keyLine);
    }
    // The key files exist only while a call runs.
    const sshCommands = recorded.commands.filter((c) => c.env["GIT_SSH_COMMAND"] !== undefined);
    expect(sshCommands.length).toBeGreaterThanOrEqual(3);
    for (const c of sshCommands) {
      const file = /-i '([^']+)'/.exec(c.env["GIT_SSH_COMMAND"] ?? "")?.[1] ?? "";
      expect(existsSync(file)).toBe(false);
    }
  });

  it("fails with auth for an unknown host key and for a key the server does not accept", async () => {
    const repo = await seedRepo(git, "ssh-denied", { "a.txt": "a\n" });
    const open = (credentials: GitCredentials) =>
      cache.open({ remote: { url: sshUrl(repo.name), branch: "main", credentials } });
    const wrongHost = await open({
      kind: "ssh",
      identity,
      knownHosts: `[127.0.0.1]:${port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMajtzp2f8Nkv6B0C9Tv1S5HZE9yBkd6O3Lt6JpQ8VtF\n`,
    });
    const hostErr: unknown = await wrongHost.fetch().catch((err: unknown) => err);
    expect(isGitError(hostErr, "auth")).toBe(true);
    if (isGitError(hostErr)) expect(hostErr.message).toContain("Host key verification failed");

    const stranger = await open({ kind: "ssh", identity: otherIdentity, knownHosts });
    const keyErr: unknown = await stranger.fetch().catch((err: unknown) => err);
    expect(isGitError(keyErr, "auth")).toBe(true);
    if (isGitError(keyErr)) expect(keyErr.message).toContain("Permission denied (publickey)");
  });
});
