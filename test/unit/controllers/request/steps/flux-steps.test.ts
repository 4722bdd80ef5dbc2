// Resume and AwaitFlux on the fake API: handing the app back to Flux and judging the result.
import { describe, expect, it } from "vitest";
import type { UpgradeRequest } from "../../../../../src/api/index.ts";
import { FLUX_API, REQUESTED_AT } from "../../../../../src/controllers/request/flux.ts";
import type { OpenedRepo } from "../../../../../src/controllers/request/git-access.ts";
import { awaitFluxStep } from "../../../../../src/controllers/request/steps/await-flux.ts";
import { resumeStep } from "../../../../../src/controllers/request/steps/resume.ts";
import { FakeObjectApi } from "../../../../fakes/object-api.ts";
import {
  NS,
  planWith,
  seedApp,
  seedFlux,
  seedUpgrade,
  testStepDeps,
} from "../../../../fakes/requests.ts";
import { stepContext } from "../../../../fakes/step-context.ts";

const SHA = "c".repeat(40);
const LATER = "d".repeat(40);
const ref = (kind: keyof typeof FLUX_API, name: string) => ({
  apiVersion: FLUX_API[kind],
  kind,
  namespace: NS,
  name,
});
const specOf = (api: FakeObjectApi, kind: keyof typeof FLUX_API, name: string) =>
  api.peek(ref(kind, name))?.["spec"] as { suspend?: boolean; chart?: unknown };
const ready = (revision: string, generation = 1) => ({
  observedGeneration: generation,
  lastAppliedRevision: `main@sha1:${revision}`,
  lastAttemptedRevision: `main@sha1:${revision}`,
  conditions: [
    {
      type: "Ready",
      status: "True",
      reason: "ReconciliationSucceeded",
      observedGeneration: generation,
    },
  ],
});

describe("Resume", () => {
  const plan = planWith({ source: { namespace: NS, name: "repo" } });
  const status = {
    plan,
    commit: { sha: SHA, adopted: false },
    suspended: [
      { kind: "Kustomization" as const, namespace: NS, name: "apps" },
      { kind: "HelmRelease" as const, namespace: NS, name: "db" },
    ],
  };

  it("asks the source to fetch, resumes the Kustomization, and holds the HelmRelease until its spec shows the target", async () => {
    const api = new FakeObjectApi();
    seedApp(api);
    seedFlux(api, "GitRepository", "repo");
    seedFlux(api, "Kustomization", "apps", { suspend: true });
    seedFlux(api, "HelmRelease", "db", { suspend: true });
    const up = seedUpgrade(api);
    const resume = resumeStep(testStepDeps<UpgradeRequest>(api));
    const token = `${up.metadata.uid ?? ""}-resume`;
    expect(await resume(stepContext(up, status))).toMatchObject({
      kind: "waiting",
      message: expect.stringContaining(`HelmRelease ${NS}/db to show chart 1.1.0`) as unknown,
    });
    expect(api.peek(ref("GitRepository", "repo"))?.metadata.annotations?.[REQUESTED_AT]).toBe(
      token,
    );
    expect(specOf(api, "Kustomization", "apps").suspend).toBe(false);
    expect(specOf(api, "HelmRelease", "db").suspend).toBe(true);
    // The resume and the request to reconcile went out in one write.
    const kPatches = api
      .callsOf("mergePatch")
      .filter((c) => c.key === `${FLUX_API.Kustomization}/Kustomization/${NS}/apps`);
    expect(kPatches).toHaveLength(1);
    expect(kPatches[0]?.body).toMatchObject({
      spec: { suspend: false },
      metadata: { annotations: { [REQUESTED_AT]: token } },
    });
    // Flux applied the commit: the release's spec now asks for the target chart.
    api.write(ref("HelmRelease", "db"), { spec: { chart: { spec: { version: "1.1.0" } } } });
    expect(await resume(stepContext(up, status))).toMatchObject({ kind: "succeeded" });
    expect(specOf(api, "HelmRelease", "db").suspend).toBe(false);
    // Everything carries our token: a further pass writes nothing.
    const writes = api.callsOf("mergePatch").length;
    expect((await resume(stepContext(up, status))).kind).toBe("succeeded");
    expect(api.callsOf("mergePatch")).toHaveLength(writes);
  });
});

describe("Resume of a change outside the chart version", () => {
  it("holds the HelmRelease until the Kustomization applied the commit, not until a chart version that never comes", async () => {
    const base = planWith({ source: { namespace: NS, name: "repo" } });
    const status = {
      plan: { ...base, git: { ...base.git, versionPath: "spec.values.image.tag" } },
      commit: { sha: SHA, adopted: false },
      suspended: [
        { kind: "Kustomization" as const, namespace: NS, name: "apps" },
        { kind: "HelmRelease" as const, namespace: NS, name: "db" },
      ],
    };
    const api = new FakeObjectApi();
    seedApp(api);
    seedFlux(api, "GitRepository", "repo");
    seedFlux(api, "Kustomization", "apps", { suspend: true });
    seedFlux(api, "HelmRelease", "db", { suspend: true });
    const up = seedUpgrade(api);
    const resume = resumeStep(testStepDeps<UpgradeRequest>(api));
    expect(await resume(stepContext(up, status))).toMatchObject({
      kind: "waiting",
      message: expect.stringContaining(`HelmRelease ${NS}/db to show the commit`) as unknown,
    });
    expect(specOf(api, "HelmRelease", "db").suspend).toBe(true);
    // The chart version stays what it was; the Kustomization applying the commit is the signal.
    api.write(ref("Kustomization", "apps"), { status: ready(SHA) });
    expect(await resume(stepContext(up, status))).toMatchObject({ kind: "succeeded" });
    expect(specOf(api, "HelmRelease", "db").suspend).toBe(false);
  });
});

describe("AwaitFlux", () => {
  const plan = planWith({ source: { namespace: NS, name: "repo" } });
  const status = { plan, commit: { sha: SHA, adopted: false } };

  function setUp(git?: (sha: string, rev: string) => boolean) {
    const api = new FakeObjectApi();
    seedApp(api);
    const up = seedUpgrade(api);
    const fetches: string[] = [];
    const repo = {
      ws: {
        fetch: () => {
          fetches.push("fetch");
          return Promise.resolve("head");
        },
        isAncestor: (a: string, b: string) => Promise.resolve(git?.(a, b) ?? false),
      },
    } as unknown as OpenedRepo;
    const step = awaitFluxStep(
      testStepDeps<UpgradeRequest>(api, { repoFor: () => Promise.resolve(repo) }),
    );
    return { api, up, step, fetches };
  }

  it("waits for the source to fetch the commit, then for the Kustomization and the release", async () => {
    const { api, up, step } = setUp();
    seedFlux(api, "GitRepository", "repo", {
      status: { artifact: { revision: `main@sha1:${"e".repeat(40)}` } },
    });
    seedFlux(api, "Kustomization", "apps");
    seedFlux(api, "HelmRelease", "db");
    expect(await step(stepContext(up, status))).toMatchObject({
      kind: "waiting",
      message: expect.stringContaining(`to fetch ${SHA.slice(0, 12)}`) as unknown,
    });
    api.write(ref("GitRepository", "repo"), {
      status: { artifact: { revision: `main@sha1:${SHA}` } },
    });
    api.write(ref("Kustomization", "apps"), { status: ready(SHA) });
    expect(await step(stepContext(up, status))).toMatchObject({
      kind: "waiting",
      message: expect.stringMatching(/^HelmRelease: /) as unknown,
    });
    api.write(ref("HelmRelease", "db"), {
      status: {
        observedGeneration: 1,
        conditions: [
          { type: "Ready", status: "True", reason: "UpgradeSucceeded", observedGeneration: 1 },
        ],
        history: [{ chartVersion: "1.1.0", status: "deployed" }],
      },
    });
    expect(await step(stepContext(up, status))).toMatchObject({ kind: "succeeded" });
  });

  it("accepts a later revision that contains the commit, asking Git once", async () => {
    const { api, up, step, fetches } = setUp((a, b) => a === SHA && b === LATER);
    seedFlux(api, "GitRepository", "repo", {
      status: { artifact: { revision: `main@sha1:${LATER}` } },
    });
    seedFlux(api, "Kustomization", "apps", { status: ready(LATER) });
    api.seed({ ...ref("HelmRelease", "db"), metadata: { name: "db", namespace: NS } });
    // Past the source and the Kustomization: only the release is left to wait for.
    expect(await step(stepContext(up, status))).toMatchObject({
      kind: "waiting",
      message: expect.stringMatching(/^(HelmRelease|waiting for the HelmRelease)/) as unknown,
    });
    await step(stepContext(up, status));
    expect(fetches).toEqual(["fetch"]);
  });

  it("waits for the chart version of an OCIRepository's tag, which leaves the HelmRelease's generation as it was", async () => {
    const { api, up, step } = setUp();
    const ociStatus = {
      ...status,
      plan: {
        ...plan,
        git: {
          ...plan.git,
          versionPath: "spec.ref.tag",
          from: "1.0.0",
          to: "1.1.0",
          ociChartTag: true,
        },
      },
    };
    seedFlux(api, "GitRepository", "repo", {
      status: { artifact: { revision: `main@sha1:${SHA}` } },
    });
    seedFlux(api, "Kustomization", "apps", { status: ready(SHA) });
    const release = (chartVersion: string, state = "deployed", ok = true) => ({
      status: {
        observedGeneration: 1,
        conditions: [
          {
            type: "Ready",
            status: ok ? "True" : "False",
            reason: ok ? "UpgradeSucceeded" : "UpgradeFailed",
            observedGeneration: 1,
          },
        ],
        history: [{ chartVersion, status: state }],
      },
    });
    // Ready at its generation, still on the old chart: the OCIRepository has not pulled the tag.
    seedFlux(api, "HelmRelease", "db", release("1.0.0+0123456789ab"));
    expect(await step(stepContext(up, ociStatus))).toMatchObject({
      kind: "waiting",
      message: expect.stringContaining("expected 1.1.0") as unknown,
    });
    // helm-controller appends the artifact's digest as build metadata.
    api.write(ref("HelmRelease", "db"), release("1.1.0+89abcdef0123"));
    expect(await step(stepContext(up, ociStatus))).toMatchObject({ kind: "succeeded" });
    // A failed release of the new chart fails the step; one of the old chart is not this commit's.
    api.write(ref("HelmRelease", "db"), release("1.1.0+89abcdef0123", "failed", false));
    expect(await step(stepContext(up, ociStatus))).toMatchObject({
      kind: "failed",
      reason: "FluxApplyFailed",
    });
  });

  it("fails when the Kustomization failed on the commit", async () => {
    const { api, up, step } = setUp();
    seedFlux(api, "GitRepository", "repo", {
      status: { artifact: { revision: `main@sha1:${SHA}` } },
    });
    seedFlux(api, "Kustomization", "apps", {
      status: {
        observedGeneration: 1,
        lastAttemptedRevision: `main@sha1:${SHA}`,
        conditions: [
          { type: "Ready", status: "False", reason: "BuildFailed", message: "bad yaml" },
        ],
      },
    });
    expect(await step(stepContext(up, status))).toMatchObject({
      kind: "failed",
      reason: "FluxApplyFailed",
      message: "Kustomization failed to apply the commit: BuildFailed: bad yaml",
    });
  });
});
