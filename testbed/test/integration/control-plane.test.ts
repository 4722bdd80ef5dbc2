// The shared test-bed cluster behaves like a real one: controllers, scheduler, kwok and GC.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeClient, KubeObject } from "../../../src/kube/client.ts";
import { isKubeError } from "../../../src/kube/errors.ts";
import {
  createTestNamespace,
  deleteNamespace,
  eventually,
  isPodReady,
  pods,
  testClient,
} from "../../../test/support/kube.ts";

const labels = { app: "web" };

function deployment(name: string, replicas: number): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: "web", image: "registry.invalid/web:1" }] },
      },
    },
  };
}

describe("control plane", () => {
  let client: KubeClient;
  let ns: string;

  beforeAll(async () => {
    client = testClient();
    ns = await createTestNamespace(client, "cp");
  });
  afterAll(async () => {
    await deleteNamespace(client, ns);
  });

  it("runs, scales to zero and garbage-collects a Deployment", async () => {
    const created = await client.create({
      ...deployment("web", 2),
      metadata: { name: "web", namespace: ns },
    });
    expect(created.metadata.uid).toBeTruthy();

    const ready = await eventually("2 Ready pods", async () => {
      const list = await pods(client, ns, "app=web");
      return list.length === 2 && list.every(isPodReady) ? list : undefined;
    });
    // Scheduled onto kwok nodes, owned by a ReplicaSet owned by the Deployment.
    for (const pod of ready) {
      expect((pod["spec"] as { nodeName?: string }).nodeName).toMatch(/^kwok-node-/);
      const owner = (pod.metadata["ownerReferences"] as { kind: string }[] | undefined)?.[0];
      expect(owner?.kind).toBe("ReplicaSet");
    }
    const replicaSets = await client.list("apps/v1", "ReplicaSet", { namespace: ns });
    expect(replicaSets.items).toHaveLength(1);

    await client.mergePatch(
      { apiVersion: "apps/v1", kind: "Deployment", namespace: ns, name: "web" },
      { spec: { replicas: 0 } },
    );
    await eventually("pods gone after scaling to 0", async () =>
      (await pods(client, ns, "app=web")).length === 0 ? true : undefined,
    );

    await client.mergePatch(
      { apiVersion: "apps/v1", kind: "Deployment", namespace: ns, name: "web" },
      { spec: { replicas: 1 } },
    );
    await eventually("1 Ready pod after scaling back up", async () => {
      const list = await pods(client, ns, "app=web");
      return list.length === 1 && list.every(isPodReady) ? true : undefined;
    });

    await client.delete(
      { apiVersion: "apps/v1", kind: "Deployment", namespace: ns, name: "web" },
      { propagationPolicy: "Background" },
    );
    await eventually("ReplicaSet and pods garbage-collected", async () => {
      const rs = await client.list("apps/v1", "ReplicaSet", { namespace: ns });
      const left = await pods(client, ns, "app=web");
      return rs.items.length === 0 && left.length === 0 ? true : undefined;
    });
  });

  it("starts StatefulSet pods in order, each after the previous one is Ready", async () => {
    const seen: string[] = [];
    const abort = new AbortController();
    const list = await client.list("v1", "Pod", { namespace: ns });
    // Record the order of events as the API server delivers them.
    const watching = (async () => {
      for await (const ev of client.watch("v1", "Pod", {
        namespace: ns,
        resourceVersion: list.resourceVersion,
        timeoutSeconds: 120,
        signal: abort.signal,
      })) {
        if (ev.type === "ADDED" || ev.type === "MODIFIED") {
          const name = ev.object.metadata.name ?? "";
          if (ev.type === "ADDED") seen.push(`added ${name}`);
          if (isPodReady(ev.object) && !seen.includes(`ready ${name}`)) seen.push(`ready ${name}`);
        }
      }
    })().catch((err: unknown) => {
      if (!abort.signal.aborted) throw err;
    });

    await client.create({
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "db", namespace: ns },
      spec: {
        replicas: 3,
        serviceName: "db",
        podManagementPolicy: "OrderedReady",
        selector: { matchLabels: { app: "db" } },
        template: {
          metadata: { labels: { app: "db" } },
          spec: { containers: [{ name: "db", image: "registry.invalid/db:1" }] },
        },
      },
    });
    await eventually("3 Ready StatefulSet pods", async () => {
      const list = await pods(client, ns, "app=db");
      return list.length === 3 && list.every(isPodReady) ? true : undefined;
    });
    abort.abort();
    await watching;

    expect(seen.filter((s) => s.startsWith("added"))).toEqual([
      "added db-0",
      "added db-1",
      "added db-2",
    ]);
    expect(seen.indexOf("ready db-0")).toBeLessThan(seen.indexOf("added db-1"));
    expect(seen.indexOf("ready db-1")).toBeLessThan(seen.indexOf("added db-2"));
  });

  it("completes a namespace deletion with workloads inside", async () => {
    const doomed = await createTestNamespace(client, "doomed");
    await client.create({ ...deployment("web", 2), metadata: { name: "web", namespace: doomed } });
    await client.create({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "settings", namespace: doomed },
      data: { a: "1" },
    });
    await eventually("pods in the doomed namespace", async () =>
      (await pods(client, doomed, "app=web")).length === 2 ? true : undefined,
    );
    await client.delete({ apiVersion: "v1", kind: "Namespace", name: doomed });
    await eventually(
      "namespace gone",
      async () => {
        try {
          await client.get({ apiVersion: "v1", kind: "Namespace", name: doomed });
          return undefined;
        } catch (err) {
          if (isKubeError(err, "NotFound")) return true;
          throw err;
        }
      },
      90_000,
    );
  });
});
