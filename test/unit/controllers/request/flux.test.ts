import { describe, expect, it } from "vitest";
import {
  appliedBy,
  applierOwnsSuspend,
  artifactSha,
  fluxRef,
  isSuspended,
  kustomizationApply,
  readyNow,
} from "../../../../src/controllers/request/flux.ts";
import { revisionSha } from "../../../../src/git/revision.ts";
import type { KubeObject } from "../../../../src/kube/client.ts";

const SHA1 = "0123456789abcdef0123456789abcdef01234567";
const LATER = "fedcba9876543210fedcba9876543210fedcba98";
const OLDER = "1111111111111111111111111111111111111111";
const SHA256 = "ab".repeat(32);

describe("revisionSha", () => {
  it.each([
    [`main@sha1:${SHA1}`, SHA1],
    [`refs/heads/main@sha1:${SHA1}`, SHA1],
    [`sha1:${SHA1}`, SHA1],
    [SHA1, SHA1],
    [`main/${SHA1}`, SHA1],
    [`main@sha256:${SHA256}`, SHA256],
    [`sha256:${SHA256}`, SHA256],
    [SHA256, SHA256],
  ])("%s → the commit", (revision, sha) => {
    expect(revisionSha(revision)).toBe(sha);
  });

  it.each([
    ["empty", ""],
    ["a branch name", "main"],
    ["a short sha", "main@sha1:0123456"],
    ["upper-case hex", `main@sha1:${SHA1.toUpperCase()}`],
    ["too long", `sha256:${SHA256}00`],
    ["non-hex", `main@sha1:${"g".repeat(40)}`],
    ["a sha with trailing text", `main@sha1:${SHA1} `],
    ["a number", 42],
    ["undefined", undefined],
    ["null", null],
  ])("%s → undefined", (_, revision) => {
    expect(revisionSha(revision)).toBeUndefined();
  });
});

const gitRepo = (status?: unknown): KubeObject => ({
  apiVersion: "source.toolkit.fluxcd.io/v1",
  kind: "GitRepository",
  metadata: { name: "apps", namespace: "flux-system" },
  ...(status === undefined ? {} : { status }),
});

describe("artifactSha", () => {
  it("reads status.artifact.revision", () => {
    expect(artifactSha(gitRepo({ artifact: { revision: `main@sha1:${SHA1}` } }))).toBe(SHA1);
  });

  it("is undefined without an artifact, a status or an object", () => {
    expect(artifactSha(gitRepo({ artifact: {} }))).toBeUndefined();
    expect(artifactSha(gitRepo({}))).toBeUndefined();
    expect(artifactSha(gitRepo())).toBeUndefined();
    expect(artifactSha(undefined)).toBeUndefined();
  });
});

interface KsOpts {
  generation?: number;
  observedGeneration?: number;
  ready?: { status: string; reason?: string; message?: string; observedGeneration?: number };
  applied?: string;
  attempted?: string;
}

function ks(o: KsOpts = {}): KubeObject {
  const generation = o.generation ?? 4;
  return {
    apiVersion: "kustomize.toolkit.fluxcd.io/v1",
    kind: "Kustomization",
    metadata: { name: "apps", namespace: "flux-system", generation },
    spec: { suspend: false },
    status: {
      observedGeneration: o.observedGeneration ?? generation,
      conditions: o.ready
        ? [
            { type: "Reconciling", status: "False" },
            { type: "Ready", ...o.ready },
          ]
        : [],
      ...(o.applied !== undefined ? { lastAppliedRevision: o.applied } : {}),
      ...(o.attempted !== undefined ? { lastAttemptedRevision: o.attempted } : {}),
    },
  };
}

describe("readyNow", () => {
  it("is NotFound without an object", () => {
    expect(readyNow(undefined)).toEqual({ ready: false, reason: "NotFound", message: "not found" });
  });

  it("is Progressing while the generation is not observed", () => {
    expect(
      readyNow(
        ks({ generation: 5, observedGeneration: 4, ready: { status: "True", reason: "Ok" } }),
      ),
    ).toEqual({ ready: false, reason: "Progressing", message: "generation 5 not observed yet" });
  });

  it("is Progressing without a Ready condition", () => {
    expect(readyNow(ks())).toEqual({
      ready: false,
      reason: "Progressing",
      message: "no Ready condition yet",
    });
  });

  it("follows the Ready condition once the generation is observed", () => {
    expect(
      readyNow(
        ks({ ready: { status: "True", reason: "ReconciliationSucceeded", message: "Applied" } }),
      ),
    ).toEqual({ ready: true, reason: "ReconciliationSucceeded", message: "Applied" });
    expect(
      readyNow(ks({ ready: { status: "False", reason: "BuildFailed", message: "bad yaml" } })),
    ).toEqual({ ready: false, reason: "BuildFailed", message: "bad yaml" });
    expect(readyNow(ks({ ready: { status: "Unknown" } }))).toEqual({
      ready: false,
      reason: "",
      message: "",
    });
  });

  it("skips the generation check for an object without metadata.generation", () => {
    const obj: KubeObject = {
      apiVersion: "v1",
      kind: "Thing",
      metadata: { name: "t" },
      status: { conditions: [{ type: "Ready", status: "True", reason: "Ok" }] },
    };
    expect(readyNow(obj).ready).toBe(true);
  });
});

describe("kustomizationApply", () => {
  // Our commit is SHA1; LATER descends from it; OLDER does not contain it.
  const contains = (sha: string) => sha === SHA1 || sha === LATER;
  const READY = { status: "True", reason: "ReconciliationSucceeded", message: "Applied revision" };

  it("is pending without a Kustomization", () => {
    expect(kustomizationApply(undefined, contains)).toEqual({
      state: "pending",
      message: "Kustomization not found",
    });
  });

  it("is applied when Ready on our commit", () => {
    expect(
      kustomizationApply(ks({ applied: `main@sha1:${SHA1}`, ready: READY }), contains),
    ).toEqual({ state: "applied", revision: SHA1 });
  });

  it("is applied when Ready on a descendant of our commit", () => {
    const seen: string[] = [];
    const out = kustomizationApply(ks({ applied: `main@sha1:${LATER}`, ready: READY }), (sha) => {
      seen.push(sha);
      return contains(sha);
    });
    expect(out).toEqual({ state: "applied", revision: LATER });
    expect(seen).toContain(LATER);
  });

  it("is pending when the applied revision is older than ours", () => {
    const out = kustomizationApply(ks({ applied: `main@sha1:${OLDER}`, ready: READY }), contains);
    expect(out.state).toBe("pending");
    expect(out).toMatchObject({
      message: `Kustomization has applied ${OLDER} (ReconciliationSucceeded: Applied revision)`,
    });
  });

  it("is pending while applied on our commit but not Ready (generation not observed)", () => {
    const out = kustomizationApply(
      ks({ applied: `main@sha1:${SHA1}`, generation: 5, observedGeneration: 4, ready: READY }),
      contains,
    );
    expect(out).toEqual({
      state: "pending",
      message: `Kustomization has applied ${SHA1} (Progressing: generation 5 not observed yet)`,
    });
  });

  it("says 'nothing' when nothing was applied yet", () => {
    expect(kustomizationApply(ks(), contains)).toEqual({
      state: "pending",
      message: "Kustomization has applied nothing (Progressing: no Ready condition yet)",
    });
  });

  it("is failed when Ready=False on an attempted revision that contains ours", () => {
    const failedOn = (attempted: string) =>
      kustomizationApply(
        ks({
          applied: `main@sha1:${OLDER}`,
          attempted: `main@sha1:${attempted}`,
          ready: { status: "False", reason: "BuildFailed", message: "kustomize build failed" },
        }),
        contains,
      );
    expect(failedOn(SHA1)).toEqual({
      state: "failed",
      message: "BuildFailed: kustomize build failed",
    });
    expect(failedOn(LATER).state).toBe("failed");
    // A failure on a revision without our commit is not ours.
    expect(failedOn(OLDER).state).toBe("pending");
  });

  it.each(["Progressing", "DependencyNotReady"])(
    "is pending, not failed, while Ready=False/%s",
    (reason) => {
      const out = kustomizationApply(
        ks({ attempted: `main@sha1:${SHA1}`, ready: { status: "False", reason, message: "m" } }),
        contains,
      );
      expect(out.state).toBe("pending");
    },
  );

  it("is pending while Ready is Unknown on our attempted revision", () => {
    const out = kustomizationApply(
      ks({ attempted: `main@sha1:${SHA1}`, ready: { status: "Unknown", reason: "Progressing" } }),
      contains,
    );
    expect(out.state).toBe("pending");
  });

  it("does not trust a Ready=False from an older generation", () => {
    const stale = kustomizationApply(
      ks({
        generation: 5,
        observedGeneration: 5,
        attempted: `main@sha1:${SHA1}`,
        ready: {
          status: "False",
          reason: "HealthCheckFailed",
          message: "m",
          observedGeneration: 4,
        },
      }),
      contains,
    );
    expect(stale.state).toBe("pending");
    const current = kustomizationApply(
      ks({
        generation: 5,
        observedGeneration: 5,
        attempted: `main@sha1:${SHA1}`,
        ready: {
          status: "False",
          reason: "HealthCheckFailed",
          message: "m",
          observedGeneration: 5,
        },
      }),
      contains,
    );
    expect(current).toEqual({ state: "failed", message: "HealthCheckFailed: m" });
  });

  it("names the failure 'Failed' when Ready has no reason", () => {
    const out = kustomizationApply(
      ks({ attempted: SHA1, ready: { status: "False", message: "oops" } }),
      contains,
    );
    expect(out).toEqual({ state: "failed", message: "Failed: oops" });
  });

  it("prefers applied over failed when both hold", () => {
    // Applied on a descendant and Ready: whatever the attempted revision says.
    const out = kustomizationApply(
      ks({ applied: `main@sha1:${LATER}`, attempted: `main@sha1:${LATER}`, ready: READY }),
      contains,
    );
    expect(out.state).toBe("applied");
  });
});

describe("appliedBy", () => {
  const labelled = (labels?: Record<string, string>): KubeObject => ({
    apiVersion: "helm.toolkit.fluxcd.io/v2",
    kind: "HelmRelease",
    metadata: { name: "pg", namespace: "shop", ...(labels ? { labels } : {}) },
  });

  it("reads Flux's ownership labels", () => {
    expect(
      appliedBy(
        labelled({
          "kustomize.toolkit.fluxcd.io/name": "apps",
          "kustomize.toolkit.fluxcd.io/namespace": "flux-system",
        }),
      ),
    ).toEqual({ namespace: "flux-system", name: "apps" });
  });

  it("is undefined unless both labels are there", () => {
    expect(appliedBy(labelled({ "kustomize.toolkit.fluxcd.io/name": "apps" }))).toBeUndefined();
    expect(
      appliedBy(labelled({ "kustomize.toolkit.fluxcd.io/namespace": "flux-system" })),
    ).toBeUndefined();
    expect(appliedBy(labelled())).toBeUndefined();
  });
});

describe("applierOwnsSuspend", () => {
  const withFields = (managedFields: unknown): KubeObject => ({
    apiVersion: "helm.toolkit.fluxcd.io/v2",
    kind: "HelmRelease",
    metadata: { name: "pg", namespace: "shop", managedFields },
  });
  const entry = (manager: string, spec: Record<string, unknown>) => ({
    manager,
    operation: "Apply",
    fieldsV1: { "f:metadata": { "f:labels": {} }, "f:spec": spec },
  });

  it("is true when kustomize-controller's apply owns spec.suspend", () => {
    expect(
      applierOwnsSuspend(
        withFields([
          entry("cairn", { "f:suspend": {} }),
          entry("kustomize-controller", { "f:chart": {}, "f:suspend": {} }),
        ]),
      ),
    ).toBe(true);
  });

  it("is false when only another manager owns spec.suspend", () => {
    expect(applierOwnsSuspend(withFields([entry("cairn", { "f:suspend": {} })]))).toBe(false);
    expect(applierOwnsSuspend(withFields([entry("kubectl-edit", { "f:suspend": {} })]))).toBe(
      false,
    );
  });

  it("is false when kustomize-controller owns other spec fields only", () => {
    expect(
      applierOwnsSuspend(
        withFields([entry("kustomize-controller", { "f:chart": {}, "f:values": {} })]),
      ),
    ).toBe(false);
    expect(applierOwnsSuspend(withFields([{ manager: "kustomize-controller" }]))).toBe(false);
  });

  it("is false without managedFields", () => {
    expect(applierOwnsSuspend(withFields(undefined))).toBe(false);
    expect(applierOwnsSuspend(withFields([]))).toBe(false);
    expect(applierOwnsSuspend(withFields("nonsense"))).toBe(false);
  });
});

describe("fluxRef and isSuspended", () => {
  it("gives each Flux kind its API version", () => {
    expect(fluxRef({ kind: "Kustomization", namespace: "flux-system", name: "apps" })).toEqual({
      apiVersion: "kustomize.toolkit.fluxcd.io/v1",
      kind: "Kustomization",
      namespace: "flux-system",
      name: "apps",
    });
    expect(fluxRef({ kind: "HelmRelease", namespace: "shop", name: "pg" }).apiVersion).toBe(
      "helm.toolkit.fluxcd.io/v2",
    );
    expect(fluxRef({ kind: "GitRepository", namespace: "flux-system", name: "r" }).apiVersion).toBe(
      "source.toolkit.fluxcd.io/v1",
    );
  });

  it("is suspended only for spec.suspend === true", () => {
    const obj = (spec?: unknown): KubeObject => ({
      apiVersion: "kustomize.toolkit.fluxcd.io/v1",
      kind: "Kustomization",
      metadata: {},
      ...(spec === undefined ? {} : { spec }),
    });
    expect(isSuspended(obj({ suspend: true }))).toBe(true);
    expect(isSuspended(obj({ suspend: false }))).toBe(false);
    expect(isSuspended(obj({ suspend: "true" }))).toBe(false);
    expect(isSuspended(obj({}))).toBe(false);
    expect(isSuspended(obj())).toBe(false);
    expect(isSuspended(undefined)).toBe(false);
  });
});
