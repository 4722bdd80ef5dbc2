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
import { digestOfRevision, ociArtifactOf } from "../../../src/updates/oci-repository.ts";
import {
  fetchOciChart,
  fetchOciLayer,
  HELM_CHART_LAYER,
  listOciChartVersions,
  listOciTags,
  ociChartLocation,
  ociTag,
} from "../../../src/updates/oci-registry.ts";
import { imageSettings, imageTagListing } from "../../../src/updates/image-source.ts";
import { closeServer, listenOnLoopback } from "../../../testbed/src/loopback-http.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const ARCHIVE = Buffer.from("a chart archive");
const DIGEST = `sha256:${createHash("sha256").update(ARCHIVE).digest("hex")}`;
const TOKEN = "t0ken";
// An artifact read by digest, as an OCIRepository's status names it: another layer first.
const OTHER = Buffer.from("another layer");
const OTHER_DIGEST = `sha256:${createHash("sha256").update(OTHER).digest("hex")}`;
const PINNED = JSON.stringify({
  schemaVersion: 2,
  layers: [
    { mediaType: "application/vnd.cairn.other", digest: OTHER_DIGEST, size: OTHER.length },
    { mediaType: HELM_CHART_LAYER, digest: DIGEST, size: ARCHIVE.length },
  ],
});
const PINNED_DIGEST = `sha256:${createHash("sha256").update(PINNED).digest("hex")}`;
const FORGED_DIGEST = `sha256:${"1".repeat(64)}`;

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
  if (
    url.pathname === `/v2/charts/demo/manifests/${PINNED_DIGEST}` ||
    url.pathname === `/v2/charts/demo/manifests/${FORGED_DIGEST}`
  )
    return void res.writeHead(200).end(PINNED);
  if (url.pathname === `/v2/charts/demo/blobs/${OTHER_DIGEST}`)
    return void res.writeHead(200).end(OTHER);
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

  it("reads a HelmRepository of type oci, refusing a URL that is not oci://", () => {
    const obj = {
      apiVersion: "source.toolkit.fluxcd.io/v1",
      kind: "HelmRepository",
      metadata: { name: "charts", namespace: "shop" },
      spec: { type: "oci", url: "oci://ghcr.io/org" },
    };
    expect(
      repositorySettings(
        { namespace: "shop", name: "charts" },
        { ...obj, spec: { ...obj.spec, url: "https://ghcr.io/org" } },
      ),
    ).toEqual({
      ok: false,
      message: "HelmRepository shop/charts: spec.url https://ghcr.io/org is not an oci:// URL",
      unsupported: false,
    });
    expect(repositorySettings({ namespace: "shop", name: "charts" }, obj)).toMatchObject({
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

describe("an image's tags (versionPolicy.image)", () => {
  it("lists them as they are, with a dockerconfigjson pull Secret's entry for the host", async () => {
    const host = base.slice("http://".length);
    const client = secrets({
      "shop/regcred": {
        ".dockerconfigjson": JSON.stringify({ auths: { [host]: { auth: b64("robot:pw") } } }),
      },
    });
    const image = { name: `${host}/charts/demo`, secretRef: { name: "regcred" }, insecure: true };
    const s = imageSettings("shop", image);
    // Image tags are not chart versions: an "_" stays.
    expect(await listOciTags(client, imageTagListing(s, image.name))).toEqual([
      "1.0.0",
      "1.2.0_build.1",
      "2.0.0",
    ]);
    const missing = await rejection(listOciTags(secrets({}), imageTagListing(s, image.name)));
    expect(missing.message).toBe(
      "Secret shop/regcred (spec.versionPolicy.image.secretRef) not found",
    );
  });
});

describe("an OCIRepository's artifact", () => {
  const ref = { namespace: "shop", name: "web" };
  const repository = (spec: Record<string, unknown>, revision?: string) =>
    ociArtifactOf(ref, {
      apiVersion: "source.toolkit.fluxcd.io/v1",
      kind: "OCIRepository",
      metadata: { name: "web", namespace: "shop" },
      spec: { url: `oci://${base.slice("http://".length)}/charts/demo`, insecure: true, ...spec },
      ...(revision ? { status: { artifact: { revision } } } : {}),
    });
  const request = (spec: Record<string, unknown>, revision?: string) => {
    const got = repository(spec, revision);
    if (!got.ok) throw new Error(got.message);
    return got.request;
  };

  it("reads the digest source-controller pulled, else spec.ref, else latest", () => {
    expect(digestOfRevision(`1.2.0@${PINNED_DIGEST}`)).toBe(PINNED_DIGEST);
    expect(digestOfRevision(PINNED_DIGEST)).toBe(PINNED_DIGEST);
    expect(digestOfRevision("1.2.0")).toBeUndefined();
    expect(request({ ref: { tag: "1.0.0" } }, `1.2.0@${PINNED_DIGEST}`).reference).toBe(
      PINNED_DIGEST,
    );
    // helm-controller appends the digest's first 12 hex digits to the chart's version.
    expect(repository({}, `1.2.0@${PINNED_DIGEST}`)).toMatchObject({
      versionMetadata: PINNED_DIGEST.slice(7, 19),
    });
    expect(request({ ref: { tag: "1.0.0" } }).reference).toBe("1.0.0");
    expect(repository({ ref: { tag: "1.0.0" } })).not.toHaveProperty("versionMetadata");
    expect(request({ ref: { digest: PINNED_DIGEST } }).reference).toBe(PINNED_DIGEST);
    expect(request({}).reference).toBe("latest");
    expect(repository({ ref: { semver: ">=1.0.0" } })).toEqual({
      ok: false,
      message:
        "OCIRepository shop/web has pulled no artifact yet, and its spec.ref.semver names no one tag",
    });
  });

  it("names the settings Cairn does not read instead of reading anonymously", () => {
    expect(
      repository({ provider: "aws", certSecretRef: { name: "tls" }, ref: { tag: "1.0.0" } }),
    ).toEqual({
      ok: false,
      message:
        "OCIRepository shop/web sets spec.provider aws, spec.certSecretRef, which Cairn does not read",
    });
    expect(repository({ url: "https://example.invalid/x" })).toEqual({
      ok: false,
      message: "OCIRepository shop/web: spec.url https://example.invalid/x is not an oci:// URL",
    });
  });

  it("fetches the layer spec.layerSelector picks, or the first, from the pinned manifest", async () => {
    const client = secrets({ "shop/pull": { username: "robot", password: "pw" } });
    const pinned = (spec: Record<string, unknown>) =>
      request({ secretRef: { name: "pull" }, ...spec }, `1.2.0@${PINNED_DIGEST}`);
    const chart = await fetchOciLayer(client, {
      ...pinned({ layerSelector: { mediaType: HELM_CHART_LAYER, operation: "copy" } }),
      maxBytes: 1024,
    });
    expect(chart.equals(ARCHIVE)).toBe(true);
    const first = await fetchOciLayer(client, { ...pinned({}), maxBytes: 1024 });
    expect(first.equals(OTHER)).toBe(true);
    expect(
      (
        await rejection(
          fetchOciLayer(client, {
            ...pinned({ layerSelector: { mediaType: "application/x-none" } }),
            maxBytes: 1024,
          }),
        )
      ).message,
    ).toMatch(/@sha256:[0-9a-f]{64}: no layer of media type application\/x-none in the manifest$/);
    // A registry that answers a digest with another manifest is caught.
    const forged = request({ secretRef: { name: "pull" }, ref: { digest: FORGED_DIGEST } });
    expect((await rejection(fetchOciLayer(client, { ...forged, maxBytes: 1024 }))).message).toMatch(
      /the manifest does not match sha256:1{64}$/,
    );
  });
});
