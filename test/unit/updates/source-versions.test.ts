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
    // A registry's tags of the chart an OCIRepository names (Helm pushed 1.1.0+build.1 as _).
    else if (req.url === "/v2/charts/demo/tags/list")
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ name: "charts/demo", tags: ["1.0.0", "1.1.0_build.1", "latest"] }));
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

  it("lists the tags of the OCIRepository a HelmRelease's spec.chartRef names", async () => {
    const port = new URL(url).port;
    const ociRepository = (spec: Record<string, unknown>) => ({
      get: (ref: ObjectRef): Promise<KubeObject> =>
        ref.kind === "OCIRepository" && ref.namespace === "shop" && ref.name === "demo-chart"
          ? Promise.resolve({
              apiVersion: "source.toolkit.fluxcd.io/v1",
              kind: "OCIRepository",
              metadata: { name: "demo-chart", namespace: "shop" },
              spec: { url: `oci://127.0.0.1:${port}/charts/demo`, insecure: true, ...spec },
            })
          : Promise.reject(new KubeError("NotFound", "not found", 404)),
    });
    const viaChartRef = (name: string): KubeObject => ({
      ...helmRelease({}),
      spec: { chartRef: { kind: "OCIRepository", name } },
    });
    const readOci = (client: ReturnType<typeof ociRepository>, name = "demo-chart") =>
      readSourceVersions({
        client,
        helmRelease: viaChartRef(name),
        namespace: "shop",
        allowCrossNamespaceRefs: false,
      });
    expect(await readOci(ociRepository({}))).toEqual({
      kind: "read",
      source: `OCIRepository shop/demo-chart (oci://127.0.0.1:${port}/charts/demo)`,
      chart: "demo",
      versions: ["1.0.0", "1.1.0+build.1", "latest"],
    });
    expect(await readOci(ociRepository({}), "gone")).toEqual({
      kind: "unreadable",
      message: "OCIRepository shop/gone not found",
    });
    expect(await readOci(ociRepository({ provider: "azure" }))).toEqual({
      kind: "unsupported",
      message: "OCIRepository shop/demo-chart sets spec.provider azure, which Cairn does not read",
    });
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
