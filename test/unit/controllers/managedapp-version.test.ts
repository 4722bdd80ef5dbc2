import { describe, expect, it } from "vitest";
import { ManagedApp } from "../../../src/api/index.ts";
import { refsOf } from "../../../src/discovery/app-refs.ts";
import {
  GitVersionCache,
  type ReadVersion,
} from "../../../src/controllers/managedapp/git-version.ts";
import {
  versionFromContent,
  versionSourceOf,
  type GitVersionQuery,
  type VersionReading,
} from "../../../src/controllers/managedapp/version.ts";
import type { KubeObject } from "../../../src/kube/client.ts";
import { FakeClock } from "../../fakes/clock.ts";
import { flush } from "../../fakes/async.ts";

const SHA = "0123456789abcdef0123456789abcdef01234567";
const OTHER_SHA = "89abcdef0123456789abcdef0123456789abcdef";

function app(spec: Record<string, unknown> = {}, uid = "u-1") {
  return ManagedApp.parse({
    apiVersion: "cairn.dev/v1alpha1",
    kind: "ManagedApp",
    metadata: { name: "notes", namespace: "shop", generation: 1, uid },
    spec: { gitPath: "apps/notes/deployment.yaml", kustomizationRef: { name: "notes" }, ...spec },
  });
}

const withPath = (versionPath = "metadata.labels.version", extra: Record<string, unknown> = {}) =>
  app({ versionPolicy: { versionPath }, ...extra });

function kustomization(lastAppliedRevision?: string): KubeObject {
  return {
    apiVersion: "kustomize.toolkit.fluxcd.io/v1",
    kind: "Kustomization",
    metadata: { name: "notes", namespace: "shop" },
    spec: { sourceRef: { kind: "GitRepository", name: "plain" } },
    status: lastAppliedRevision === undefined ? {} : { lastAppliedRevision },
  };
}

const helmRelease = (version?: string): KubeObject => ({
  apiVersion: "helm.toolkit.fluxcd.io/v2",
  kind: "HelmRelease",
  metadata: { name: "demo", namespace: "shop" },
  spec: { chart: { spec: { chart: "demo", ...(version ? { version } : {}) } } },
});

function source(
  a: ManagedApp,
  k: KubeObject | undefined,
  hr?: KubeObject,
  referencesAllowed = true,
) {
  return versionSourceOf({
    app: a,
    refs: refsOf(a),
    referencesAllowed,
    kustomization: k,
    helmRelease: hr,
  });
}

function gitQuery(a: ManagedApp, k: KubeObject): GitVersionQuery {
  const s = source(a, k);
  if (s.from !== "git") throw new Error(`expected a Git query, got ${JSON.stringify(s)}`);
  return s.query;
}

const DEPLOYMENT = `# the notes app
apiVersion: apps/v1
kind: Deployment
metadata:
  name: notes
  labels:
    version: "1.4.2" # bumped by Cairn
spec:
  replicas: 1
`;

describe("where an app's version comes from", () => {
  it("is the HelmRelease's chart version for a Helm app, and says when it has none", () => {
    const a = app({ helmReleaseRef: { name: "demo" } });
    expect(source(a, kustomization(`main@sha1:${SHA}`), helmRelease("1.2.0"))).toEqual({
      from: "known",
      reading: {
        condition: {
          status: "True",
          reason: "HelmRelease",
          message: "spec.chart.spec.version of HelmRelease shop/demo",
        },
        value: "1.2.0",
      },
      // Its Git settings are checked by reading the file an upgrade edits, at the applied commit.
      check: {
        gitPath: "apps/notes/deployment.yaml",
        versionPath: "spec.chart.spec.version",
        commit: SHA,
        kustomization: { namespace: "shop", name: "notes" },
        fingerprint: expect.any(String) as string,
      },
    });
    expect(source(a, kustomization(), helmRelease())).toMatchObject({
      reading: { condition: { status: "False", reason: "NoChartVersion" } },
    });
    // helm-controller's default "*" (a chart from Git) is no version to show or to roll back to.
    expect(source(a, kustomization(), helmRelease("*"))).toEqual({
      from: "known",
      reading: {
        condition: {
          status: "False",
          reason: "ChartVersionNotPinned",
          message: 'spec.chart.spec.version of HelmRelease shop/demo is "*", not one version',
        },
      },
    });
    expect(source(a, kustomization(), undefined)).toMatchObject({
      reading: {
        condition: {
          status: "Unknown",
          reason: "ReferenceUnresolved",
          message: "HelmRelease shop/demo not found",
        },
      },
    });
  });

  it("checks a Helm app's Git settings at its own versionPath, once the Kustomization applied a commit", () => {
    const custom = app({
      helmReleaseRef: { name: "demo" },
      versionPolicy: { versionPath: "spec.values.image.tag" },
    });
    const withCheck = source(custom, kustomization(`main@sha1:${SHA}`), helmRelease("1.2.0"));
    expect(withCheck).toMatchObject({
      from: "known",
      reading: { value: "1.2.0" },
      check: { versionPath: "spec.values.image.tag", commit: SHA },
    });
    // Nothing applied yet, or no chart version to show: nothing to check against.
    expect(source(custom, kustomization(), helmRelease("1.2.0"))).not.toHaveProperty("check");
    expect(source(custom, kustomization(`main@sha1:${SHA}`), helmRelease())).not.toHaveProperty(
      "check",
    );
    // Other Git settings read again, as for a Kustomization app.
    const plain = source(
      app({ helmReleaseRef: { name: "demo" } }),
      kustomization(`main@sha1:${SHA}`),
      helmRelease("1.2.0"),
    );
    const moved = source(
      app({ helmReleaseRef: { name: "demo" }, git: { branch: "release" } }),
      kustomization(`main@sha1:${SHA}`),
      helmRelease("1.2.0"),
    );
    const fingerprint = (s: typeof moved) => (s.from === "known" ? s.check?.fingerprint : "");
    expect(fingerprint(plain)).toEqual(expect.any(String));
    expect(fingerprint(moved)).not.toBe(fingerprint(plain));
  });

  it("reads the OCIRepository's tag from Git for a HelmRelease whose spec.chartRef names one", () => {
    const viaChartRef: KubeObject = {
      ...helmRelease(),
      spec: { chartRef: { kind: "OCIRepository", name: "demo" } },
    };
    const a = app({ helmReleaseRef: { name: "demo" } });
    // The default: spec.ref.tag in the file at gitPath, at the applied commit.
    expect(source(a, kustomization(`main@sha1:${SHA}`), viaChartRef)).toMatchObject({
      from: "git",
      query: { gitPath: "apps/notes/deployment.yaml", versionPath: "spec.ref.tag", commit: SHA },
    });
    const custom = app({
      helmReleaseRef: { name: "demo" },
      versionPolicy: { versionPath: "spec.ref.semver" },
    });
    expect(source(custom, kustomization(`main@sha1:${SHA}`), viaChartRef)).toMatchObject({
      from: "git",
      query: { versionPath: "spec.ref.semver" },
    });
    expect(source(a, kustomization(), viaChartRef)).toMatchObject({
      reading: { condition: { status: "Unknown", reason: "NotApplied" } },
    });
    // Another kind of chartRef names no version Cairn can read.
    const other: KubeObject = {
      ...helmRelease(),
      spec: { chartRef: { kind: "ExternalArtifact", name: "demo" } },
    };
    expect(source(a, kustomization(`main@sha1:${SHA}`), other)).toMatchObject({
      from: "known",
      reading: { condition: { status: "False", reason: "NoChartVersion" } },
    });
  });

  it("is unknown without a versionPath, naming the field", () => {
    const s = source(app(), kustomization(`main@sha1:${SHA}`));
    expect(s).toMatchObject({
      from: "known",
      reading: { condition: { status: "Unknown", reason: "NoVersionPath" } },
    });
    if (s.from !== "known") throw new Error("unreachable");
    expect(s.reading.condition.message).toContain("spec.versionPolicy.versionPath");
    expect(s.reading.value).toBeUndefined();
  });

  it("waits for the Kustomization's first applied revision, and reads nothing through a denied reference", () => {
    expect(source(withPath(), kustomization())).toMatchObject({
      reading: {
        condition: {
          status: "Unknown",
          reason: "NotApplied",
          message: "Kustomization shop/notes has not applied a Git revision yet",
        },
      },
    });
    expect(source(withPath(), undefined)).toMatchObject({
      reading: { condition: { status: "Unknown", reason: "ReferenceUnresolved" } },
    });
    expect(source(withPath(), kustomization(`main@sha1:${SHA}`), undefined, false)).toMatchObject({
      reading: { condition: { status: "Unknown", reason: "ReferenceUnresolved" } },
    });
  });

  it("reads the file at the commit the Kustomization applied, in Flux's old and new revision forms", () => {
    for (const revision of [`main@sha1:${SHA}`, `main/${SHA}`, `sha1:${SHA}`]) {
      const q = gitQuery(withPath(), kustomization(revision));
      expect(q).toMatchObject({
        gitPath: "apps/notes/deployment.yaml",
        versionPath: "metadata.labels.version",
        commit: SHA,
        kustomization: { namespace: "shop", name: "notes" },
      });
    }
  });

  it("changes the fingerprint with everything that could change the answer, and only then", () => {
    const base = gitQuery(withPath(), kustomization(`main@sha1:${SHA}`));
    const same = gitQuery(withPath(), kustomization(`main@sha1:${SHA}`));
    expect(same.fingerprint).toBe(base.fingerprint);
    const variants = [
      gitQuery(withPath(), kustomization(`main@sha1:${OTHER_SHA}`)),
      gitQuery(withPath("spec.replicas"), kustomization(`main@sha1:${SHA}`)),
      gitQuery(
        withPath(undefined, { gitPath: "apps/notes/other.yaml" }),
        kustomization(`main@sha1:${SHA}`),
      ),
      gitQuery(
        withPath(undefined, { git: { branch: "release" } }),
        kustomization(`main@sha1:${SHA}`),
      ),
      gitQuery(
        ManagedApp.parse({ ...withPath(), metadata: { ...withPath().metadata, uid: "u-2" } }),
        kustomization(`main@sha1:${SHA}`),
      ),
      gitQuery(withPath(), {
        ...kustomization(`main@sha1:${SHA}`),
        spec: { sourceRef: { kind: "GitRepository", name: "other" } },
      }),
    ];
    for (const v of variants) expect(v.fingerprint).not.toBe(base.fingerprint);
    expect(new Set(variants.map((v) => v.fingerprint)).size).toBe(variants.length);
  });
});

describe("the version in a Git file", () => {
  const query = gitQuery(withPath(), kustomization(`main@sha1:${SHA}`));

  it("is the value at versionPath, with where it was read", () => {
    expect(versionFromContent(DEPLOYMENT, query)).toEqual({
      condition: {
        status: "True",
        reason: "GitFile",
        message:
          "metadata.labels.version in apps/notes/deployment.yaml at commit 0123456789ab (applied by Kustomization shop/notes)",
      },
      value: "1.4.2",
    });
  });

  it("names spec.gitPath when the commit has no such file", () => {
    const r = versionFromContent(undefined, query);
    expect(r.condition).toMatchObject({ status: "False", reason: "GitFileNotFound" });
    expect(r.condition.message).toBe(
      "spec.gitPath: apps/notes/deployment.yaml does not exist at commit 0123456789ab (applied by Kustomization shop/notes)",
    );
    expect(r.transient).toBeUndefined();
  });

  it("names spec.versionPolicy.versionPath when the path is missing, not a value, or not YAML", () => {
    const cases: [string, GitVersionQuery, string][] = [
      [DEPLOYMENT, { ...query, versionPath: "metadata.labels.release" }, "none of the file's"],
      [DEPLOYMENT, { ...query, versionPath: "metadata.labels" }, "not a single value"],
      ["a: [unclosed", query, "spec.versionPolicy.versionPath"],
    ];
    for (const [content, q, fragment] of cases) {
      const r = versionFromContent(content, q);
      expect(r.condition.status).toBe("False");
      expect(r.condition.reason).toBe("VersionPathInvalid");
      expect(r.condition.message).toMatch(/^spec\.versionPolicy\.versionPath: /);
      expect(r.condition.message).toContain(fragment);
      expect(r.value).toBeUndefined();
    }
  });

  it("refuses a value status.currentVersion cannot hold, instead of failing the status write", () => {
    const r = versionFromContent(DEPLOYMENT.replace('"1.4.2"', '"1.4.2 (with notes)"'), query);
    expect(r.condition).toMatchObject({ status: "False", reason: "VersionPathInvalid" });
    expect(r.condition.message).toContain("is not a version or image tag");
    expect(r.value).toBeUndefined();
  });
});

describe("GitVersionCache", () => {
  const ok = (value: string): VersionReading => ({
    condition: { status: "True", reason: "GitFile", message: "read" },
    value,
  });
  const unreachable: VersionReading = {
    condition: { status: "False", reason: "GitUnreachable", message: "connection refused" },
    transient: true,
  };

  function setUp(answers: VersionReading[]) {
    const clock = new FakeClock();
    const reads: string[] = [];
    const settled: string[] = [];
    const pending: ((r: VersionReading) => void)[] = [];
    const read: ReadVersion = (_app, _k, q) => {
      reads.push(q.commit);
      const answer = answers.shift();
      if (answer) return Promise.resolve(answer);
      return new Promise((resolve) => pending.push(resolve));
    };
    const cache = new GitVersionCache({
      read,
      clock,
      onSettled: (key) => settled.push(key),
      retryAfterMs: 60_000,
    });
    return { clock, reads, settled, pending, cache };
  }
  const a = withPath();
  const k = kustomization(`main@sha1:${SHA}`);
  const q = gitQuery(a, k);

  it("starts one read, wakes the app when it is done, then answers from memory", async () => {
    const t = setUp([ok("1.4.2")]);
    expect(t.cache.lookup("shop/notes", a, k, q)).toEqual({ reading: undefined });
    expect(t.cache.lookup("shop/notes", a, k, q)).toEqual({ reading: undefined });
    await flush();
    expect(t.settled).toEqual(["shop/notes"]);
    expect(t.cache.lookup("shop/notes", a, k, q)).toEqual({ reading: ok("1.4.2") });
    expect(t.reads).toEqual([SHA]);
  });

  it("reads again when the applied commit moves, and never for the same one", async () => {
    const t = setUp([ok("1.4.2"), ok("1.5.0")]);
    t.cache.lookup("shop/notes", a, k, q);
    await flush();
    t.cache.lookup("shop/notes", a, k, q);
    const k2 = kustomization(`main@sha1:${OTHER_SHA}`);
    expect(t.cache.lookup("shop/notes", a, k2, gitQuery(a, k2)).reading).toBeUndefined();
    await flush();
    expect(t.cache.lookup("shop/notes", a, k2, gitQuery(a, k2)).reading?.value).toBe("1.5.0");
    expect(t.reads).toEqual([SHA, OTHER_SHA]);
  });

  it("keeps a transient failure for the retry period, asking for a pass when it ends", async () => {
    const t = setUp([unreachable, ok("1.4.2")]);
    t.cache.lookup("shop/notes", a, k, q);
    await flush();
    expect(t.cache.lookup("shop/notes", a, k, q)).toEqual({
      reading: unreachable,
      requeueAfterMs: 60_000,
    });
    await t.clock.advance(59_000);
    expect(t.cache.lookup("shop/notes", a, k, q).requeueAfterMs).toBe(1_000);
    expect(t.reads).toHaveLength(1);
    await t.clock.advance(1_000);
    // Due: a new read starts and the old answer stands meanwhile.
    expect(t.cache.lookup("shop/notes", a, k, q)).toEqual({ reading: unreachable });
    await flush();
    expect(t.cache.lookup("shop/notes", a, k, q)).toEqual({ reading: ok("1.4.2") });
    expect(t.reads).toHaveLength(2);
  });

  it("turns a read that rejects into a transient failure instead of an unhandled rejection", async () => {
    const clock = new FakeClock();
    const settled: string[] = [];
    const cache = new GitVersionCache({
      read: () => Promise.reject(new Error("spawn git ENOENT")),
      clock,
      onSettled: (key) => settled.push(key),
      retryAfterMs: 60_000,
    });
    cache.lookup("shop/notes", a, k, q);
    await flush();
    expect(settled).toEqual(["shop/notes"]);
    expect(cache.lookup("shop/notes", a, k, q)).toEqual({
      reading: {
        condition: { status: "False", reason: "GitUnreachable", message: "spawn git ENOENT" },
        transient: true,
      },
      requeueAfterMs: 60_000,
    });
  });

  it("drops an answer that arrives after the app moved on or was deleted", async () => {
    const t = setUp([]);
    t.cache.lookup("shop/notes", a, k, q);
    const k2 = kustomization(`main@sha1:${OTHER_SHA}`);
    t.cache.lookup("shop/notes", a, k2, gitQuery(a, k2));
    expect(t.pending).toHaveLength(2);
    t.pending[0]?.(ok("old"));
    await flush();
    expect(t.settled).toEqual([]);
    expect(t.cache.lookup("shop/notes", a, k2, gitQuery(a, k2)).reading).toBeUndefined();
    t.cache.forget("shop/notes");
    t.pending[1]?.(ok("new"));
    await flush();
    expect(t.settled).toEqual([]);
  });
});
