// The informer against real API servers: the shared test-bed cluster for the everyday path, and
// a cluster of its own for an API server restart. Nothing here mocks the API; the one wrapper
// below only changes which resourceVersion a watch asks for, and the server decides the rest.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster } from "../../../testbed/src/cluster.ts";
import type {
  KubeClient,
  KubeObject,
  ListOptions,
  ListResult,
  WatchEvent,
  WatchOptions,
} from "../../../src/kube/client.ts";
import { systemClock } from "../../../src/runtime/clock.ts";
import { Informer, type ChangeEvent, type WatchSource } from "../../../src/runtime/informer.ts";
import { objectKey } from "../../../src/runtime/keys.ts";
import { NAMESPACE_INDEX } from "../../../src/runtime/store.ts";
import { deferred, type Deferred } from "../../fakes/async.ts";
import {
  createTestNamespace,
  deleteNamespace,
  eventually,
  testClient,
} from "../../support/kube.ts";

interface Running {
  readonly informer: Informer;
  readonly events: ChangeEvent[];
  readonly logs: string[];
  stop(): Promise<void>;
}

function startInformer(
  source: WatchSource,
  opts: { namespace: string; labelSelector?: string },
): Running {
  const events: ChangeEvent[] = [];
  const logs: string[] = [];
  const informer = new Informer({
    source,
    apiVersion: "v1",
    kind: "ConfigMap",
    namespace: opts.namespace,
    ...(opts.labelSelector ? { labelSelector: opts.labelSelector } : {}),
    clock: systemClock(),
    // Short waits keep the tests quick; the logic is the same as with the defaults.
    backoff: { baseMs: 200, maxMs: 2_000 },
    log: (level, message, fields) => {
      const err = fields?.["err"];
      logs.push(`${level} ${message}${err instanceof Error ? `: ${err.message}` : ""}`);
    },
  });
  informer.onChange((e) => events.push(e));
  const abort = new AbortController();
  const running = informer.run(abort.signal);
  return {
    informer,
    events,
    logs,
    async stop() {
      abort.abort();
      await running;
    },
  };
}

function configMap(namespace: string, name: string, data: Record<string, string> = {}) {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace, labels: { test: "informer" } },
    data,
  };
}

function ref(namespace: string, name: string) {
  return { apiVersion: "v1", kind: "ConfigMap", namespace, name };
}

/** key → resourceVersion, the part of a cache that must equal the server's view. */
function versions(objects: readonly KubeObject[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const o of objects) out[objectKey(o.metadata)] = o.metadata.resourceVersion ?? "";
  return out;
}

/** Resolves once the informer's cache equals a fresh list from the server. */
async function cacheMatchesServer(
  client: KubeClient,
  running: Running,
  opts: ListOptions,
): Promise<ListResult> {
  return eventually(
    "the informer's cache to equal a fresh list",
    async () => {
      const fresh = await client.list("v1", "ConfigMap", opts);
      const same =
        JSON.stringify(sorted(versions(fresh.items))) ===
        JSON.stringify(sorted(versions(running.informer.list())));
      return same ? fresh : undefined;
    },
    60_000,
  );
}

function sorted(record: Record<string, string>): [string, string][] {
  return Object.entries(record).sort(([a], [b]) => a.localeCompare(b));
}

/**
 * Replays the events per key and reports anything that breaks "added, updated*, deleted": an
 * update or delete of something never added, or an add of something already present. Returns
 * the keys the events leave present, which must be exactly what the server has.
 */
function replay(events: readonly ChangeEvent[]): { problems: string[]; present: Set<string> } {
  const present = new Set<string>();
  const problems: string[] = [];
  for (const e of events) {
    if (e.type === "added") {
      if (present.has(e.key)) problems.push(`added twice: ${e.key}`);
      present.add(e.key);
    } else if (e.type === "updated") {
      if (!present.has(e.key)) problems.push(`updated without add: ${e.key}`);
    } else {
      if (!present.has(e.key)) problems.push(`deleted without add: ${e.key}`);
      present.delete(e.key);
    }
  }
  return { problems, present };
}

function lastEvent(events: readonly ChangeEvent[], key: string): ChangeEvent | undefined {
  return events.filter((e) => e.key === key).at(-1);
}

/** Checks the full story: the event replay leaves exactly the server's objects, without gaps. */
function expectEventsToTell(running: Running, fresh: ListResult): void {
  const { problems, present } = replay(running.events);
  expect(problems).toEqual([]);
  expect([...present].sort()).toEqual(fresh.items.map((o) => objectKey(o.metadata)).sort());
  for (const item of fresh.items) {
    // The last word on each surviving object carries the version the server has now.
    const last = lastEvent(running.events, objectKey(item.metadata));
    expect(last?.type).not.toBe("deleted");
    expect(last?.object.metadata.resourceVersion).toBe(item.metadata.resourceVersion);
  }
}

/**
 * A WatchSource that passes everything to the real client, except that on request it ends the
 * current watch and makes the next one wait for the test, then resume from a resourceVersion
 * the API server no longer has: what an informer sees after a long network partition.
 */
class StaleResumeSource implements WatchSource {
  readonly #inner: KubeClient;
  #current: AbortController | undefined;
  #held: { readonly gate: Deferred<void>; readonly resourceVersion: string } | undefined;
  readonly watchedFrom: string[] = [];

  constructor(inner: KubeClient) {
    this.#inner = inner;
  }

  list(apiVersion: string, kind: string, opts?: ListOptions): Promise<ListResult> {
    return this.#inner.list(apiVersion, kind, opts);
  }

  async *watch(
    apiVersion: string,
    kind: string,
    opts: WatchOptions = {},
  ): AsyncGenerator<WatchEvent> {
    let resourceVersion = opts.resourceVersion;
    const held = this.#held;
    if (held) {
      this.#held = undefined;
      await held.gate.promise;
      resourceVersion = held.resourceVersion;
    }
    this.watchedFrom.push(resourceVersion ?? "");
    const local = new AbortController();
    this.#current = local;
    const signal = opts.signal ? AbortSignal.any([opts.signal, local.signal]) : local.signal;
    yield* this.#inner.watch(apiVersion, kind, {
      ...opts,
      ...(resourceVersion !== undefined ? { resourceVersion } : {}),
      signal,
    });
  }

  /** Ends the running watch; the next one waits for `release` and then resumes from `rv`. */
  interrupt(rv: string): () => void {
    const gate = deferred();
    this.#held = { gate, resourceVersion: rv };
    this.#current?.abort();
    return () => gate.resolve();
  }
}

/** Makes etcd forget every revision before `revision`, through its JSON gateway. */
async function compactEtcd(cluster: Cluster, revision: string): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${cluster.ports.etcd}/v3/kv/compaction`, {
    method: "POST",
    body: JSON.stringify({ revision, physical: true }),
  });
  if (!response.ok) {
    throw new Error(`etcd compaction: HTTP ${response.status}: ${await response.text()}`);
  }
}

describe("informer on the shared cluster", () => {
  const client = testClient();
  let namespace: string;

  beforeAll(async () => {
    namespace = await createTestNamespace(client, "informer");
  });
  afterAll(async () => {
    await deleteNamespace(client, namespace);
  });

  it("sees creates, updates and deletes, and its cache equals a fresh list", async () => {
    await client.create(configMap(namespace, "before"));
    const running = startInformer(client, { namespace });
    const labelled = startInformer(client, { namespace, labelSelector: "test=informer" });
    try {
      expect(await running.informer.waitForSync(AbortSignal.timeout(30_000))).toBe(true);
      expect(await labelled.informer.waitForSync(AbortSignal.timeout(30_000))).toBe(true);
      expect(running.informer.get(`${namespace}/before`)).toBeDefined();

      for (const name of ["one", "two", "three"]) await client.create(configMap(namespace, name));
      await client.mergePatch(ref(namespace, "one"), { data: { k: "v" } });
      await client.delete(ref(namespace, "two"));
      await client.delete(ref(namespace, "before"));
      // Not labelled: only the unfiltered informer may see it.
      await client.create({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "plain", namespace },
      });

      const fresh = await cacheMatchesServer(client, running, { namespace });
      expectEventsToTell(running, fresh);
      const types = (key: string) =>
        running.events.filter((e) => e.key === `${namespace}/${key}`).map((e) => e.type);
      expect(types("one")).toEqual(["added", "updated"]);
      expect(types("two")).toEqual(["added", "deleted"]);
      expect(types("before")).toEqual(["added", "deleted"]);
      expect(types("three")).toEqual(["added"]);
      expect(running.informer.get(`${namespace}/one`)?.["data"]).toEqual({ k: "v" });
      // The namespace's CA bundle ConfigMap is there too: the informer saw everything.
      expect(running.informer.get(`${namespace}/kube-root-ca.crt`)).toBeDefined();
      expect(running.informer.byIndex(NAMESPACE_INDEX, namespace)).toHaveLength(fresh.items.length);

      const freshLabelled = await cacheMatchesServer(client, labelled, {
        namespace,
        labelSelector: "test=informer",
      });
      expectEventsToTell(labelled, freshLabelled);
      expect(labelled.informer.keys().sort()).toEqual(
        ["one", "three"].map((n) => `${namespace}/${n}`),
      );
      expect(running.informer.stats()).toMatchObject({ restarts: 0, relists: 0 });
    } finally {
      await running.stop();
      await labelled.stop();
    }
  });
});

describe("informer on a cluster of its own", () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await Cluster.start({ nodes: 1 });
  }, 180_000);
  afterAll(async () => {
    await cluster.stop();
  });

  it("keeps a correct cache across a kube-apiserver restart, with no lost or phantom events", async () => {
    const client = cluster.client();
    const namespace = "informer-restart";
    await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } });
    for (const name of ["a", "b", "c"]) await client.create(configMap(namespace, name));
    const running = startInformer(client, { namespace, labelSelector: "test=informer" });
    const opts = { namespace, labelSelector: "test=informer" };
    try {
      await running.informer.waitForSync(AbortSignal.timeout(30_000));
      await cacheMatchesServer(client, running, opts);

      await cluster.restart("kube-apiserver");
      // Straight after the restart, before the informer has had a chance to reconnect.
      await client.delete(ref(namespace, "b"));
      await client.create(configMap(namespace, "d"));
      await client.mergePatch(ref(namespace, "a"), { data: { k: "after-restart" } });

      const fresh = await cacheMatchesServer(client, running, opts);
      expectEventsToTell(running, fresh);
      expect(lastEvent(running.events, `${namespace}/b`)?.type).toBe("deleted");
      expect(lastEvent(running.events, `${namespace}/d`)?.type).toBe("added");
      expect(lastEvent(running.events, `${namespace}/a`)?.type).toBe("updated");
      expect(running.informer.get(`${namespace}/a`)?.["data"]).toEqual({ k: "after-restart" });
      // The restart really cut the watch, and the informer recovered from it.
      const stats = running.informer.stats();
      expect(stats.restarts + stats.relists).toBeGreaterThanOrEqual(1);

      // And it keeps working afterwards.
      await client.create(configMap(namespace, "e"));
      await client.delete(ref(namespace, "c"));
      expectEventsToTell(running, await cacheMatchesServer(client, running, opts));
    } finally {
      await running.stop();
    }
    expect(cluster.deadComponents()).toEqual([]);
  });

  it("relists when its watch must resume from a compacted version (410 Gone)", async () => {
    const client = cluster.client();
    const namespace = "informer-expiry";
    const opts = { namespace, labelSelector: "test=informer" };
    await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } });
    for (const name of ["keep", "change", "vanish"]) {
      await client.create(configMap(namespace, name));
    }
    const source = new StaleResumeSource(client);
    const running = startInformer(source, opts);
    try {
      await running.informer.waitForSync(AbortSignal.timeout(30_000));
      // An object the informer can only learn about through its watch proves the watch is
      // established. KubeClient.watch misses an abort that arrives while it is still connecting,
      // so interrupting any earlier could leave the first watch running.
      await client.create(configMap(namespace, "marker"));
      await eventually("the watch delivers the marker", () =>
        Promise.resolve(running.informer.get(`${namespace}/marker`)),
      );
      await cacheMatchesServer(client, running, opts);
      const eventsBefore = running.events.length;

      // Cut the watch and change things while the informer is blind. Then make etcd forget all
      // history up to now, and let the informer resume from "1": the API server has to serve
      // that from etcd, which answers that the version is compacted, and the watch ends in
      // 410 Gone exactly as after a long partition.
      const release = source.interrupt("1");
      await client.delete(ref(namespace, "vanish"));
      await client.mergePatch(ref(namespace, "change"), { data: { k: "v2" } });
      await client.create(configMap(namespace, "fresh"));
      await compactEtcd(cluster, (await client.list("v1", "ConfigMap", opts)).resourceVersion);
      release();

      const fresh = await cacheMatchesServer(client, running, opts);
      expectEventsToTell(running, fresh);
      expect(source.watchedFrom).toContain("1");
      expect(running.logs.some((l) => l.includes("410 Gone"))).toBe(true);
      expect(running.informer.stats().relists).toBe(1);
      // What the relist announced: exactly the three changes, nothing about the others.
      const after = running.events.slice(eventsBefore).map((e) => {
        const unknown = e.type === "deleted" && e.finalStateUnknown ? "?" : "";
        return `${e.type} ${e.object.metadata.name ?? ""}${unknown}`;
      });
      expect(after.sort()).toEqual(["added fresh", "deleted vanish?", "updated change"]);
    } finally {
      await running.stop();
    }
  });
});
