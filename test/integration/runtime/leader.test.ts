// Leader failover between real controller processes (test/fixtures/leader-process.ts) against the
// test-bed API server: exactly one leads, a killed leader is replaced within the lease duration
// (plus the polling that any Lease-based election needs), no ConfigMap key is ever reconciled by
// two processes at once, and a graceful stop releases the Lease at once.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, inject, it, onTestFailed } from "vitest";
import type { KubeClient } from "../../../src/kube/client.ts";
import { isKubeError } from "../../../src/kube/errors.ts";
import { parseLeaseRecord, type LeaseRecord } from "../../../src/runtime/leader.ts";
import {
  createTestNamespace,
  deleteNamespace,
  eventually,
  testClient,
} from "../../support/kube.ts";

const FIXTURE = fileURLToPath(new URL("../../fixtures/leader-process.ts", import.meta.url));
const LEASE_NAME = "leader-test";
// The fixture's timings.
const LEASE_MS = 6_000;
const RENEW_DEADLINE_MS = 4_000;
const RETRY_MS = 1_000;
/** Acquire attempts are spaced by the retry period plus up to 20 % jitter. */
const POLL_MS = RETRY_MS * 1.2;

interface Child {
  readonly identity: string;
  readonly logFile: string;
  readonly process: ChildProcess;
  readonly output: string[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

let client: KubeClient;
let namespace: string;
let workDir: string;
const children: Child[] = [];

beforeAll(async () => {
  client = testClient();
  namespace = await createTestNamespace(client, "leader");
  workDir = await mkdtemp(join(tmpdir(), "cairn-leader-"));
});

afterAll(async () => {
  // Whatever happened, no child outlives the test.
  for (const child of children) {
    if (child.process.exitCode === null && child.process.signalCode === null) {
      child.process.kill("SIGKILL");
    }
  }
  await Promise.all(children.map((c) => c.exited));
  await deleteNamespace(client, namespace);
  await rm(workDir, { recursive: true, force: true });
});

function start(identity: string): Child {
  const logFile = join(workDir, `${identity}.log`);
  const proc = spawn(
    process.execPath,
    [
      FIXTURE,
      "--kubeconfig",
      inject("kubeconfig"),
      "--namespace",
      namespace,
      "--identity",
      identity,
      "--log-file",
      logFile,
      "--lease",
      LEASE_NAME,
    ],
    // The IPC channel makes the child exit if this process dies without cleaning up.
    { stdio: ["ignore", "pipe", "pipe", "ipc"] },
  );
  const output: string[] = [];
  proc.stdout?.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  proc.stderr?.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on("exit", (code, signal) => resolve({ code, signal })),
  );
  const child = { identity, logFile, process: proc, output, exited };
  children.push(child);
  return child;
}

interface Line {
  readonly what: string;
  readonly identity: string;
  readonly key: string;
  readonly ms: number;
}

async function readLog(child: Child): Promise<Line[]> {
  let text: string;
  try {
    text = await readFile(child.logFile, "utf8");
  } catch {
    return [];
  }
  return text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const parts = l.split(" ");
      const what = parts[0] ?? "";
      const identity = parts[1] ?? "";
      if (what === "start" || what === "end") {
        return { what, identity, key: parts[2] ?? "", ms: Number(parts[3]) };
      }
      // "leading <id> <ms>" and "stopped <id> <reason> <ms>"
      return {
        what,
        identity,
        key: parts.length > 3 ? (parts[2] ?? "") : "",
        ms: Number(parts.at(-1)),
      };
    });
}

async function lease(): Promise<(LeaseRecord & { resourceVersion: string }) | undefined> {
  try {
    const obj = await client.get({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      namespace,
      name: LEASE_NAME,
    });
    return { ...parseLeaseRecord(obj), resourceVersion: obj.metadata.resourceVersion ?? "" };
  } catch (err) {
    if (isKubeError(err, "NotFound")) return undefined;
    throw err;
  }
}

/** Creates ConfigMaps one after another until stopped; returns the names it created. */
function createContinuously(): { stop(): Promise<string[]> } {
  const created: string[] = [];
  const stop = new AbortController();
  const loop = (async () => {
    for (let i = 0; !stop.signal.aborted; i++) {
      const name = `cm-${String(i).padStart(4, "0")}`;
      await client.create({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name, namespace },
        data: { i: String(i) },
      });
      created.push(name);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return {
    async stop() {
      stop.abort();
      await loop;
      return created;
    },
  };
}

/** Fails if any key was being reconciled by two identities at overlapping times. */
function assertNoOverlap(lines: readonly Line[], killedAt: ReadonlyMap<string, number>): void {
  const intervals = new Map<string, { identity: string; from: number; to: number }[]>();
  const open = new Map<string, number>();
  for (const line of lines) {
    const id = `${line.identity} ${line.key}`;
    if (line.what === "start") open.set(id, line.ms);
    if (line.what === "end") {
      const from = open.get(id);
      expect(from, `end without start: ${id}`).toBeDefined();
      open.delete(id);
      const list = intervals.get(line.key) ?? [];
      list.push({ identity: line.identity, from: from ?? line.ms, to: line.ms });
      intervals.set(line.key, list);
    }
  }
  // A run cut short by SIGKILL ended when its process died.
  for (const [id, from] of open) {
    const [identity = "", key = ""] = id.split(" ");
    const to = killedAt.get(identity);
    expect(to, `${identity} left ${key} unfinished without being killed`).toBeDefined();
    const list = intervals.get(key) ?? [];
    list.push({ identity, from, to: to ?? from });
    intervals.set(key, list);
  }
  for (const [key, list] of intervals) {
    for (const a of list) {
      for (const b of list) {
        if (a.identity === b.identity) continue;
        const overlap = a.from < b.to && b.from < a.to;
        expect(overlap, `${key} reconciled by ${a.identity} and ${b.identity} at once`).toBe(false);
      }
    }
  }
}

describe("leader election between controller processes", () => {
  it("fails over after a kill, never reconciles a key twice at once, and releases on SIGTERM", async () => {
    onTestFailed(() => {
      for (const c of children) {
        process.stderr.write(`--- ${c.identity} output ---\n${c.output.join("")}\n`);
      }
    });
    const a = start("proc-a");
    const b = start("proc-b");
    const creator = createContinuously();
    let creating = true;
    try {
      // Exactly one of them leads: the Lease and the logs agree.
      const first = await eventually("a first leader", async () => {
        const held = await lease();
        return held && held.holderIdentity !== "" ? held.holderIdentity : undefined;
      });
      const leader = first === a.identity ? a : b;
      const follower = leader === a ? b : a;
      await eventually("the leader reconciling", async () =>
        (await readLog(leader)).some((l) => l.what === "end") ? true : undefined,
      );
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const beforeKill = [...(await readLog(leader)), ...(await readLog(follower))];
      expect(beforeKill.filter((l) => l.what === "leading").map((l) => l.identity)).toEqual([
        leader.identity,
      ]);
      expect((await readLog(follower)).filter((l) => l.what === "start")).toEqual([]);
      expect((await lease())?.holderIdentity).toBe(leader.identity);

      // Kill the leader. Its last renewal is what the follower's clock runs against.
      const killedAt = Date.now();
      leader.process.kill("SIGKILL");
      expect(await leader.exited).toEqual({ code: null, signal: "SIGKILL" });
      const lastRenewal = await lease();
      expect(lastRenewal?.holderIdentity).toBe(leader.identity);
      const lastRenewedAt = Date.parse(lastRenewal?.renewTime ?? "");

      const takenOver = await eventually(
        "the follower taking over",
        async () => {
          const held = await lease();
          return held?.holderIdentity === follower.identity ? held : undefined;
        },
        LEASE_MS * 3,
      );
      // The follower writes its Lease first and its log line after: wait for the line.
      const leading = await eventually("the follower logging its leadership", async () =>
        (await readLog(follower)).find((l) => l.what === "leading"),
      );
      const acquiredAt = Date.parse(takenOver.acquireTime ?? "");
      const failoverMs = leading.ms - killedAt;
      const sinceLastRenewalMs = acquiredAt - lastRenewedAt;
      process.stderr.write(
        `leader failover: ${failoverMs} ms after the kill; ${sinceLastRenewalMs} ms after the dead leader's last renewal (lease ${LEASE_MS} ms)\n`,
      );
      // Safe: the follower waited a whole lease duration, by its own clock, after it last saw
      // the dead leader's record change — longer than the renew deadline after which a live
      // but cut-off leader would have stopped by itself.
      expect(sinceLastRenewalMs).toBeGreaterThanOrEqual(LEASE_MS);
      expect(sinceLastRenewalMs).toBeGreaterThan(RENEW_DEADLINE_MS);
      // Prompt: one lease duration, plus at most one poll to see the last renewal and one poll
      // to notice the expiry (and request latency).
      expect(failoverMs).toBeLessThanOrEqual(LEASE_MS + 2 * POLL_MS + 1_000);
      expect(takenOver.leaseTransitions).toBeGreaterThanOrEqual(1);

      // The new leader picks up keys created after the takeover too.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const createdNames = await creator.stop();
      creating = false;
      const lastName = createdNames.at(-1);
      await eventually("the new leader reconciling every ConfigMap", async () => {
        const done = new Set(
          (await readLog(follower)).filter((l) => l.what === "end").map((l) => l.key),
        );
        return createdNames.every((n) => done.has(`${namespace}/${n}`)) ? true : undefined;
      });
      expect(lastName).toBeDefined();

      // A third process joins as a follower; a graceful stop of the leader hands over at once.
      const c = start("proc-c");
      await eventually("the third process observing the lease", () =>
        Promise.resolve(c.output.join("").includes("observed a new leader") ? true : undefined),
      );
      const termAt = Date.now();
      follower.process.kill("SIGTERM");
      expect(await follower.exited).toEqual({ code: 0, signal: null });
      const exitMs = Date.now() - termAt;
      const handover = await eventually(
        "the third process taking over",
        async () => {
          const held = await lease();
          return held?.holderIdentity === c.identity ? Date.now() - termAt : undefined;
        },
        LEASE_MS * 3,
      );
      process.stderr.write(
        `graceful stop: exited ${exitMs} ms after SIGTERM; handover after ${handover} ms\n`,
      );
      expect(exitMs).toBeLessThan(5_000);
      // A released lease is taken at the next attempt, well within a lease duration.
      expect(handover).toBeLessThan(exitMs + POLL_MS + 1_000);
      expect(handover).toBeLessThan(LEASE_MS);
      const followerLog = await readLog(follower);
      expect(followerLog.at(-1)).toMatchObject({ what: "stopped", key: "shutdown" });

      // Stop the last one: the Lease ends released, with no holder.
      const lastTerm = Date.now();
      c.process.kill("SIGTERM");
      expect(await c.exited).toEqual({ code: 0, signal: null });
      const released = await lease();
      expect(released?.holderIdentity).toBe("");
      expect(released?.leaseDurationSeconds).toBe(1);
      expect(Date.now() - lastTerm).toBeLessThan(5_000);

      // Over the whole run, no key was reconciled by two processes at once, and every
      // leadership started after the previous one ended.
      const all = [...(await readLog(a)), ...(await readLog(b)), ...(await readLog(c))].sort(
        (x, y) => x.ms - y.ms,
      );
      assertNoOverlap(all, new Map([[leader.identity, killedAt]]));
      const leaderships = all.filter((l) => l.what === "leading").map((l) => l.identity);
      expect(leaderships).toEqual([leader.identity, follower.identity, c.identity]);
      const followerStarts = followerLog.filter((l) => l.what === "start").map((l) => l.ms);
      expect(Math.min(...followerStarts)).toBeGreaterThan(killedAt);
    } finally {
      if (creating) await creator.stop().catch(() => undefined);
    }
  });
});
