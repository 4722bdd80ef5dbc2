// The leader's term as a workspace-wide signal (WorkspacePool hands it to every workspace it
// opens): when it aborts, every git process of the workspace is told to stop (spawnGit kills the process group on abort: run.test.ts), so a
// replica that lost its lease leaves no fetch or push running.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { GitCommand, GitExit } from "../../../src/git/run.ts";
import { GitWorkspace } from "../../../src/git/workspace.ts";

const SHA = "0123456789abcdef0123456789abcdef01234567";

/** Answers every git command at once, except fetches, which hang until their signal aborts. */
function hangingFetches() {
  const seen: GitCommand[] = [];
  const runner = (command: GitCommand): Promise<GitExit> => {
    seen.push(command);
    if (!command.args.includes("fetch"))
      return Promise.resolve({
        kind: "exited",
        code: 0,
        stdout: Buffer.from(`${SHA}\n`),
        stderr: "",
      });
    return new Promise((resolve) => {
      const signal = command.signal;
      if (!signal) return; // never ends: the test would time out
      // As spawnGit does: an abort that came first ends it before it starts.
      if (signal.aborted) {
        resolve({ kind: "aborted", reason: signal.reason });
        return;
      }
      signal.addEventListener("abort", () => resolve({ kind: "aborted", reason: signal.reason }), {
        once: true,
      });
    });
  };
  return { seen, runner };
}

describe("the workspace-wide signal", () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });
  const remote = {
    url: "https://git.example.com/shop.git",
    branch: "main",
    credentials: { kind: "none" as const },
  };

  it("stops a running git process of the workspace when it aborts", async () => {
    const root = await mkdtemp(join(tmpdir(), "ws-signal-"));
    dirs.push(root);
    const term = new AbortController();
    const { runner } = hangingFetches();
    const ws = await GitWorkspace.open({ root, remote, runner, signal: term.signal });
    const fetching = ws.fetch();
    term.abort(new Error("lost the lease"));
    await expect(fetching).rejects.toThrow();
  });

  it("combines with each call's own signal: either one stops the process", async () => {
    const root = await mkdtemp(join(tmpdir(), "ws-signal-"));
    dirs.push(root);
    const term = new AbortController();
    const call = new AbortController();
    const { runner } = hangingFetches();
    const ws = await GitWorkspace.open({ root, remote, runner, signal: term.signal });
    const fetching = ws.fetch({ signal: call.signal });
    call.abort(new Error("request deleted"));
    await expect(fetching).rejects.toThrow();
    expect(term.signal.aborted).toBe(false);
  });
});
