// The plan's fresh read of a chart's versions: a HelmRepository found through a small fake of the
// API's get, its index served by a real HTTP server on loopback.
import { createServer } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeObject, ObjectRef } from "../../../src/kube/client.ts";
import { KubeError } from "../../../src/kube/errors.ts";
import { readSourceVersions } from "../../../src/updates/source-versions.ts";
import { closeServer, listenOnLoopback } from "../../../testbed/src/loopback-http.ts";

const INDEX = "apiVersion: v1\nentries:\n  demo:\n    - version: 1.1.0\n    - version: 1.0.0\n";

describe("readSourceVersions", () => {
  let url = "";
  const server = createServer((req, res) => {
    if (req.url === "/index.yaml") res.writeHead(200).end(INDEX);
    else res.writeHead(404).end();
  });
  beforeAll(async () => {
    url = `http://127.0.0.1:${await listenOnLoopback(server)}`;
  });
  afterAll(() => closeServer(server));

  const objects = (spec: Record<string, unknown>, namespace = "shop") => ({
    get: (ref: ObjectRef): Promise<KubeObject> =>
      ref.kind === "HelmRepository" && ref.namespace === namespace && ref.name === "charts"
        ? Promise.resolve({
            apiVersion: "source.toolkit.fluxcd.io/v1",
            kind: "HelmRepository",
            metadata: { name: "charts", namespace },
            spec: { url, ...spec },
          })
        : Promise.reject(new KubeError("NotFound", "not found", 404)),
  });
  const helmRelease = (sourceRef: Record<string, unknown>): KubeObject => ({
    apiVersion: "helm.toolkit.fluxcd.io/v2",
    kind: "HelmRelease",
    metadata: { name: "demo", namespace: "shop" },
    spec: { chart: { spec: { chart: "demo", version: "1.0.0", sourceRef } } },
  });
  const read = (
    client: ReturnType<typeof objects>,
    sourceRef: Record<string, unknown> = { kind: "HelmRepository", name: "charts" },
    allowCrossNamespaceRefs = false,
  ) =>
    readSourceVersions({
      client,
      helmRelease: helmRelease(sourceRef),
      namespace: "shop",
      allowCrossNamespaceRefs,
    });

  it("lists the chart's versions from the HelmRepository's index, naming the source", async () => {
    expect(await read(objects({}))).toEqual({
      kind: "read",
      source: `HelmRepository shop/charts (${url}/)`,
      chart: "demo",
      versions: ["1.1.0", "1.0.0"],
    });
  });

  it("says unreadable for a missing repository, a failed read, or a denied namespace", async () => {
    expect(await read(objects({}, "other"))).toEqual({
      kind: "unreadable",
      message: "HelmRepository shop/charts not found",
    });
    expect(await read(objects({ url: `${url}/gone` }))).toEqual({
      kind: "unreadable",
      message: `HelmRepository shop/charts (${url}/gone): GET ${url}/gone/index.yaml: HTTP 404`,
    });
    const elsewhere = { kind: "HelmRepository", name: "charts", namespace: "flux" };
    expect((await read(objects({}, "flux"), elsewhere)).kind).toBe("unreadable");
    expect((await read(objects({}, "flux"), elsewhere, true)).kind).toBe("read");
  });

  it("says unsupported for sources it does not read, and reads an OCI repository's tags", async () => {
    // An OCI HelmRepository is read (its tags): one that cannot be reached is unreadable, and
    // says where it looked. The tag listing itself is oci-registry.test.ts.
    expect(
      await read(objects({ type: "oci", url: "oci://127.0.0.1:1/charts", insecure: true })),
    ).toMatchObject({
      kind: "unreadable",
      message: expect.stringContaining("oci://127.0.0.1:1/charts") as string,
    });
    expect(await read(objects({}), { kind: "GitRepository", name: "config" })).toMatchObject({
      kind: "unsupported",
    });
  });
});
