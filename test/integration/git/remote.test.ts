// resolveGitRemote against the real API server: GitRepository objects (Flux's CRD) and Secrets in
// fresh namespaces. The GitRepositories are suspended, so source-controller leaves them alone;
// the Kustomization is only data here, as the controller would pass it from its informer.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManagedApp, type ManagedAppSpec } from "../../../src/api/index.ts";
import { GIT_REPOSITORY_API_VERSION, resolveGitRemote } from "../../../src/git/remote.ts";
import type { KubeClient, KubeObject, ObjectRef } from "../../../src/kube/client.ts";
import { createTestNamespace, deleteNamespace, testClient } from "../../support/kube.ts";
import { gitAccess } from "./helpers.ts";

const git = gitAccess();
const REPO_URL = `${git.url}/shop.git`;
let client: KubeClient;
let ns: string;
let otherNs: string;

function b64(value: string): string {
  return Buffer.from(value).toString("base64");
}

async function gitRepository(
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
): Promise<void> {
  await client.create({
    apiVersion: GIT_REPOSITORY_API_VERSION,
    kind: "GitRepository",
    metadata: { name, namespace },
    spec: { interval: "10m", suspend: true, ...spec },
  });
}

async function secret(namespace: string, name: string, data: Record<string, string>) {
  await client.create({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  });
}

function kustomization(
  namespace: string,
  sourceRef: { kind: string; name: string; namespace?: string },
): KubeObject {
  return {
    apiVersion: "kustomize.toolkit.fluxcd.io/v1",
    kind: "Kustomization",
    metadata: { name: "apps", namespace },
    spec: { interval: "10m", path: "./apps", prune: true, sourceRef },
  };
}

function app(namespace: string, git?: ManagedAppSpec["git"]): ManagedApp {
  return ManagedApp.parse({
    apiVersion: "cairn.dev/v1alpha1",
    kind: "ManagedApp",
    metadata: { name: "db", namespace },
    spec: {
      gitPath: "apps/db/release.yaml",
      kustomizationRef: { name: "apps" },
      ...(git ? { git } : {}),
    },
  });
}

/** The real client, remembering every get; it has no list, so nothing can be listed. */
function recording(): { client: Pick<KubeClient, "get">; gets: ObjectRef[] } {
  const gets: ObjectRef[] = [];
  return {
    gets,
    client: {
      get: (ref) => {
        gets.push(ref);
        return client.get(ref);
      },
    },
  };
}

beforeAll(async () => {
  client = testClient();
  ns = await createTestNamespace(client, "git-remote");
  otherNs = await createTestNamespace(client, "git-remote-other");
  await secret(ns, "flux-auth", { username: "flux", password: "flux-pw" });
  await secret(ns, "cairn-write", { bearerToken: "write-token" });
  await secret(ns, "half", { password: "no-user" });
  await gitRepository(ns, "shop", {
    url: REPO_URL,
    ref: { branch: "main" },
    secretRef: { name: "flux-auth" },
  });
  await gitRepository(ns, "no-ref", { url: REPO_URL });
  await gitRepository(ns, "tagged", { url: REPO_URL, ref: { tag: "v1.0.0" } });
  await gitRepository(ns, "broken-secret", {
    url: REPO_URL,
    ref: { branch: "main" },
    secretRef: { name: "half" },
  });
  await gitRepository(ns, "missing-secret", {
    url: REPO_URL,
    ref: { branch: "main" },
    secretRef: { name: "does-not-exist" },
  });
  await secret(otherNs, "flux-auth", { username: "other", password: "other-pw" });
  await gitRepository(otherNs, "shared", {
    url: REPO_URL,
    ref: { branch: "prod" },
    secretRef: { name: "flux-auth" },
  });
});

afterAll(async () => {
  await deleteNamespace(client, ns);
  await deleteNamespace(client, otherNs);
});

describe("resolveGitRemote", () => {
  it("takes URL, branch and Secret from the Kustomization's GitRepository", async () => {
    const rec = recording();
    const result = await resolveGitRemote({
      client: rec.client,
      app: app(ns),
      kustomization: kustomization(ns, { kind: "GitRepository", name: "shop" }),
      allowCrossNamespaceRefs: false,
    });
    expect(result).toEqual({
      ok: true,
      remote: {
        url: REPO_URL,
        branch: "main",
        credentials: { kind: "basic", username: "flux", password: "flux-pw" },
        source: { kind: "GitRepository", namespace: ns, name: "shop" },
        gitRepository: { namespace: ns, name: "shop" },
        secret: { namespace: ns, name: "flux-auth" },
        branchField: `GitRepository ${ns}/shop spec.ref.branch`,
      },
    });
    // Exactly the GitRepository and the one named Secret were read.
    expect(rec.gets.map((r) => `${r.kind}/${r.namespace ?? ""}/${r.name}`)).toEqual([
      `GitRepository/${ns}/shop`,
      `Secret/${ns}/flux-auth`,
    ]);
  });

  it("takes the GitRepository from the informer's copy when there is one, reading only the Secret", async () => {
    const rec = recording();
    const live = await client.get({
      apiVersion: GIT_REPOSITORY_API_VERSION,
      kind: "GitRepository",
      namespace: ns,
      name: "shop",
    });
    const cachedGitRepository = (namespace: string, name: string) =>
      namespace === ns && name === "shop" ? live : undefined;
    const result = await resolveGitRemote({
      client: rec.client,
      app: app(ns),
      kustomization: kustomization(ns, { kind: "GitRepository", name: "shop" }),
      allowCrossNamespaceRefs: false,
      cachedGitRepository,
    });
    expect(result).toMatchObject({ ok: true, remote: { url: REPO_URL, branch: "main" } });
    expect(rec.gets.map((r) => `${r.kind}/${r.namespace ?? ""}/${r.name}`)).toEqual([
      `Secret/${ns}/flux-auth`,
    ]);
    // No copy in the informer (just created, say): read from the API.
    const again = recording();
    await resolveGitRemote({
      client: again.client,
      app: app(ns),
      kustomization: kustomization(ns, { kind: "GitRepository", name: "no-ref" }),
      allowCrossNamespaceRefs: false,
      cachedGitRepository,
    });
    expect(again.gets[0]).toMatchObject({ kind: "GitRepository", name: "no-ref" });
  });

  it("uses Flux's default branch when the GitRepository has no ref", async () => {
    const result = await resolveGitRemote({
      client,
      app: app(ns),
      kustomization: kustomization(ns, { kind: "GitRepository", name: "no-ref" }),
      allowCrossNamespaceRefs: false,
    });
    expect(result).toMatchObject({
      ok: true,
      remote: { branch: "master", credentials: { kind: "none" }, secret: undefined },
    });
  });

  it("lets the ManagedApp override the Secret and the branch, field by field", async () => {
    const result = await resolveGitRemote({
      client,
      app: app(ns, { branch: "cairn", secretRef: { name: "cairn-write" } }),
      kustomization: kustomization(ns, { kind: "GitRepository", name: "shop" }),
      allowCrossNamespaceRefs: false,
    });
    expect(result).toMatchObject({
      ok: true,
      remote: {
        url: REPO_URL,
        branch: "cairn",
        credentials: { kind: "bearer", token: "write-token" },
        source: { kind: "GitRepository", name: "shop" },
        secret: { namespace: ns, name: "cairn-write" },
      },
    });
  });

  it("does not send Flux's credential to a URL the ManagedApp chose", async () => {
    const other = `${git.url}/fork.git`;
    const result = await resolveGitRemote({
      client,
      app: app(ns, { url: other }),
      kustomization: kustomization(ns, { kind: "GitRepository", name: "shop" }),
      allowCrossNamespaceRefs: false,
    });
    expect(result).toMatchObject({
      ok: true,
      remote: {
        url: other,
        branch: "main",
        credentials: { kind: "none" },
        source: { kind: "ManagedApp", namespace: ns, name: "db" },
        secret: undefined,
      },
    });
    const withSecret = await resolveGitRemote({
      client,
      app: app(ns, { url: other, secretRef: { name: "cairn-write" } }),
      kustomization: kustomization(ns, { kind: "GitRepository", name: "shop" }),
      allowCrossNamespaceRefs: false,
    });
    expect(withSecret).toMatchObject({ remote: { credentials: { kind: "bearer" } } });
  });

  it("denies a GitRepository in another namespace unless cross-namespace references are allowed", async () => {
    const ks = kustomization(ns, { kind: "GitRepository", name: "shared", namespace: otherNs });
    const rec = recording();
    const denied = await resolveGitRemote({
      client: rec.client,
      app: app(ns),
      kustomization: ks,
      allowCrossNamespaceRefs: false,
    });
    expect(denied).toMatchObject({
      ok: false,
      error: {
        code: "cross-namespace-ref",
        field: `Kustomization ${ns}/apps spec.sourceRef.namespace`,
      },
    });
    expect(rec.gets).toEqual([]);

    const allowed = await resolveGitRemote({
      client,
      app: app(ns),
      kustomization: ks,
      allowCrossNamespaceRefs: true,
    });
    expect(allowed).toMatchObject({
      ok: true,
      remote: {
        branch: "prod",
        credentials: { kind: "basic", username: "other" },
        gitRepository: { namespace: otherNs, name: "shared" },
        secret: { namespace: otherNs, name: "flux-auth" },
      },
    });
  });

  it("denies a Kustomization elsewhere whose source defaults to its own namespace", async () => {
    const result = await resolveGitRemote({
      client,
      app: app(ns),
      kustomization: kustomization(otherNs, { kind: "GitRepository", name: "shared" }),
      allowCrossNamespaceRefs: false,
    });
    expect(result).toMatchObject({
      ok: false,
      error: { code: "cross-namespace-ref", field: "spec.kustomizationRef.namespace" },
    });
  });

  it("names the missing Secret key", async () => {
    const result = await resolveGitRemote({
      client,
      app: app(ns),
      kustomization: kustomization(ns, { kind: "GitRepository", name: "broken-secret" }),
      allowCrossNamespaceRefs: false,
    });
    expect(result).toMatchObject({
      ok: false,
      error: {
        code: "credentials",
        secret: { namespace: ns, name: "half" },
        error: { code: "missing-key", key: "username" },
      },
    });
    if (!result.ok) {
      expect(result.error.message).toMatch(
        new RegExp(
          `^GitRepository ${ns}/broken-secret spec\\.secretRef\\.name: Secret ${ns}/half: `,
        ),
      );
    }
  });

  it("reports missing objects", async () => {
    const noSecret = await resolveGitRemote({
      client,
      app: app(ns),
      kustomization: kustomization(ns, { kind: "GitRepository", name: "missing-secret" }),
      allowCrossNamespaceRefs: false,
    });
    expect(noSecret).toMatchObject({
      ok: false,
      error: { code: "not-found", kind: "Secret", namespace: ns, name: "does-not-exist" },
    });
    const noAppSecret = await resolveGitRemote({
      client,
      app: app(ns, { secretRef: { name: "nope" } }),
      kustomization: kustomization(ns, { kind: "GitRepository", name: "shop" }),
      allowCrossNamespaceRefs: false,
    });
    expect(noAppSecret).toMatchObject({
      error: { code: "not-found", kind: "Secret", name: "nope" },
    });
    if (!noAppSecret.ok) {
      expect(noAppSecret.error.message).toBe(
        `spec.git.secretRef.name: Secret ${ns}/nope not found`,
      );
    }
    const noRepo = await resolveGitRemote({
      client,
      app: app(ns),
      kustomization: kustomization(ns, { kind: "GitRepository", name: "ghost" }),
      allowCrossNamespaceRefs: false,
    });
    expect(noRepo).toMatchObject({
      error: { code: "not-found", kind: "GitRepository", namespace: ns, name: "ghost" },
    });
  });

  it("refuses sources Cairn cannot commit to", async () => {
    for (const kind of ["OCIRepository", "Bucket"]) {
      const result = await resolveGitRemote({
        client,
        app: app(ns),
        kustomization: kustomization(ns, { kind, name: "shop" }),
        allowCrossNamespaceRefs: false,
      });
      expect(result).toMatchObject({ ok: false, error: { code: "unsupported-source" } });
      if (!result.ok) expect(result.error.message).toContain(kind);
    }
    const tagged = await resolveGitRemote({
      client,
      app: app(ns),
      kustomization: kustomization(ns, { kind: "GitRepository", name: "tagged" }),
      allowCrossNamespaceRefs: false,
    });
    expect(tagged).toMatchObject({ ok: false, error: { code: "unsupported-ref" } });
    if (!tagged.ok) expect(tagged.error.message).toContain("spec.ref.tag");
  });
});
