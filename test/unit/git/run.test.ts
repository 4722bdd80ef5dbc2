// spawnGit against the real git binary: timeouts and aborts end git and what it started.
import { tmpdir } from "node:os";
import { describe, expect, it } from "vitest";
import { spawnGit, type GitCommand } from "../../../src/git/run.ts";

const ENV = {
  PATH: "/usr/local/bin:/usr/bin:/bin",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
  LC_ALL: "C",
};

function command(args: string[], extra: Partial<GitCommand> = {}): GitCommand {
  return { args, env: ENV, cwd: tmpdir(), timeoutMs: 10_000, maxOutputBytes: 1 << 20, ...extra };
}

/** A git alias that runs a shell: git → sh → sleep, a process tree like git → ssh. */
const SLEEP = ["-c", "alias.nap=!sleep 30", "nap"];

describe("spawnGit", () => {
  it("returns exit code, stdout and stderr", async () => {
    const ok = await spawnGit(command(["hash-object", "--stdin"], { input: "hello\n" }));
    expect(ok).toMatchObject({ kind: "exited", code: 0 });
    if (ok.kind === "exited") {
      expect(ok.stdout.toString().trim()).toBe("ce013625030ba8dba906f756967f9e9ca394464a");
    }
    const bad = await spawnGit(command(["rev-parse", "--git-dir"], { cwd: "/" }));
    expect(bad).toMatchObject({ kind: "exited", code: 128 });
    if (bad.kind === "exited") expect(bad.stderr).toContain("not a git repository");
  });

  it("ends the whole process group on timeout", async () => {
    const started = Date.now();
    const exit = await spawnGit(command(SLEEP, { timeoutMs: 300 }));
    expect(exit).toEqual({ kind: "timeout" });
    // Had only git been killed, sleep would hold stdout open for 30 s.
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("stops on abort and reports the reason", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("shutdown")), 200);
    const exit = await spawnGit(command(SLEEP, { signal: controller.signal }));
    expect(exit).toMatchObject({ kind: "aborted", reason: new Error("shutdown") });
    const before = await spawnGit(command(["version"], { signal: AbortSignal.abort() }));
    expect(before.kind).toBe("aborted");
  });

  it("stops a process whose output exceeds the cap", async () => {
    const exit = await spawnGit(
      command(["-c", "alias.flood=!yes", "flood"], { maxOutputBytes: 64 * 1024 }),
    );
    expect(exit).toEqual({ kind: "output-too-large" });
  });

  it("passes only the given environment", async () => {
    const exit = await spawnGit(
      command(["-c", "alias.env=!env", "env"], { env: { ...ENV, ONLY_THIS: "1" } }),
    );
    if (exit.kind !== "exited") throw new Error(exit.kind);
    const names = exit.stdout
      .toString()
      .split("\n")
      .map((l) => l.split("=")[0]);
    expect(names).toContain("ONLY_THIS");
    expect(names).not.toContain("HOME");
  });
});
