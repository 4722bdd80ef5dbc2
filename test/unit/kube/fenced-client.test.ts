// KubeClient.fenced on a loopback HTTP server standing in for the API: reads always go out,
// writes only while the fence says yes, and a refused write never reaches the server.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeClient } from "../../../src/kube/client.ts";
import { FencedWriteError } from "../../../src/kube/errors.ts";

const CM = { apiVersion: "v1", kind: "ConfigMap", namespace: "ns", name: "cm" };
const STORED = {
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name: "cm", namespace: "ns", resourceVersion: "7" },
};

describe("KubeClient.fenced", () => {
  const seen: string[] = [];
  let server: Server;
  let dir: string;
  let client: KubeClient;

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      req.on("end", () => {
        const path = (req.url ?? "").split("?")[0] ?? "";
        res.setHeader("Content-Type", "application/json");
        if (path === "/api/v1") {
          // Discovery: where ConfigMaps live.
          res.end(
            JSON.stringify({
              kind: "APIResourceList",
              groupVersion: "v1",
              resources: [{ name: "configmaps", namespaced: true, kind: "ConfigMap", verbs: [] }],
            }),
          );
          return;
        }
        seen.push(`${req.method ?? ""} ${path}`);
        res.end(JSON.stringify(STORED));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    dir = await mkdtemp(join(tmpdir(), "fenced-client-"));
    const kubeconfig = join(dir, "kubeconfig");
    await writeFile(
      kubeconfig,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [
          {
            name: "c",
            cluster: { server: `http://127.0.0.1:${port}`, "insecure-skip-tls-verify": true },
          },
        ],
        users: [{ name: "u", user: { token: "t" } }],
        contexts: [{ name: "c", context: { cluster: "c", user: "u" } }],
        "current-context": "c",
      }),
    );
    client = KubeClient.fromKubeconfigFile(kubeconfig);
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  it("sends writes while the fence holds and refuses them, unsent, once it does not", async () => {
    let holds = true;
    const fenced = client.fenced(() => holds);
    await fenced.mergePatch(CM, { metadata: { labels: { a: "b" } } });
    expect(seen).toEqual(["PATCH /api/v1/namespaces/ns/configmaps/cm"]);
    seen.length = 0;

    holds = false;
    const writes = [
      () => fenced.mergePatch(CM, { metadata: { labels: { a: "c" } } }),
      () => fenced.patchStatus(CM, { status: { x: 1 } }),
      () => fenced.create({ apiVersion: "v1", kind: "ConfigMap", metadata: CM }),
      () => fenced.delete(CM),
      () => fenced.patchScale(CM, 0),
    ];
    for (const write of writes) {
      const err: unknown = await write().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(FencedWriteError);
      expect((err as Error).message).toMatch(/no longer holds the leader lease/);
    }
    expect(seen).toEqual([]);

    // Reads go out whatever the fence says; the client it came from is not fenced.
    expect((await fenced.get(CM)).metadata.resourceVersion).toBe("7");
    await client.mergePatch(CM, { metadata: { labels: { a: "d" } } });
    expect(seen).toEqual([
      "GET /api/v1/namespaces/ns/configmaps/cm",
      "PATCH /api/v1/namespaces/ns/configmaps/cm",
    ]);
  });
});
