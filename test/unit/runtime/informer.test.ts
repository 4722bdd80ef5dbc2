import { afterEach, describe, expect, it } from "vitest";
import type { KubeObject } from "../../../src/kube/client.ts";
import { KubeError } from "../../../src/kube/errors.ts";
import { Informer, type ChangeEvent, type InformerOptions } from "../../../src/runtime/informer.ts";
import type { LogLevel } from "../../../src/runtime/log.ts";
import {
  DuplicateIndexError,
  NAMESPACE_INDEX,
  OWNER_INDEX,
  UnknownIndexError,
} from "../../../src/runtime/store.ts";
import { flush, until } from "../../fakes/async.ts";
import { FakeClock } from "../../fakes/clock.ts";
import {
  added,
  bookmark,
  deleted,
  FakeWatchSource,
  modified,
  object,
} from "../../fakes/watch-source.ts";

/** Events as short strings, so expectations read like a log: "added ns/a@1". */
function describeEvent(e: ChangeEvent): string {
  const rv = e.object.metadata.resourceVersion ?? "";
  if (e.type === "updated") {
    const from = e.old.metadata.resourceVersion ?? "";
    return e.resync ? `resync ${e.key}@${rv}` : `updated ${e.key}@${from}->${rv}`;
  }
  if (e.type === "deleted") return `deleted ${e.key}@${rv}${e.finalStateUnknown ? "?" : ""}`;
  return `added ${e.key}@${rv}`;
}

const stops: AbortController[] = [];
afterEach(() => {
  for (const s of stops.splice(0)) s.abort();
});

function harness(opts: Partial<InformerOptions> = {}) {
  const clock = new FakeClock();
  const source = new FakeWatchSource();
  const logs: { level: LogLevel; message: string; fields: Record<string, unknown> }[] = [];
  const informer = new Informer({
    source,
    clock,
    apiVersion: "v1",
    kind: "ConfigMap",
    random: () => 0,
    watchTimeoutSeconds: { min: 300, max: 600 },
    backoff: { jitter: 0 },
    log: (level, message, fields = {}) => logs.push({ level, message, fields }),
    ...opts,
  });
  const events: string[] = [];
  const raw: ChangeEvent[] = [];
  informer.onChange((e) => {
    raw.push(e);
    events.push(describeEvent(e));
  });
  const stop = new AbortController();
  stops.push(stop);
  let finished = false;
  const start = async () => {
    void informer.run(stop.signal).then(() => (finished = true));
    await flush();
  };
  /** Waits until the informer has opened its n-th watch (1-based). */
  const watchOpened = (n: number) => until(`watch #${n} opens`, () => source.watches.length >= n);
  return {
    clock,
    source,
    informer,
    events,
    raw,
    logs,
    stop,
    start,
    watchOpened,
    finished: () => finished,
  };
}

const a1 = object("a", "1");
const b1 = object("b", "2");

describe("Informer: initial sync", () => {
  it("lists, fills the store, announces every object and watches from the list's version", async () => {
    const h = harness();
    h.source.answerList([a1, b1], "10");
    expect(h.informer.hasSynced()).toBe(false);
    const synced = h.informer.waitForSync(h.stop.signal);
    await h.start();
    expect(await synced).toBe(true);
    expect(h.informer.hasSynced()).toBe(true);
    expect(h.events).toEqual(["added default/a@1", "added default/b@2"]);
    expect(h.informer.get("default/a")).toBe(a1);
    expect(h.informer.list()).toEqual([a1, b1]);
    expect(h.informer.keys()).toEqual(["default/a", "default/b"]);
    await h.watchOpened(1);
    expect(h.source.current.opts).toMatchObject({
      resourceVersion: "10",
      allowBookmarks: true,
      timeoutSeconds: 300,
    });
    expect(h.source.current.opts.signal).toBeInstanceOf(AbortSignal);
    expect(h.informer.stats()).toMatchObject({
      synced: true,
      items: 2,
      resourceVersion: "10",
      restarts: 0,
      relists: 0,
      lastEventAgeMs: 0,
    });
  });

  it("passes namespace, label and field selectors to list and watch alike", async () => {
    const h = harness({
      namespace: "team",
      labelSelector: "app=x",
      fieldSelector: "metadata.name=a",
    });
    await h.start();
    await h.watchOpened(1);
    const selectors = {
      namespace: "team",
      labelSelector: "app=x",
      fieldSelector: "metadata.name=a",
    };
    expect(h.source.listCalls).toEqual([{ apiVersion: "v1", kind: "ConfigMap", opts: selectors }]);
    expect(h.source.current).toMatchObject({ apiVersion: "v1", kind: "ConfigMap" });
    expect(h.source.current.opts).toMatchObject(selectors);
  });

  it("draws the server-side watch timeout from the configured range", async () => {
    const draws = [0, 0.9999];
    const h = harness({ random: () => draws.shift() ?? 0.5 });
    await h.start();
    await h.watchOpened(1);
    expect(h.source.current.opts.timeoutSeconds).toBe(300);
    h.source.current.push(bookmark("11"));
    h.source.current.end();
    await h.watchOpened(2);
    expect(h.source.current.opts.timeoutSeconds).toBe(600);
    h.source.current.push(bookmark("12"));
    h.source.current.end();
    await h.watchOpened(3);
    expect(h.source.current.opts.timeoutSeconds).toBe(450);
  });

  it("keys cluster-scoped objects by name alone", async () => {
    const h = harness();
    const node = object("node-1", "5", { namespace: "" });
    h.source.answerList([node], "5");
    await h.start();
    expect(h.informer.get("node-1")).toBe(node);
    expect(h.events).toEqual(["added node-1@5"]);
  });

  it("retries a failed first list with backoff and reports sync only after it succeeds", async () => {
    const h = harness();
    h.source
      .failList(new KubeError("Transient", "connection refused"))
      .failList(new Error("not even a KubeError"))
      .answerList([a1], "3");
    await h.start();
    expect(h.source.listCalls).toHaveLength(1);
    expect(h.informer.hasSynced()).toBe(false);
    await h.clock.advance(1_000);
    expect(h.source.listCalls).toHaveLength(2);
    expect(h.informer.hasSynced()).toBe(false);
    await h.clock.advance(1_999);
    expect(h.source.listCalls).toHaveLength(2);
    await h.clock.advance(1);
    expect(h.source.listCalls).toHaveLength(3);
    expect(h.informer.hasSynced()).toBe(true);
    expect(h.events).toEqual(["added default/a@1"]);
    expect(h.logs.filter((l) => l.message === "list failed; retrying")).toHaveLength(2);
    // A failed initial list is not a relist.
    expect(h.informer.stats().relists).toBe(0);
  });

  it("waitForSync answers false when its signal aborts first", async () => {
    const h = harness();
    const cancel = new AbortController();
    const synced = h.informer.waitForSync(cancel.signal);
    cancel.abort();
    expect(await synced).toBe(false);
    expect(await h.informer.waitForSync(cancel.signal)).toBe(false);
  });
});

describe("Informer: watching", () => {
  it("applies ADDED, MODIFIED and DELETED to the store and announces them", async () => {
    const h = harness();
    h.source.answerList([a1], "1");
    await h.start();
    await h.watchOpened(1);
    const a2 = object("a", "4", { labels: { x: "y" } });
    const c = object("c", "3");
    h.source.current.push(added(c), modified(a2), deleted(object("c", "5")));
    await flush();
    expect(h.events).toEqual([
      "added default/a@1",
      "added default/c@3",
      "updated default/a@1->4",
      "deleted default/c@5",
    ]);
    expect(h.informer.get("default/a")).toBe(a2);
    expect(h.informer.get("default/c")).toBeUndefined();
    expect(h.informer.stats().resourceVersion).toBe("5");
    const update = h.raw.find((e) => e.type === "updated");
    expect(update?.type === "updated" && update.old).toBe(a1);
  });

  it("stores but does not announce an event that repeats the version it holds", async () => {
    const h = harness();
    h.source.answerList([a1], "1");
    await h.start();
    await h.watchOpened(1);
    const replay = object("a", "1");
    h.source.current.push(added(replay), modified(replay));
    await flush();
    expect(h.events).toEqual(["added default/a@1"]);
    expect(h.informer.get("default/a")).toBe(replay);
  });

  it("does not announce the delete of an object it never had", async () => {
    const h = harness();
    await h.start();
    await h.watchOpened(1);
    h.source.current.push(deleted(object("ghost", "7")));
    await flush();
    expect(h.events).toEqual([]);
    expect(h.informer.stats().resourceVersion).toBe("7");
  });

  it("treats a BOOKMARK as a new resourceVersion only, which the next watch starts from", async () => {
    const h = harness();
    h.source.answerList([a1], "10");
    await h.start();
    await h.watchOpened(1);
    h.source.current.push(bookmark("20"));
    await flush();
    expect(h.events).toEqual(["added default/a@1"]);
    expect(h.informer.list()).toEqual([a1]);
    expect(h.informer.stats().resourceVersion).toBe("20");
    h.source.current.end();
    await h.watchOpened(2);
    expect(h.source.current.opts.resourceVersion).toBe("20");
    expect(h.source.listCalls).toHaveLength(1);
  });

  it("re-watches at once from the last resourceVersion when a watch ends normally", async () => {
    const h = harness();
    h.source.answerList([], "10");
    h.source.scriptWatch({
      events: [added(object("a", "11")), added(object("b", "12"))],
      then: "end",
    });
    await h.start();
    await h.watchOpened(2);
    expect(h.source.watches[0]?.closed).toBe(true);
    expect(h.source.current.opts.resourceVersion).toBe("12");
    expect(h.source.listCalls).toHaveLength(1);
    expect(h.informer.stats()).toMatchObject({ restarts: 0, relists: 0 });
    expect(h.events).toEqual(["added default/a@11", "added default/b@12"]);
  });

  it("backs off before re-watching when a watch ends at once with nothing in it", async () => {
    const h = harness();
    h.source.answerList([], "10");
    h.source.scriptWatch({ then: "end" });
    await h.start();
    await h.watchOpened(1);
    await flush();
    expect(h.source.watches).toHaveLength(1);
    await h.clock.advance(1_000);
    await h.watchOpened(2);
    expect(h.source.current.opts.resourceVersion).toBe("10");
  });

  it("keeps indexes in step with adds, updates and deletes", async () => {
    const h = harness();
    const owned = object("a", "1", { namespace: "ns1", owners: ["owner-1"], labels: { app: "x" } });
    h.source.answerList([owned, object("b", "2", { namespace: "ns2" })], "2");
    await h.start();
    h.informer.addIndex("app", (o) => {
      const app = o.metadata.labels?.["app"];
      return app ? [app] : [];
    });
    const names = (objs: KubeObject[]) => objs.map((o) => o.metadata.name).sort();
    // An index added after the sync covers what is already in the store.
    expect(names(h.informer.byIndex("app", "x"))).toEqual(["a"]);
    expect(names(h.informer.byIndex(NAMESPACE_INDEX, "ns1"))).toEqual(["a"]);
    expect(names(h.informer.byIndex(NAMESPACE_INDEX, "ns2"))).toEqual(["b"]);
    expect(names(h.informer.byIndex(OWNER_INDEX, "owner-1"))).toEqual(["a"]);

    await h.watchOpened(1);
    const moved = object("a", "3", { namespace: "ns1", owners: ["owner-2"], labels: { app: "y" } });
    h.source.current.push(
      modified(moved),
      added(object("c", "4", { namespace: "ns1", owners: ["owner-2"] })),
    );
    await flush();
    expect(h.informer.byIndex("app", "x")).toEqual([]);
    expect(names(h.informer.byIndex("app", "y"))).toEqual(["a"]);
    expect(h.informer.byIndex(OWNER_INDEX, "owner-1")).toEqual([]);
    expect(names(h.informer.byIndex(OWNER_INDEX, "owner-2"))).toEqual(["a", "c"]);
    expect(names(h.informer.byIndex(NAMESPACE_INDEX, "ns1"))).toEqual(["a", "c"]);

    h.source.current.push(deleted(moved));
    await flush();
    expect(h.informer.byIndex("app", "y")).toEqual([]);
    expect(names(h.informer.byIndex(OWNER_INDEX, "owner-2"))).toEqual(["c"]);
    expect(names(h.informer.byIndex(NAMESPACE_INDEX, "ns1"))).toEqual(["c"]);
  });

  it("rejects an unknown or duplicate index", () => {
    const h = harness();
    expect(() => h.informer.byIndex("nope", "x")).toThrow(UnknownIndexError);
    expect(() => h.informer.addIndex(NAMESPACE_INDEX, () => [])).toThrow(DuplicateIndexError);
  });

  it("keeps announcing to other handlers when one throws", async () => {
    const h = harness();
    h.informer.onChange(() => {
      throw new Error("bad handler");
    });
    const later: string[] = [];
    const unsubscribe = h.informer.onChange((e) => later.push(e.key));
    h.source.answerList([a1], "1");
    await h.start();
    await h.watchOpened(1);
    unsubscribe();
    h.source.current.push(added(object("z", "2")));
    await flush();
    expect(later).toEqual(["default/a"]);
    expect(h.events).toEqual(["added default/a@1", "added default/z@2"]);
    expect(h.logs.filter((l) => l.message === "change handler failed")).toHaveLength(2);
  });
});

describe("Informer: 410 Gone", () => {
  it("relists and announces exactly the difference: deletes, updates and adds", async () => {
    const h = harness();
    const keep = object("keep", "1");
    const change = object("change", "2");
    const vanish = object("vanish", "3");
    h.source.answerList([keep, change, vanish], "3");
    await h.start();
    await h.watchOpened(1);
    h.source.current.push(bookmark("5"));
    await flush();
    const changed = object("change", "8");
    const fresh = object("fresh", "9");
    h.source.answerList([keep, changed, fresh], "9");
    h.source.current.fail("Gone");
    await h.watchOpened(2);
    expect(h.events.slice(3)).toEqual([
      "deleted default/vanish@3?",
      "updated default/change@2->8",
      "added default/fresh@9",
    ]);
    expect(h.source.listCalls).toHaveLength(2);
    expect(h.source.current.opts.resourceVersion).toBe("9");
    expect(h.informer.keys().sort()).toEqual(["default/change", "default/fresh", "default/keep"]);
    expect(h.informer.get("default/change")).toBe(changed);
    expect(h.informer.stats()).toMatchObject({ relists: 1, restarts: 0, resourceVersion: "9" });
  });

  it("announces nothing when a relist finds the store already right", async () => {
    const h = harness();
    h.source.answerList([a1, b1], "3");
    await h.start();
    await h.watchOpened(1);
    h.source.current.push(bookmark("4"));
    h.source.current.fail("Gone");
    await h.watchOpened(2);
    expect(h.events).toEqual(["added default/a@1", "added default/b@2"]);
    expect(h.informer.stats().relists).toBe(1);
  });

  it("relists after a Gone in the middle of a stream of events", async () => {
    const h = harness();
    h.source.answerList([a1], "1");
    h.source.scriptWatch({
      events: [added(object("b", "5"))],
      then: new KubeError("Gone", "too old resource version", 410),
    });
    h.source.answerList([a1, object("b", "5"), object("c", "6")], "6");
    await h.start();
    await h.watchOpened(2);
    expect(h.events).toEqual(["added default/a@1", "added default/b@5", "added default/c@6"]);
    expect(h.source.listCalls).toHaveLength(2);
  });

  it("backs off before relisting when Gone comes back with nothing in between", async () => {
    const h = harness();
    h.source.answerList([a1], "1");
    h.source.scriptWatch({ then: new KubeError("Gone", "expired", 410) });
    await h.start();
    await h.watchOpened(1);
    await flush();
    expect(h.source.listCalls).toHaveLength(1);
    await h.clock.advance(1_000);
    await h.watchOpened(2);
    expect(h.source.listCalls).toHaveLength(2);
  });
});

describe("Informer: other failures", () => {
  it("restarts the watch with doubling backoff, capped, resuming from the last version", async () => {
    const h = harness({ backoff: { baseMs: 1_000, maxMs: 4_000, jitter: 0 } });
    h.source.answerList([a1], "10");
    // An answer from a serving API (500), so the cap for an unreachable one does not apply.
    for (let i = 0; i < 4; i++)
      h.source.scriptWatch({ then: new KubeError("Transient", "internal error", 500) });
    await h.start();
    await h.watchOpened(1);
    const waits: number[] = [];
    for (let n = 2; n <= 5; n++) {
      let waited = 0;
      while (h.source.watches.length < n) {
        await h.clock.advance(500);
        waited += 500;
        if (waited > 60_000) throw new Error(`watch #${n} never opened`);
      }
      waits.push(waited);
    }
    expect(waits).toEqual([1_000, 2_000, 4_000, 4_000]);
    expect(h.source.watches.map((w) => w.opts.resourceVersion)).toEqual([
      "10",
      "10",
      "10",
      "10",
      "10",
    ]);
    expect(h.source.listCalls).toHaveLength(1);
    expect(h.informer.stats().restarts).toBe(4);
    expect(h.logs.filter((l) => l.message === "watch failed; restarting")).toHaveLength(4);
  });

  it("retries at least every 2 s while the API cannot be reached", async () => {
    const h = harness({ backoff: { baseMs: 1_000, maxMs: 30_000, jitter: 0 } });
    h.source.answerList([a1], "10");
    const refused = new KubeError("Transient", "watch ConfigMap: connect ECONNREFUSED");
    for (let i = 0; i < 5; i++) h.source.scriptWatch({ then: refused });
    await h.start();
    await h.watchOpened(1);
    const waits: number[] = [];
    for (let n = 2; n <= 6; n++) {
      let waited = 0;
      while (h.source.watches.length < n) {
        await h.clock.advance(500);
        waited += 500;
        if (waited > 60_000) throw new Error(`watch #${n} never opened`);
      }
      waits.push(waited);
    }
    // Uncapped this would be 1, 2, 4, 8, 16 s.
    expect(waits).toEqual([1_000, 2_000, 2_000, 2_000, 2_000]);
  });

  it("starts the backoff afresh after a watch that delivered events", async () => {
    const h = harness({ backoff: { baseMs: 1_000, maxMs: 30_000, jitter: 0 } });
    h.source.answerList([], "1");
    h.source.scriptWatch({ then: new KubeError("Transient", "reset") });
    h.source.scriptWatch({ then: new KubeError("Transient", "reset") });
    h.source.scriptWatch({ events: [bookmark("2")], then: new KubeError("Transient", "reset") });
    await h.start();
    await h.clock.advance(1_000);
    await h.clock.advance(2_000);
    await h.watchOpened(3);
    // The third watch worked for a while: the next wait is the base again, not 4 s.
    await h.clock.advance(999);
    expect(h.source.watches).toHaveLength(3);
    await h.clock.advance(1);
    await h.watchOpened(4);
    expect(h.source.current.opts.resourceVersion).toBe("2");
  });

  it("jitters the restart backoff", async () => {
    const h = harness({
      random: () => 0.5,
      backoff: { baseMs: 1_000, maxMs: 30_000, jitter: 0.2 },
    });
    h.source.scriptWatch({ then: new KubeError("Transient", "reset") });
    await h.start();
    await h.watchOpened(1);
    await h.clock.advance(899);
    expect(h.source.watches).toHaveLength(1);
    await h.clock.advance(1);
    await h.watchOpened(2);
  });
});

describe("Informer: watchdog", () => {
  it("restarts a watch that delivers nothing, not even a bookmark, for twice its timeout", async () => {
    const h = harness({ watchTimeoutSeconds: { min: 10, max: 10 } });
    h.source.answerList([a1], "1");
    await h.start();
    await h.watchOpened(1);
    await h.clock.advance(15_000);
    h.source.current.push(bookmark("2"));
    // The bookmark re-armed the watchdog: 20 s from now, not from the start.
    await h.clock.advance(19_999);
    expect(h.source.watches).toHaveLength(1);
    expect(h.source.current.closed).toBe(false);
    await h.clock.advance(1);
    await h.watchOpened(2);
    expect(h.source.watches[0]?.closed).toBe(true);
    expect(h.source.current.opts.resourceVersion).toBe("2");
    expect(h.informer.stats().restarts).toBe(1);
    expect(h.informer.stats().lastEventAgeMs).toBe(20_000);
    expect(h.logs.some((l) => l.message === "watch went silent; restarting")).toBe(true);
  });

  it("abandons a dead watch that ignores its abort signal", async () => {
    const h = harness({ watchTimeoutSeconds: { min: 5, max: 5 } });
    h.source.answerList([a1], "1");
    h.source.scriptWatch({ then: "hang" });
    await h.start();
    await h.watchOpened(1);
    await h.clock.advance(10_000);
    await h.watchOpened(2);
    h.source.current.push(added(object("b", "2")));
    await flush();
    expect(h.informer.get("default/b")).toBeDefined();
    expect(h.informer.stats().restarts).toBe(1);
  });
});

describe("Informer: resync", () => {
  it("re-announces every object periodically as an unchanged update", async () => {
    const h = harness({ resyncMs: 60_000 });
    h.source.answerList([a1, b1], "2");
    await h.start();
    await h.watchOpened(1);
    await h.clock.advance(59_999);
    expect(h.events).toHaveLength(2);
    await h.clock.advance(1);
    expect(h.events.slice(2)).toEqual(["resync default/a@1", "resync default/b@2"]);
    const resync = h.raw[2];
    expect(resync?.type === "updated" && resync.old === resync.object).toBe(true);
    await h.clock.advance(60_000);
    expect(h.events).toHaveLength(6);
  });

  it("does not resync when disabled", async () => {
    const h = harness({ resyncMs: 0 });
    h.source.answerList([a1], "1");
    await h.start();
    await h.clock.advance(3_600_000);
    expect(h.events).toEqual(["added default/a@1"]);
  });
});

describe("Informer: run", () => {
  it("stops when its signal aborts, closing the watch and its timers", async () => {
    const h = harness();
    h.source.answerList([a1], "1");
    await h.start();
    await h.watchOpened(1);
    h.stop.abort();
    await until("run resolves", h.finished);
    expect(h.source.current.closed).toBe(true);
    expect(h.clock.pending()).toEqual([]);
  });

  it("stops while backing off", async () => {
    const h = harness();
    h.source.failList(new KubeError("Forbidden", "no"));
    await h.start();
    expect(h.clock.pending()).toEqual([1_000, 600_000]);
    h.stop.abort();
    await until("run resolves", h.finished);
    expect(h.clock.pending()).toEqual([]);
    expect(h.source.listCalls).toHaveLength(1);
  });

  it("refuses to run twice at once", async () => {
    const h = harness();
    await h.start();
    await expect(h.informer.run(h.stop.signal)).rejects.toThrow(/already running/);
  });
});
