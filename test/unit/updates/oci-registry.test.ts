// The OCI chart read against a loopback server that speaks the distribution API with the token
// flow (401 + Bearer challenge, a token endpoint checking basic credentials); the bed's real
// registry (anonymous) is used by the e2e impact test. Secrets come from a small fake of get.
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeObject, ObjectRef } from "../../../src/kube/client.ts";
import { KubeError } from "../../../src/kube/errors.ts";
import { repositorySettings } from "../../../src/updates/chart-source.ts";
import { IndexReadError } from "../../../src/updates/fetch-index.ts";
import {
  fetchOciChart,
  HELM_CHART_LAYER,
  listOciChartVersions,
  ociChartLocation,
  ociTag,
} from "../../../src/updates/oci-registry.ts";
import { closeServer, listenOnLoopback } from "../../../testbed/src/loopback-http.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const ARCHIVE = Buffer.from("a chart archive");
const DIGEST = `sha256:${createHash("sha256").update(ARCHIVE).digest("hex")}`;
const TOKEN = "t0ken";

function secrets(data: Record<string, Record<string, string>>) {
  return {
    get: (ref: ObjectRef): Promise<KubeObject> => {
      const found = data[`${ref.namespace ?? ""}/${ref.name}`];
      if (!found) return Promise.reject(new KubeError("NotFound", "not found", 404));
      return Promise.resolve({
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: ref.name, namespace: ref.namespace ?? "" },
        data: Object.fromEntries(Object.entries(found).map(([k, v]) => [k, b64(v)])),
      });
    },
  };
}

let base = "";
const seen: string[] = [];
const server = createServer((req, res) => {
  const url = new URL(req.url ?? "/", base);
  seen.push(`${url.pathname} ${req.headers.authorization ?? "-"}`);
  if (url.pathname === "/token") {
    const ok =
      req.headers.authorization === `Basic ${b64("robot:pw")}` &&
      url.searchParams.get("scope") === "repository:charts/demo:pull";
    if (!ok) return void res.writeHead(401).end();
    return void res.writeHead(200).end(JSON.stringify({ token: TOKEN }));
  }
  if (req.headers.authorization !== `Bearer ${TOKEN}`) {
    res.writeHead(401, {
      "www-authenticate": `Bearer realm="${base}/token",service="registry",scope="repository:charts/demo:pull"`,
    });
    return void res.end();
  }
  if (url.pathname === "/v2/charts/demo/manifests/1.2.0_build.1") {
    const layers = [{ mediaType: HELM_CHART_LAYER, digest: DIGEST, size: ARCHIVE.length }];
    return void res.writeHead(200).end(JSON.stringify({ schemaVersion: 2, layers }));
  }
  if (url.pathname === "/v2/charts/demo/manifests/2.0.0") {
    const layers = [{ mediaType: HELM_CHART_LAYER, digest: `sha256:${"0".repeat(64)}`, size: 3 }];
    return void res.writeHead(200).end(JSON.stringify({ schemaVersion: 2, layers }));
  }
  if (url.pathname === "/v2/charts/demo/tags/list") {
    // Two pages, as a registry paginates with ?n= and a Link header.
    if (url.searchParams.get("last") === "1.2.0_build.1")
      return void res.writeHead(200).end(JSON.stringify({ tags: ["2.0.0"] }));
    res.writeHead(200, {
      link: '</v2/charts/demo/tags/list?last=1.2.0_build.1&n=2>; rel="next"',
    });
    return void res.end(JSON.stringify({ name: "charts/demo", tags: ["1.0.0", "1.2.0_build.1"] }));
  }
  if (url.pathname === `/v2/charts/demo/blobs/${DIGEST}`)
    return void res.writeHead(200).end(ARCHIVE);
  if (url.pathname.startsWith("/v2/charts/demo/blobs/")) return void res.writeHead(200).end("bad");
  res.writeHead(404).end();
});

beforeAll(async () => {
  base = `http://127.0.0.1:${await listenOnLoopback(server)}`;
});
afterAll(() => closeServer(server));

function settings(spec: Record<string, unknown>) {
  const s = repositorySettings(
    { namespace: "shop", name: "charts" },
    {
      apiVersion: "source.toolkit.fluxcd.io/v1",
      kind: "HelmRepository",
      metadata: { name: "charts", namespace: "shop" },
      spec: { type: "oci", url: `oci://${base.slice("http://".length)}/charts`, ...spec },
    },
    { oci: true },
  );
  if (!s.ok) throw new Error(s.message);
  return s.settings;
}

async function rejection(p: Promise<unknown>): Promise<IndexReadError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof IndexReadError))
    throw new Error(`expected an IndexReadError: ${String(err)}`);
  return err;
}

describe("OCI chart locations", () => {
  it("maps oci://host/path and a version onto the distribution API, as Helm does", () => {
    expect(ociChartLocation("oci://ghcr.io/org/charts/", "demo", false)).toEqual({
      base: "https://ghcr.io",
      host: "ghcr.io",
      repository: "org/charts/demo",
    });
    expect(ociChartLocation("oci://127.0.0.1:5000", "demo", true).base).toBe(
      "http://127.0.0.1:5000",
    );
    expect(ociTag("1.2.0+build.1")).toBe("1.2.0_build.1");
  });

  it("is refused for a HelmRepository whose versions Cairn reads, accepted for the preview", () => {
    const obj = {
      apiVersion: "source.toolkit.fluxcd.io/v1",
      kind: "HelmRepository",
      metadata: { name: "charts", namespace: "shop" },
      spec: { type: "oci", url: "oci://ghcr.io/org" },
    };
    expect(repositorySettings({ namespace: "shop", name: "charts" }, obj)).toMatchObject({
      ok: false,
      unsupported: true,
    });
    expect(
      repositorySettings({ namespace: "shop", name: "charts" }, obj, { oci: true }),
    ).toMatchObject({
      ok: true,
      settings: { type: "oci", insecure: false },
    });
  });
});

describe("fetchOciChart", () => {
  it("answers the token challenge with the secretRef's credentials and checks the digest", async () => {
    const host = base.slice("http://".length);
    const client = secrets({
      "shop/pull": {
        ".dockerconfigjson": JSON.stringify({ auths: { [host]: { auth: b64("robot:pw") } } }),
      },
    });
    const got = await fetchOciChart(
      client,
      settings({ insecure: true, secretRef: { name: "pull" } }),
      "demo",
      "1.2.0+build.1",
      1024,
    );
    expect(got.equals(ARCHIVE)).toBe(true);
    expect(seen).toContain(`/token Basic ${b64("robot:pw")}`);
    expect(seen).toContain(`/v2/charts/demo/blobs/${DIGEST} Bearer ${TOKEN}`);
  });

  it("names what went wrong: a missing version, a corrupt layer, no credentials", async () => {
    const client = secrets({ "shop/pull": { username: "robot", password: "pw" } });
    const withAuth = settings({ insecure: true, secretRef: { name: "pull" } });
    expect(
      (await rejection(fetchOciChart(client, withAuth, "demo", "9.9.9", 1024))).message,
    ).toMatch(/charts\/demo:9\.9\.9: chart demo 9\.9\.9 is not in the registry$/);
    expect(
      (await rejection(fetchOciChart(client, withAuth, "demo", "2.0.0", 1024))).message,
    ).toMatch(/does not match sha256:0+$/);
    const anonymous = settings({ insecure: true });
    expect(
      (await rejection(fetchOciChart(client, anonymous, "demo", "1.2.0", 1024))).message,
    ).toMatch(/manifest: HTTP 401$/);
    const missing = settings({ insecure: true, secretRef: { name: "absent" } });
    expect((await rejection(fetchOciChart(client, missing, "demo", "1.2.0", 1024))).message).toBe(
      "Secret shop/absent (spec.secretRef) not found",
    );
  });
});

describe("listOciChartVersions", () => {
  it("reads every page of the chart's tags, with the token flow, and gives '+' back", async () => {
    const client = secrets({ "shop/pull": { username: "robot", password: "pw" } });
    const versions = await listOciChartVersions(
      client,
      settings({ insecure: true, secretRef: { name: "pull" } }),
      "demo",
    );
    expect(versions).toEqual(["1.0.0", "1.2.0+build.1", "2.0.0"]);
    // A chart the registry does not have offers no version.
    expect(
      await listOciChartVersions(
        client,
        settings({ insecure: true, secretRef: { name: "pull" } }),
        "none",
      ),
    ).toEqual([]);
  });
});
