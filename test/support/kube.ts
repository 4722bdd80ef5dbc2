// Helpers for tests that run against the real test-bed cluster.
import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import { KubeClient, type KubeObject } from "../../src/kube/client.ts";
import { isKubeError } from "../../src/kube/errors.ts";
import { eventually as poll } from "../../testbed/src/poll.ts";

export function testClient(): KubeClient {
  return KubeClient.fromKubeconfigFile(inject("kubeconfig"));
}

/** Polls until fn returns a value (see testbed/src/poll.ts); tests wait a minute by default. */
export function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  return poll(what, fn, { timeoutMs });
}

/** A fresh namespace, ready for pods (KCM has created its default ServiceAccount). */
export async function createTestNamespace(client: KubeClient, prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString("hex")}`;
  await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
  await eventually(`ServiceAccount ${name}/default`, async () => {
    try {
      return await client.get({
        apiVersion: "v1",
        kind: "ServiceAccount",
        namespace: name,
        name: "default",
      });
    } catch (err) {
      if (isKubeError(err, "NotFound")) return undefined;
      throw err;
    }
  });
  return name;
}

export async function deleteNamespace(client: KubeClient, name: string): Promise<void> {
  try {
    await client.delete({ apiVersion: "v1", kind: "Namespace", name });
  } catch (err) {
    if (!isKubeError(err, "NotFound")) throw err;
  }
}

export function isPodReady(pod: KubeObject): boolean {
  const status = pod["status"] as { conditions?: { type: string; status: string }[] } | undefined;
  return status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

export async function pods(client: KubeClient, namespace: string, labelSelector?: string) {
  const { items } = await client.list("v1", "Pod", {
    namespace,
    ...(labelSelector ? { labelSelector } : {}),
  });
  return items;
}
