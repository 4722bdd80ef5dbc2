// Recovery after an API outage, against a real kube-apiserver that is stopped for 30 s and then
// started again (a cluster of its own, so the shared one is not disturbed). Keys that fail only
// because the API cannot be reached keep retrying at a capped interval, and the informer keeps
// trying to reconnect, so once the API answers again every waiting key and the cache make
// progress within seconds, not after a backoff that grew during the outage (issue 19.4).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster } from "../../../testbed/src/cluster.ts";
import type { KubeClient } from "../../../src/kube/client.ts";
import { systemClock } from "../../../src/runtime/clock.ts";
import { Controller } from "../../../src/runtime/controller.ts";
import { Informer } from "../../../src/runtime/informer.ts";
import { done, retry } from "../../../src/runtime/outcome.ts";
import { WorkQueue } from "../../../src/runtime/workqueue.ts";
import { eventually } from "../../support/kube.ts";

const NS = "outage";
const KEYS = 10;
const OUTAGE_MS = 30_000;
// The cap is 2 s; the rest is slack for a loaded machine (two shared cores).
const RECOVERY_BOUND_MS = 10_000;

describe("recovery after a kube-apiserver outage", () => {
  let cluster: Cluster;
  let client: KubeClient;

  beforeAll(async () => {
    cluster = await Cluster.start({ nodes: 1 });
    client = cluster.client();
    await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
  }, 180_000);
  afterAll(async () => {
    await cluster.stop();
  });

  it("every waiting key and the informer make progress within seconds of the API's return", async () => {
    const clock = systemClock();
    // The default backoffs: 1 s doubling to 5 min per key, 1 s doubling to 30 s per informer.
    const queue = new WorkQueue({ clock, workers: 4 });
    const doneAt = new Map<string, number>();
    const failures = new Map<string, number>();
    const controller = new Controller({
      name: "outage",
      queue,
      reconcile: async (key) => {
        const name = key.split("/")[1] ?? key;
        try {
          await client.create({
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name, namespace: NS, labels: { test: "outage" } },
          });
        } catch (err) {
          failures.set(key, (failures.get(key) ?? 0) + 1);
          return retry(err);
        }
        doneAt.set(key, Date.now());
        return done();
      },
    });
    const informer = new Informer({
      source: client,
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: NS,
      labelSelector: "test=outage",
      clock,
    });
    const abort = new AbortController();
    const running = informer.run(abort.signal);
    try {
      expect(await informer.waitForSync(abort.signal)).toBe(true);
      controller.start();

      // The API goes away; meanwhile every key gets work that needs it.
      const restarted = cluster.restart("kube-apiserver", { downMs: OUTAGE_MS });
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      for (let i = 0; i < KEYS; i++) controller.enqueue(`${NS}/cm-${i}`);
      await restarted;
      const back = Date.now();

      await eventually(
        "every key done",
        () => Promise.resolve(doneAt.size === KEYS ? true : undefined),
        60_000,
      );
      // Each key failed several times during the outage (its uncapped backoff would have grown
      // to 16 s or more), yet every one finished within seconds of the API's return.
      for (const [key, count] of failures) expect(count, key).toBeGreaterThanOrEqual(4);
      const slowest = Math.max(...doneAt.values()) - back;
      expect(slowest).toBeLessThan(RECOVERY_BOUND_MS);

      // The informer is watching again: it sees every object the keys created.
      await eventually(
        "the informer holds every ConfigMap",
        () => Promise.resolve(informer.list().length === KEYS ? true : undefined),
        RECOVERY_BOUND_MS,
      );
      expect(Date.now() - back).toBeLessThan(2 * RECOVERY_BOUND_MS);
    } finally {
      abort.abort();
      await controller.shutdown(5_000);
      await running;
    }
  }, 240_000);
});
