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

  it("holds a pod whose Secret is missing, as a kubelet does, and starts it once the Secret exists", async () => {
    const podLabels = { app: "reads-secret" };
    await client.create({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "reads-secret", namespace: ns },
      spec: {
        replicas: 1,
        selector: { matchLabels: podLabels },
        template: {
          metadata: { labels: podLabels },
          spec: {
            containers: [
              {
                name: "app",
                image: "registry.invalid/app:1",
                envFrom: [{ secretRef: { name: "app-credentials" } }],
              },
            ],
            volumes: [{ name: "maybe", secret: { secretName: "not-there", optional: true } }],
          },
        },
      },
    });
    type Status = {
      phase?: string;
      containerStatuses?: { state?: { waiting?: { reason?: string; message?: string } } }[];
    };
    const held = await eventually("the pod held with CreateContainerConfigError", async () => {
      const [pod] = await pods(client, ns, "app=reads-secret");
      const status = pod?.["status"] as Status | undefined;
      return status?.containerStatuses?.[0]?.state?.waiting?.reason === "CreateContainerConfigError"
        ? pod
        : undefined;
    });
    const status = held["status"] as Status;
    expect(status.phase).toBe("Pending");
    expect(status.containerStatuses?.[0]?.state?.waiting?.message).toBe(
      'secret "app-credentials" not found',
    );
    expect(isPodReady(held)).toBe(false);
    const events = await eventually("the kubelet's Failed event", async () => {
      const list = await client.list("v1", "Event", {
        namespace: ns,
        fieldSelector: `involvedObject.name=${held.metadata.name ?? ""}`,
      });
      const failed = list.items.filter((e) => e["reason"] === "Failed");
      return failed.length > 0 ? failed : undefined;
    });
    expect(events[0]?.["message"]).toBe('Error: secret "app-credentials" not found');
    // Still held a while later: kwok does not start it behind the simulator's back.
    const again = await eventually("the deployment to report the pod unavailable", async () => {
      const d = await client.get({
        apiVersion: "apps/v1",
        kind: "Deployment",
        namespace: ns,
        name: "reads-secret",
      });
      const st = d["status"] as { unavailableReplicas?: number } | undefined;
      return st?.unavailableReplicas === 1 ? d : undefined;
    });
    expect((again["status"] as { readyReplicas?: number }).readyReplicas ?? 0).toBe(0);

    await client.create({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "app-credentials", namespace: ns },
      stringData: { PASSWORD: "s3cret" },
    });
    const started = await eventually("the same pod Ready once the Secret exists", async () => {
      const [pod] = await pods(client, ns, "app=reads-secret");
      return pod && isPodReady(pod) ? pod : undefined;
    });
    expect(started.metadata.uid).toBe(held.metadata.uid);
    // Nothing of the held state is left over: a Ready pod's conditions carry no reason.
    const readyCondition = (
      started["status"] as { conditions: { type: string; reason?: string }[] }
    ).conditions.find((c) => c.type === "Ready");
    expect(readyCondition).toMatchObject({ status: "True" });
    expect(readyCondition?.reason).toBeUndefined();
  });

  it("keeps a pod whose ConfigMap volume is missing in ContainerCreating, with FailedMount", async () => {
    await client.create({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "mounts-config", namespace: ns },
      spec: {
        containers: [{ name: "app", image: "registry.invalid/app:1" }],
        volumes: [{ name: "conf", configMap: { name: "app-conf" } }],
      },
    });
    const ref = { apiVersion: "v1", kind: "Pod", namespace: ns, name: "mounts-config" };
    const failed = await eventually("the kubelet's FailedMount event", async () => {
      const list = await client.list("v1", "Event", {
        namespace: ns,
        fieldSelector: "involvedObject.name=mounts-config",
      });
      return list.items.find((e) => e["reason"] === "FailedMount");
    });
    expect(failed["message"]).toBe(
      'MountVolume.SetUp failed for volume "conf" : configmap "app-conf" not found',
    );
    const pod = await client.get(ref);
    expect(isPodReady(pod)).toBe(false);
    expect(pod["status"]).toMatchObject({
      phase: "Pending",
      containerStatuses: [{ name: "app", state: { waiting: { reason: "ContainerCreating" } } }],
    });
    await client.create({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "app-conf", namespace: ns },
      data: { mode: "on" },
    });
    await eventually("the pod Ready once the ConfigMap exists", async () =>
      isPodReady(await client.get(ref)) ? true : undefined,
    );
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
