// The scale subresource against a real API server: a scale held against a resourceVersion lands
// only on that version of the workload (ScaleUp writes from the informer's copy this way), and
// a stale version is refused with a Conflict that leaves the count alone.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeClient, KubeObject } from "../../../src/kube/client.ts";
import { isKubeError } from "../../../src/kube/errors.ts";
import { createTestNamespace, deleteNamespace, testClient } from "../../support/kube.ts";

describe("patchScale held against a resourceVersion", () => {
  let client: KubeClient;
  let namespace: string;
  const ref = () => ({ apiVersion: "apps/v1", kind: "StatefulSet", namespace, name: "db" });
  const replicas = (obj: KubeObject) => (obj["spec"] as { replicas?: number }).replicas;

  beforeAll(async () => {
    client = testClient();
    namespace = await createTestNamespace(client, "scale");
    await client.create({
      ...ref(),
      metadata: { name: "db", namespace },
      spec: {
        replicas: 0,
        serviceName: "db",
        selector: { matchLabels: { app: "db" } },
        template: {
          metadata: { labels: { app: "db" } },
          spec: { containers: [{ name: "db", image: "registry.invalid/db:1" }] },
        },
      },
    });
  });
  afterAll(async () => {
    await deleteNamespace(client, namespace);
  });

  it("scales the version it was given, and refuses a stale one with a Conflict", async () => {
    const copy = await client.get(ref());
    const version = copy.metadata.resourceVersion ?? "";
    await client.patchScale(ref(), 2, { resourceVersion: version });
    expect(replicas(await client.get(ref()))).toBe(2);

    // The same, now stale, version again: refused, and the count stays.
    const refused = await client.patchScale(ref(), 5, { resourceVersion: version }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isKubeError(refused, "Conflict")).toBe(true);
    expect(replicas(await client.get(ref()))).toBe(2);
  });
});
