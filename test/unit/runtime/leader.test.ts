import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../../src/kube/client.ts";
import { KubeError } from "../../../src/kube/errors.ts";
import { wait } from "../../../src/runtime/clock.ts";
import {
  LeaderElector,
  parseLeaseRecord,
  type LeaderElectorOptions,
  type LeaderExit,
} from "../../../src/runtime/leader.ts";
import { flush } from "../../fakes/async.ts";
import { FakeClock } from "../../fakes/clock.ts";
import { FakeObjectApi } from "../../fakes/object-api.ts";

const T0 = new Date("2025-01-01T00:00:00.000Z");
const LEASE = {
  apiVersion: "coordination.k8s.io/v1",
  kind: "Lease",
  namespace: "ns",
  name: "lock",
};

interface Candidate {
  readonly elector: LeaderElector;
  /** "started@<ms>" / "stopped:<reason>@<ms>", in clock time since T0. */
  readonly events: string[];
  readonly stop: AbortController;
  readonly exit: Promise<LeaderExit>;
  leaderSignal(): AbortSignal;
}

function world() {
  const api = new FakeObjectApi();
  const clock = new FakeClock(T0);
  const since = () => clock.now().getTime() - T0.getTime();
  const lease = () => {
    const obj = api.peek(LEASE);
    if (!obj) throw new Error("no lease");
    return parseLeaseRecord(obj);
  };
  const seedLease = (spec: Record<string, unknown>) =>
    api.seed({
      apiVersion: LEASE.apiVersion,
      kind: LEASE.kind,
      metadata: { name: LEASE.name, namespace: LEASE.namespace },
      spec,
    });

  function candidate(
    identity: string,
    opts: {
      /** What onStartedLeading returns, given the leader signal. */
      work?: (signal: AbortSignal) => Promise<void> | void;
      elector?: Partial<LeaderElectorOptions>;
    } = {},
  ): Candidate {
    const events: string[] = [];
    let leaderSignal: AbortSignal | undefined;
    const elector = new LeaderElector({
      client: api,
      clock,
      name: LEASE.name,
      namespace: LEASE.namespace,
      identity,
      jitter: 0,
      random: () => 0,
      ...opts.elector,
    });
    const stop = new AbortController();
    const exit = elector.run(stop.signal, {
      onStartedLeading(signal) {
        leaderSignal = signal;
        events.push(`started@${since()}`);
        return opts.work?.(signal);
      },
      onStoppedLeading(reason) {
        events.push(`stopped:${reason}@${since()}`);
      },
    });
    return {
      elector,
      events,
      stop,
      exit,
      leaderSignal() {
        if (!leaderSignal) throw new Error(`${identity} never led`);
        return leaderSignal;
      },
    };
  }

  return { api, clock, since, lease, seedLease, candidate };
}

/** Resolves to the value if the promise settled already, otherwise to "pending". */
async function state<T>(promise: Promise<T>): Promise<T | "pending"> {
  const marker = Symbol("pending");
  const result = await Promise.race([promise, flush().then(() => marker)]);
  return result === marker ? "pending" : (result as T);
}

describe("LeaderElector", () => {
  it("acquires a missing lease by creating it, with Flux's timings", async () => {
    const w = world();
    const a = w.candidate("a");
    await flush();
    expect(a.elector.isLeader()).toBe(true);
    expect(a.events).toEqual(["started@0"]);
    expect(w.lease()).toEqual({
      holderIdentity: "a",
      leaseDurationSeconds: 35,
      acquireTime: "2025-01-01T00:00:00.000000Z",
      renewTime: "2025-01-01T00:00:00.000000Z",
      leaseTransitions: 0,
    });
    a.stop.abort();
    expect(await a.exit).toBe("released");
  });

  it("acquires a lease without a holder at once, conditional on its resourceVersion", async () => {
    const w = world();
    const seeded = w.seedLease({
      holderIdentity: "",
      leaseDurationSeconds: 1,
      leaseTransitions: 3,
    });
    const a = w.candidate("a");
    await flush();
    expect(a.elector.isLeader()).toBe(true);
    expect(w.api.callsOf("mergePatch")[0]?.body).toMatchObject({
      metadata: { resourceVersion: seeded.metadata.resourceVersion },
      spec: { holderIdentity: "a", leaseTransitions: 4 },
    });
    expect(w.lease().leaseTransitions).toBe(4);
    a.stop.abort();
    await a.exit;
  });

  it("does not acquire while the holder keeps renewing", async () => {
    const w = world();
    w.seedLease({ holderIdentity: "b", leaseDurationSeconds: 35, leaseTransitions: 0 });
    const a = w.candidate("a");
    for (let i = 1; i <= 30; i++) {
      await w.clock.advance(5_000);
      // b renews: the record changes, so a's observation starts again.
      w.api.write(LEASE, { spec: { renewTime: new Date(w.clock.now()).toISOString() } });
    }
    expect(a.elector.isLeader()).toBe(false);
    expect(a.elector.observedLeader()).toBe("b");
    expect(a.events).toEqual([]);
    // It never even tried to write a lease it judged held.
    expect(w.api.callsOf("mergePatch")).toHaveLength(0);
    a.stop.abort();
    expect(await a.exit).toBe("aborted");
  });

  it("takes over after the lease duration by its own clock, though renewTime is in the future", async () => {
    const w = world();
    const seeded = w.seedLease({
      holderIdentity: "b",
      leaseDurationSeconds: 35,
      renewTime: "2099-01-01T00:00:00.000000Z",
      leaseTransitions: 2,
    });
    const a = w.candidate("a");
    await w.clock.advance(34_999);
    expect(a.elector.isLeader()).toBe(false);
    await w.clock.advance(1);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.events).toEqual(["started@35000"]);
    const take = w.api.callsOf("mergePatch")[0]?.body;
    expect(take).toMatchObject({
      metadata: { resourceVersion: seeded.metadata.resourceVersion },
      spec: { holderIdentity: "a", leaseTransitions: 3, leaseDurationSeconds: 35 },
    });
    expect(w.lease().renewTime).toBe("2025-01-01T00:00:35.000000Z");
    a.stop.abort();
    await a.exit;
  });

  it("waits the full duration from its first sight even when renewTime is long past", async () => {
    const w = world();
    w.seedLease({
      holderIdentity: "b",
      leaseDurationSeconds: 35,
      renewTime: "2020-01-01T00:00:00.000000Z",
    });
    const a = w.candidate("a");
    await w.clock.advance(30_000);
    expect(a.elector.isLeader()).toBe(false);
    await w.clock.advance(5_000);
    expect(a.elector.isLeader()).toBe(true);
    a.stop.abort();
    await a.exit;
  });

  it("judges expiry by the duration the record announces", async () => {
    const w = world();
    w.seedLease({ holderIdentity: "b", leaseDurationSeconds: 10 });
    const a = w.candidate("a");
    await w.clock.advance(9_999);
    expect(a.elector.isLeader()).toBe(false);
    await w.clock.advance(1);
    expect(a.elector.isLeader()).toBe(true);
    a.stop.abort();
    await a.exit;
  });

  it("renews every retry period, keeping acquireTime and the transition count", async () => {
    const w = world();
    const a = w.candidate("a");
    await flush();
    await w.clock.advance(5_000);
    expect(w.lease().renewTime).toBe("2025-01-01T00:00:05.000000Z");
    await w.clock.advance(5_000);
    expect(w.lease()).toMatchObject({
      holderIdentity: "a",
      renewTime: "2025-01-01T00:00:10.000000Z",
      acquireTime: "2025-01-01T00:00:00.000000Z",
      leaseTransitions: 0,
    });
    // Every renewal is held against the version just read.
    for (const call of w.api.callsOf("mergePatch")) {
      expect(call.body).toHaveProperty("metadata.resourceVersion");
    }
    a.stop.abort();
    await a.exit;
  });

  it("stops leading when renewals fail until the renew deadline, and does not release", async () => {
    const w = world();
    const a = w.candidate("a");
    await flush();
    w.api.failAlways("mergePatch", new KubeError("Transient", "etcd unavailable", 503));
    await w.clock.advance(29_999);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.leaderSignal().aborted).toBe(false);
    await w.clock.advance(1);
    expect(a.leaderSignal().aborted).toBe(true);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.events).toEqual(["started@0", "stopped:lost@30000"]);
    expect(await a.exit).toBe("lost");
    expect(w.lease().holderIdentity).toBe("a");
    // Renewals were retried every period meanwhile: at 5, 10, 15, 20 and 25 s.
    expect(w.api.callsOf("mergePatch")).toHaveLength(5);
  });

  it("keeps counting the deadline from the last renewal that succeeded", async () => {
    const w = world();
    const a = w.candidate("a");
    await flush();
    await w.clock.advance(10_000); // renewed at 5 s and 10 s
    w.api.failAlways("mergePatch", new KubeError("Transient", "503", 503));
    await w.clock.advance(29_999);
    expect(a.elector.isLeader()).toBe(true);
    await w.clock.advance(1);
    expect(a.events).toEqual(["started@0", "stopped:lost@40000"]);
    expect(await a.exit).toBe("lost");
  });

  it("stops at the deadline even while a renewal request hangs", async () => {
    const w = world();
    const a = w.candidate("a");
    await flush();
    const release = w.api.hangNext("get");
    await w.clock.advance(30_000);
    expect(a.events).toEqual(["started@0", "stopped:lost@30000"]);
    expect(await state(a.exit)).toBe("lost");
    release();
    await w.clock.advance(60_000);
    // The late answer does not bring it back, and nothing is sent after it.
    expect(a.elector.isLeader()).toBe(false);
    expect(w.api.callsOf("mergePatch")).toHaveLength(0);
  });

  describe("holds(), the fence for the leader's writes", () => {
    it("is true while renewals keep up and false once the renew deadline passed", async () => {
      const w = world();
      const a = w.candidate("a");
      await flush();
      expect(a.elector.holds()).toBe(true);
      w.api.failAlways("mergePatch", new KubeError("Transient", "etcd unavailable", 503));
      await w.clock.advance(29_999);
      expect(a.elector.holds()).toBe(true);
      await w.clock.advance(1);
      expect(a.elector.holds()).toBe(false);
      expect(await a.exit).toBe("lost");
    });

    it("finds a lapsed lease by its clock before any timer ran (a process woken from SIGSTOP) and ends the term as lost", async () => {
      const w = world();
      const a = w.candidate("a");
      await flush();
      await w.clock.advance(5_000); // renewed at 5 s: the deadline is 35 s
      expect(a.elector.holds()).toBe(true);
      // Stopped for 40 s: no timer has fired yet when the first write asks.
      w.clock.jump(40_000);
      expect(a.leaderSignal().aborted).toBe(false);
      expect(a.elector.holds()).toBe(false);
      // Asking was enough: the term ends as lost without waiting for the deadline timer.
      await flush();
      expect(a.leaderSignal().aborted).toBe(true);
      expect(a.events).toEqual(["started@0", "stopped:lost@45000"]);
      expect(await state(a.exit)).toBe("lost");
      expect(a.elector.holds()).toBe(false);
    });

    it("is false before it ever led and after a graceful release", async () => {
      const w = world();
      w.seedLease({ holderIdentity: "other", leaseDurationSeconds: 35 });
      const a = w.candidate("a");
      await flush();
      expect(a.elector.holds()).toBe(false);
      const b = w.candidate("b2", { elector: { name: "other-lock" } });
      await flush();
      expect(b.elector.holds()).toBe(true);
      b.stop.abort();
      expect(await b.exit).toBe("released");
      expect(b.elector.holds()).toBe(false);
    });
  });

  it("steps down at once when it sees another holder in the lease", async () => {
    const w = world();
    const a = w.candidate("a");
    await flush();
    w.api.write(LEASE, { spec: { holderIdentity: "intruder" } });
    await w.clock.advance(5_000);
    expect(a.events).toEqual(["started@0", "stopped:lost@5000"]);
    expect(await a.exit).toBe("lost");
  });

  it("on shutdown lets the work drain, renewing meanwhile, then releases the lease", async () => {
    const w = world();
    const a = w.candidate("a", {
      work: async (signal) => {
        await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
        // Draining takes 12 s of clock time.
        await wait(w.clock, 12_000, new AbortController().signal);
      },
    });
    await w.clock.advance(7_000);
    a.stop.abort();
    await flush();
    expect(a.leaderSignal().aborted).toBe(true);
    await w.clock.advance(11_000);
    // Still draining: the lease is still ours and was renewed during the drain.
    expect(await state(a.exit)).toBe("pending");
    expect(w.lease()).toMatchObject({
      holderIdentity: "a",
      renewTime: "2025-01-01T00:00:15.000000Z",
    });
    await w.clock.advance(1_000);
    expect(await a.exit).toBe("released");
    expect(w.lease()).toMatchObject({ holderIdentity: "", leaseDurationSeconds: 1 });
    expect(a.events).toEqual(["started@0", "stopped:shutdown@19000"]);
  });

  it("a second candidate takes a released lease at its next attempt, not after the lease duration", async () => {
    const w = world();
    const a = w.candidate("a");
    await flush();
    const b = w.candidate("b");
    await w.clock.advance(60_000);
    expect(b.elector.isLeader()).toBe(false);
    a.stop.abort();
    expect(await a.exit).toBe("released");
    const releasedAt = w.since();
    await w.clock.advance(5_000);
    expect(b.elector.isLeader()).toBe(true);
    expect(b.events).toEqual([`started@${releasedAt + 5_000}`]);
    expect(w.lease()).toMatchObject({ holderIdentity: "b", leaseTransitions: 1 });
    b.stop.abort();
    await b.exit;
  });

  it("of several candidates starting together exactly one leads at any time", async () => {
    const w = world();
    const ids = ["a", "b", "c"];
    const candidates = ids.map((id) =>
      w.candidate(id, { elector: { jitter: 0.2, random: Math.random } }),
    );
    const leadersSeen = new Set<string>();
    for (let step = 0; step < 60; step++) {
      await w.clock.advance(1_000);
      const leaders = candidates.filter((c) => c.elector.isLeader());
      expect(leaders.length).toBeLessThanOrEqual(1);
      for (const l of leaders) leadersSeen.add(l.elector.identity);
      if (step === 10) {
        // The first leader goes away gracefully; someone else must follow.
        const first = leaders[0];
        expect(first).toBeDefined();
        first?.stop.abort();
      }
    }
    expect(leadersSeen.size).toBe(2);
    expect(w.api.callsOf("create")).toHaveLength(3);
    for (const c of candidates) c.stop.abort();
    await w.clock.advance(10_000);
    expect((await Promise.all(candidates.map((c) => c.exit))).sort()).toEqual([
      "aborted",
      "released",
      "released",
    ]);
  });

  it("steps down and releases when its work ends by itself", async () => {
    const w = world();
    const a = w.candidate("a", {
      work: async () => {
        await wait(w.clock, 3_000, new AbortController().signal);
      },
    });
    await w.clock.advance(3_000);
    expect(await a.exit).toBe("released");
    expect(a.events).toEqual(["started@0", "stopped:shutdown@3000"]);
    expect(w.lease().holderIdentity).toBe("");
  });

  it("returns 'aborted' without calling back when stopped before it ever led", async () => {
    const w = world();
    w.seedLease({ holderIdentity: "b", leaseDurationSeconds: 35 });
    const a = w.candidate("a");
    await w.clock.advance(10_000);
    a.stop.abort();
    expect(await a.exit).toBe("aborted");
    expect(a.events).toEqual([]);
    expect(w.lease().holderIdentity).toBe("b");
  });

  it("hands back a lease it won just as the shutdown came, without starting work", async () => {
    const w = world();
    const later: { stop?: AbortController } = {};
    w.api.beforeNext("create", () => later.stop?.abort());
    const a = w.candidate("a");
    later.stop = a.stop;
    expect(await a.exit).toBe("aborted");
    expect(a.events).toEqual([]);
    expect(w.lease()).toMatchObject({ holderIdentity: "", leaseDurationSeconds: 1 });
  });

  it("keeps campaigning through API errors", async () => {
    const w = world();
    w.api.failNext("get", new KubeError("Transient", "connection refused", undefined), 3);
    const a = w.candidate("a");
    await w.clock.advance(14_999);
    expect(a.elector.isLeader()).toBe(false);
    await w.clock.advance(1);
    expect(a.elector.isLeader()).toBe(true);
    a.stop.abort();
    await a.exit;
  });

  it("rejects timings that would let two leaders overlap", () => {
    const api = new FakeObjectApi();
    const base = { client: api, clock: new FakeClock(), name: "l", namespace: "n", identity: "i" };
    expect(() => new LeaderElector({ ...base, leaseDurationMs: 30_000 })).toThrow(RangeError);
    expect(() => new LeaderElector({ ...base, retryPeriodMs: 30_000 })).toThrow(RangeError);
    expect(() => new LeaderElector({ ...base, identity: "" })).toThrow(RangeError);
    expect(
      () =>
        new LeaderElector({
          ...base,
          leaseDurationMs: 6_000,
          renewDeadlineMs: 4_000,
          retryPeriodMs: 1_000,
        }),
    ).not.toThrow();
  });
});

describe("parseLeaseRecord", () => {
  it("reads unset or mistyped fields as empty", () => {
    const lease: KubeObject = {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: {},
      spec: { holderIdentity: 5, leaseTransitions: "x" },
    };
    expect(parseLeaseRecord(lease)).toEqual({
      holderIdentity: "",
      leaseDurationSeconds: undefined,
      acquireTime: undefined,
      renewTime: undefined,
      leaseTransitions: 0,
    });
  });
});
