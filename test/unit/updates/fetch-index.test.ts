// The index read against real HTTP and HTTPS servers on loopback: basic auth from secretRef,
// a CA and a client certificate from certSecretRef, redirects, errors that name the URL and
// never the credentials. Secrets come from a small fake of the API's get.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer as createHttp, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttps } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeError } from "../../../src/kube/errors.ts";
import type { KubeObject, ObjectRef } from "../../../src/kube/client.ts";
import { repositorySettings } from "../../../src/updates/chart-source.ts";
import {
  fetchFromRepository,
  fetchHelmIndex,
  IndexReadError,
} from "../../../src/updates/fetch-index.ts";
import { closeServer, listenOnLoopback } from "../../../testbed/src/loopback-http.ts";
import { generatePki } from "../../../testbed/src/pki.ts";

const INDEX = "apiVersion: v1\nentries:\n  demo:\n    - version: 1.0.0\n";
const b64 = (s: string) => Buffer.from(s).toString("base64");

function secrets(data: Record<string, Record<string, string>>) {
  return {
    get: (ref: ObjectRef): Promise<KubeObject> => {
      const found = data[`${ref.namespace ?? ""}/${ref.name}`];
      if (!found)
        return Promise.reject(new KubeError("NotFound", `secrets ${ref.name} not found`, 404));
      return Promise.resolve({
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: ref.name, namespace: ref.namespace ?? "" },
        data: Object.fromEntries(Object.entries(found).map(([k, v]) => [k, b64(v)])),
      });
    },
  };
}

function settingsFor(url: string, spec: Record<string, unknown> = {}) {
  const s = repositorySettings(
    { namespace: "shop", name: "charts" },
    {
      apiVersion: "source.toolkit.fluxcd.io/v1",
      kind: "HelmRepository",
      metadata: { name: "charts", namespace: "shop" },
      spec: { url, ...spec },
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
    throw new Error(`expected an IndexReadError, got ${String(err)}`);
  return err;
}

function route(req: IncomingMessage, res: ServerResponse, base: () => string): void {
  const auth = req.headers.authorization;
  if (req.url === "/moved/index.yaml") {
    res.writeHead(302, { Location: `${base()}/private/index.yaml` }).end();
  } else if (req.url === "/private/index.yaml") {
    if (auth !== `Basic ${b64("reader:s3cret")}`) res.writeHead(401).end();
    else res.writeHead(200).end(INDEX);
  } else if (req.url === "/public/index.yaml") {
    res.writeHead(200).end(INDEX);
  } else res.writeHead(404).end();
}

describe("fetchFromRepository: a chart archive on another host", () => {
  // Helm's getter sends the repository's basic auth only to the repository's scheme and host,
  // unless spec.passCredentials says every host may have it.
  let repoUrl = "";
  let otherUrl = "";
  const received: (string | undefined)[] = [];
  const repoServer = createHttp((_req, res) => res.writeHead(404).end());
  const other = createHttp((req, res) => {
    received.push(req.headers.authorization);
    res.writeHead(200).end("chart bytes");
  });
  beforeAll(async () => {
    repoUrl = `http://127.0.0.1:${await listenOnLoopback(repoServer)}/charts`;
    otherUrl = `http://127.0.0.1:${await listenOnLoopback(other)}/demo-1.0.0.tgz`;
  });
  afterAll(async () => {
    await closeServer(repoServer);
    await closeServer(other);
  });
  const client = secrets({ "shop/auth": { username: "reader", password: "s3cret" } });
  const options = { maxBytes: 1024, accept: "*/*" };

  it("keeps the credentials from another host, and passes them with passCredentials", async () => {
    const plain = settingsFor(repoUrl, { secretRef: { name: "auth" } });
    expect((await fetchFromRepository(client, plain, otherUrl, options)).toString()).toBe(
      "chart bytes",
    );
    const passing = settingsFor(repoUrl, { secretRef: { name: "auth" }, passCredentials: true });
    await fetchFromRepository(client, passing, otherUrl, options);
    expect(received).toEqual([undefined, `Basic ${b64("reader:s3cret")}`]);
  });

  it("refuses a body larger than the limit", async () => {
    const err = await rejection(
      fetchFromRepository(client, settingsFor(repoUrl), otherUrl, { maxBytes: 4, accept: "*/*" }),
    );
    expect(err.message).toMatch(/demo-1\.0\.0\.tgz: larger than/);
  });
});

describe("fetchHelmIndex over HTTP", () => {
  let url = "";
  const server = createHttp((req, res) => route(req, res, () => url));
  beforeAll(async () => {
    url = `http://127.0.0.1:${await listenOnLoopback(server)}`;
  });
  afterAll(() => closeServer(server));

  it("reads <url>/index.yaml, with basic auth from spec.secretRef", async () => {
    expect(await fetchHelmIndex(secrets({}), settingsFor(`${url}/public/`))).toBe(INDEX);
    const client = secrets({ "shop/auth": { username: "reader", password: "s3cret" } });
    const settings = settingsFor(`${url}/private`, { secretRef: { name: "auth" } });
    expect(await fetchHelmIndex(client, settings)).toBe(INDEX);
  });

  it("follows a redirect on the same origin with the credentials", async () => {
    const client = secrets({ "shop/auth": { username: "reader", password: "s3cret" } });
    const settings = settingsFor(`${url}/moved`, { secretRef: { name: "auth" } });
    expect(await fetchHelmIndex(client, settings)).toBe(INDEX);
  });

  it("names the URL and the status, never the credentials", async () => {
    const client = secrets({ "shop/auth": { username: "reader", password: "wrong" } });
    const withUser = `http://someone:pw@${url.slice("http://".length)}/private`;
    const err = await rejection(
      fetchHelmIndex(client, settingsFor(withUser, { secretRef: { name: "auth" } })),
    );
    expect(err.reason).toBe("IndexUnreachable");
    expect(err.message).toBe(`GET ${url}/private/index.yaml: HTTP 401`);
    expect(err.message).not.toContain("pw");
    const missing = await rejection(fetchHelmIndex(client, settingsFor(`${url}/nothing`)));
    expect(missing.message).toBe(`GET ${url}/nothing/index.yaml: HTTP 404`);
  });

  it("names a Secret that does not exist", async () => {
    const err = await rejection(
      fetchHelmIndex(secrets({}), settingsFor(`${url}/private`, { secretRef: { name: "gone" } })),
    );
    expect(err).toMatchObject({
      reason: "SecretNotFound",
      message: "Secret shop/gone (spec.secretRef) not found",
    });
  });

  it("names a server that does not answer", async () => {
    const closed = createHttp();
    const port = await listenOnLoopback(closed);
    await closeServer(closed);
    const err = await rejection(
      fetchHelmIndex(secrets({}), settingsFor(`http://127.0.0.1:${port}`)),
    );
    expect(err.message).toMatch(
      new RegExp(`^GET http://127.0.0.1:${port}/index.yaml: .*ECONNREFUSED`),
    );
  });
});

describe("fetchHelmIndex over HTTPS", () => {
  let dir = "";
  let url = "";
  let ca = "";
  let clientCert = "";
  let clientKey = "";
  let server: ReturnType<typeof createHttps> | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "cairn-index-tls-"));
    const pki = await generatePki(dir, { commonName: "reader" });
    ca = await readFile(pki.caCert, "utf8");
    clientCert = await readFile(pki.adminCert, "utf8");
    clientKey = await readFile(pki.adminKey, "utf8");
    server = createHttps(
      {
        cert: await readFile(pki.apiserverCert),
        key: await readFile(pki.apiserverKey),
        ca,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => route(req, res, () => url),
    );
    url = `https://127.0.0.1:${await listenOnLoopback(server)}`;
  }, 60_000);
  afterAll(async () => {
    if (server) await closeServer(server);
    await rm(dir, { recursive: true, force: true });
  });

  it("trusts the CA and presents the client certificate of spec.certSecretRef", async () => {
    const client = secrets({
      "shop/tls": { "ca.crt": ca, "tls.crt": clientCert, "tls.key": clientKey },
    });
    const settings = settingsFor(`${url}/public`, { certSecretRef: { name: "tls" } });
    expect(await fetchHelmIndex(client, settings)).toBe(INDEX);
  });

  it("fails without the CA, naming the URL", async () => {
    const err = await rejection(fetchHelmIndex(secrets({}), settingsFor(`${url}/public`)));
    expect(err.message).toMatch(new RegExp(`^GET ${url}/public/index.yaml: `));
  });
});
