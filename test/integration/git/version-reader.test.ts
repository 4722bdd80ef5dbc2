// gitVersionReader against the real API server and the test bed's git server: the ManagedApp
// controller's read of an app's version at the commit its Kustomization applied. The
// GitRepositories are suspended (source-controller leaves them alone); the Kustomization is data,
// as the controller passes it from its informer.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManagedApp } from "../../../src/api/index.ts";
import { gitVersionReader } from "../../../src/controllers/managedapp/git-version.ts";
import { refsOf } from "../../../src/discovery/app-refs.ts";
import {
  versionSourceOf,
  type GitVersionQuery,
} from "../../../src/controllers/managedapp/version.ts";
import { WorkspacePool } from "../../../src/git/workspace-pool.ts";
import { GIT_REPOSITORY_API_VERSION } from "../../../src/git/remote.ts";
import type { KubeClient, KubeObject } from "../../../src/kube/client.ts";
import { commitFiles } from "../../../testbed/src/git-fixtures.ts";
import { createTestNamespace, deleteNamespace, testClient } from "../../support/kube.ts";
import { cacheRoot, gitAccess, seedRepo, type CacheRoot, type TestRepo } from "./helpers.ts";

const git = gitAccess();
let client: KubeClient;
let ns: string;
let cache: CacheRoot;
let repo: TestRepo;
let second: string;

const file = (version: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: notes
  labels:
    version: "${version}" # the app's version
`;

const b64 = (value: string) => Buffer.from(value).toString("base64");

function app(spec: Record<string, unknown> = {}): ManagedApp {
  return ManagedApp.parse({
    apiVersion: "cairn.dev/v1alpha1",
    kind: "ManagedApp",
    metadata: { name: "notes", namespace: ns, uid: "u-1" },
    spec: {
      gitPath: "apps/notes/deployment.yaml",
      kustomizationRef: { name: "notes" },
      versionPolicy: { versionPath: "metadata.labels.version" },
      ...spec,
    },
  });
}

function kustomization(source: string, commit: string): KubeObject {
  return {
    apiVersion: "kustomize.toolkit.fluxcd.io/v1",
    kind: "Kustomization",
    metadata: { name: "notes", namespace: ns },
    spec: { sourceRef: { kind: "GitRepository", name: source } },
    status: { lastAppliedRevision: `main@sha1:${commit}` },
  };
}

function query(a: ManagedApp, k: KubeObject): GitVersionQuery {
  const s = versionSourceOf({
    app: a,
    refs: refsOf(a),
    referencesAllowed: true,
    kustomization: k,
    helmRelease: undefined,
  });
  if (s.from !== "git") throw new Error(`no Git query: ${JSON.stringify(s)}`);
  return s.query;
}

async function gitRepository(name: string, secretName: string): Promise<void> {
  await client.create({
    apiVersion: GIT_REPOSITORY_API_VERSION,
    kind: "GitRepository",
    metadata: { name, namespace: ns },
    spec: {
      interval: "10m",
      suspend: true,
      url: repo.url,
      ref: { branch: "main" },
      secretRef: { name: secretName },
    },
  });
}

function readVersion() {
  return gitVersionReader({
    client,
    pool: new WorkspacePool(),
    cacheDir: cache.path,
    allowCrossNamespaceRefs: false,
    timeoutMs: 30_000,
  });
}

beforeAll(async () => {
  client = testClient();
  ns = await createTestNamespace(client, "git-version");
  cache = await cacheRoot();
  repo = await seedRepo(git, "version", { "apps/notes/deployment.yaml": file("1.0.0") });
  second = await commitFiles(
    git.root,
    repo.name,
    { "apps/notes/deployment.yaml": file("1.1.0") },
    "Bump notes",
  );
  for (const [name, username, password] of [
    ["reader", git.readOnlyUsername, git.readOnlyPassword],
    ["wrong", git.readOnlyUsername, "not-the-password"],
  ] as const) {
    await client.create({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name, namespace: ns },
      data: { username: b64(username), password: b64(password) },
    });
  }
  await gitRepository("plain", "reader");
  await gitRepository("refused", "wrong");
});

afterAll(async () => {
  await deleteNamespace(client, ns);
  await cache.remove();
});

describe("gitVersionReader", () => {
  it("reads the value at the applied commit, not at the branch head", async () => {
    const read = readVersion();
    const a = app();
    const applied = kustomization("plain", repo.head);
    const older = await read(a, applied, query(a, applied));
    expect(older).toEqual({
      condition: {
        status: "True",
        reason: "GitFile",
        message: `metadata.labels.version in apps/notes/deployment.yaml at commit ${repo.head.slice(0, 12)} (applied by Kustomization ${ns}/notes)`,
      },
      value: "1.0.0",
    });
    const next = kustomization("plain", second);
    expect((await read(a, next, query(a, next))).value).toBe("1.1.0");
  });

  it("names spec.gitPath for a missing file or a folder, as answers that stay", async () => {
    const read = readVersion();
    const k = kustomization("plain", second);
    for (const [gitPath, fragment] of [
      ["apps/notes/missing.yaml", "does not exist"],
      ["apps/notes", "not a file"],
    ] as const) {
      const a = app({ gitPath });
      const r = await read(a, k, query(a, k));
      expect(r.condition.status).toBe("False");
      expect(r.condition.reason).toBe("GitFileNotFound");
      expect(r.condition.message).toMatch(/^spec\.gitPath: /);
      expect(r.condition.message).toContain(fragment);
      expect(r.transient).toBeFalsy();
    }
  });

  it("names spec.git.branch for a branch the remote does not have, even with the commit cached", async () => {
    const read = readVersion();
    const k = kustomization("plain", second);
    // The cache repository is per URL and already holds the applied commit.
    expect((await read(app(), k, query(app(), k))).value).toBe("1.1.0");
    const a = app({ git: { branch: "no-such-branch" } });
    const r = await read(a, k, query(a, k));
    expect(r).toEqual({
      condition: {
        status: "False",
        reason: "GitSourceInvalid",
        message: `spec.git.branch: branch no-such-branch does not exist in ${repo.url}`,
      },
      transient: true,
    });
  });

  it("reports an applied commit the branch does not hold, to be read again later", async () => {
    const read = readVersion();
    const a = app();
    const k = kustomization("plain", "0123456789abcdef0123456789abcdef01234567");
    const r = await read(a, k, query(a, k));
    expect(r).toMatchObject({
      condition: { status: "False", reason: "GitCommitNotFound" },
      transient: true,
    });
    expect(r.condition.message).toContain(`is not on branch main of ${repo.url}`);
  });

  it("reports a missing GitRepository and a refused credential without leaking it", async () => {
    const read = readVersion();
    const a = app();
    const missing = kustomization("absent", second);
    const noRepo = await read(a, missing, query(a, missing));
    expect(noRepo).toEqual({
      condition: {
        status: "False",
        reason: "GitSourceInvalid",
        message: `GitRepository ${ns}/absent not found`,
      },
      transient: true,
    });
    // A commit the cache does not hold yet, so the read has to fetch with the refused credential.
    const third = await commitFiles(
      git.root,
      repo.name,
      { "apps/notes/deployment.yaml": file("1.2.0") },
      "Bump notes again",
    );
    const refused = kustomization("refused", third);
    const denied = await read(a, refused, query(a, refused));
    expect(denied.condition).toMatchObject({ status: "False", reason: "GitUnreachable" });
    expect(denied.transient).toBe(true);
    expect(denied.condition.message).not.toContain("not-the-password");
  });
});
