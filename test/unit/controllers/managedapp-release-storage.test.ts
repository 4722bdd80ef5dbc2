import { describe, expect, it } from "vitest";
import { ReleaseStorage } from "../../../src/helm/release-storage.ts";
import { ReleaseCache } from "../../../src/helm/cache.ts";
import type { KubeObject, ListOptions } from "../../../src/kube/client.ts";
import { KubeError } from "../../../src/kube/errors.ts";
import { captured, derive } from "../../fixtures/load.ts";

const withoutInventory = (
  resourceVersion: string,
  change: (status: Record<string, unknown>) => void = () => undefined,
) =>
  derive(captured("helmrelease.json"), (hr) => {
    const status = hr["status"] as Record<string, unknown>;
    delete status["inventory"];
    (hr.metadata as { resourceVersion: string }).resourceVersion = resourceVersion;
    change(status);
  });
/** helm-controller starting an upgrade: it records the attempt before running Helm. */
const attempting = (status: Record<string, unknown>) => {
  status["lastAttemptedRevision"] = "9.9.9";
};
/** A routine reconcile: Ready goes Unknown and back, nothing else moves. */
const reconciling = (status: Record<string, unknown>) => {
  status["conditions"] = [
    {
      type: "Ready",
      status: "Unknown",
      reason: "Progressing",
      message: "Reconciliation in progress",
    },
  ];
};

class Lister {
  readonly calls: (ListOptions & { kind: string })[] = [];
  secrets: KubeObject[] = [captured("helm-secret-v1.json"), captured("helm-secret-v2.json")];
  failure: Error | undefined;
  list(_apiVersion: string, kind: string, opts: ListOptions = {}) {
    this.calls.push({ kind, ...opts });
    if (this.failure) return Promise.reject(this.failure);
    return Promise.resolve({ items: this.secrets, resourceVersion: "1" });
  }
}

describe("ReleaseStorage", () => {
  it("lists the release's Secrets by label in the storage namespace and selects the release", async () => {
    const lister = new Lister();
    const view = await new ReleaseStorage(lister, new ReleaseCache()).read(withoutInventory("7"));
    expect(lister.calls).toEqual([
      { kind: "Secret", namespace: "shop", labelSelector: "owner=helm,name=demo" },
    ]);
    expect(view.kind === "read" && view.selection.current?.version).toBe(2);
  });

  it("lists again only when a Helm action changed the HelmRelease, and decodes unchanged Secrets once", async () => {
    const lister = new Lister();
    const cache = new ReleaseCache();
    const storage = new ReleaseStorage(lister, cache);
    await storage.read(withoutInventory("7"));
    await storage.read(withoutInventory("7"));
    expect(lister.calls).toHaveLength(1);
    expect(cache.stats).toMatchObject({ misses: 2, hits: 0 });
    lister.secrets = [...lister.secrets, captured("helm-secret-v3-pending.json")];
    // A routine reconcile moves the resourceVersion and the conditions only: no list.
    await storage.read(withoutInventory("8", reconciling));
    expect(lister.calls).toHaveLength(1);
    const view = await storage.read(withoutInventory("9", attempting));
    expect(lister.calls).toHaveLength(2);
    expect(cache.stats).toMatchObject({ misses: 3, hits: 2 });
    expect(view.kind === "read" && view.selection.problems.map((p) => p.code)).toEqual([
      "PendingRelease",
    ]);
    storage.forget("shop", "demo");
    await storage.read(withoutInventory("9", attempting));
    expect(lister.calls).toHaveLength(3);
  });

  it("lists again once the answer is maxAgeMs old, and when the HelmRelease's annotations change", async () => {
    const lister = new Lister();
    let now = 1_000_000;
    const storage = new ReleaseStorage(lister, new ReleaseCache(), {
      maxAgeMs: 600_000,
      now: () => now,
    });
    await storage.read(withoutInventory("7"));
    now += 599_999;
    await storage.read(withoutInventory("8", reconciling));
    expect(lister.calls).toHaveLength(1);
    now += 1;
    await storage.read(withoutInventory("8", reconciling));
    expect(lister.calls).toHaveLength(2);
    const requested = derive(withoutInventory("9"), (hr) => {
      (hr.metadata as { annotations?: Record<string, string> }).annotations = {
        "reconcile.fluxcd.io/requestedAt": "2026-12-06T09:00:00Z",
      };
    });
    await storage.read(requested);
    expect(lister.calls).toHaveLength(3);
  });

  it("turns a refusal into a view the evaluation reports, and lets other failures be retried", async () => {
    const lister = new Lister();
    lister.failure = new KubeError("Forbidden", "list Secret in shop: secrets is forbidden", 403);
    const storage = new ReleaseStorage(lister, new ReleaseCache());
    const view = await storage.read(withoutInventory("7"));
    expect(view).toMatchObject({ kind: "unavailable", reason: "ReleaseStorageForbidden" });
    expect(view.kind === "unavailable" && view.message).toContain("demo in namespace shop");
    lister.failure = new KubeError("Transient", "list Secret in shop: ECONNRESET");
    await expect(storage.read(withoutInventory("8", attempting))).rejects.toThrow(/ECONNRESET/);
  });
});
