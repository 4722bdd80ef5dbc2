// composePlan on the values a file can hold at the version path: an untagged image is planned
// from `latest` (its implied tag) and said to be untagged; a value that is no version (a range,
// a template) is refused by a check naming the field, instead of a plan the API would reject.
import { describe, expect, it } from "vitest";
import { VERSION_VALUE_PATTERN } from "../../../../src/api/fields.ts";
import { ManagedApp, PlanGit, UpgradeRequest } from "../../../../src/api/index.ts";
import { composePlan, type PlanInput } from "../../../../src/controllers/upgrade/plan.ts";
import { editContent, fileState } from "../../../../src/controllers/request/git-change.ts";
import { selectRelease } from "../../../../src/helm/select.ts";
import { captured } from "../../../fixtures/load.ts";

const HEAD = "a".repeat(40);

const app = (spec: Record<string, unknown>) =>
  ManagedApp.parse({
    apiVersion: "cairn.dev/v1alpha1",
    kind: "ManagedApp",
    metadata: { name: "web", namespace: "shop" },
    spec: { gitPath: "apps/web.yaml", kustomizationRef: { name: "apps" }, ...spec },
  });

const request = (targetVersion: Record<string, unknown>) =>
  UpgradeRequest.parse({
    apiVersion: "cairn.dev/v1alpha1",
    kind: "UpgradeRequest",
    metadata: { name: "up", namespace: "shop" },
    spec: { managedAppRef: { name: "web" }, targetVersion },
  });

function input(over: Partial<PlanInput> & Pick<PlanInput, "app" | "request">, content: string) {
  const base: PlanInput = {
    ...over,
    flux: [],
    runningParents: [],
    gitRepository: { namespace: "flux-system", name: "apps" },
    git: {
      ok: true,
      url: "http://127.0.0.1/apps.git",
      branch: "main",
      head: HEAD,
      content,
      canPush: { ok: true, message: "can push" },
    },
    volumes: [],
    missingVolumes: [],
    workloads: [],
    discoveryProblems: [],
    snapshotClass: undefined,
  };
  return base;
}

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          image: registry.example.com/team/web
`;

describe("an untagged image", () => {
  const out = composePlan(
    input(
      {
        app: app({}),
        request: request({ images: [{ name: "registry.example.com/team/web", tag: "1.2.0" }] }),
      },
      DEPLOYMENT,
    ),
  );

  it("is planned from latest, a version status accepts, and shown as untagged", () => {
    expect(out.checks.filter((c) => !c.passed)).toEqual([]);
    expect(out.plan?.git.from).toBe("latest");
    expect(out.plan?.git.images).toEqual([
      { name: "registry.example.com/team/web", from: "latest", to: "1.2.0" },
    ]);
    expect(PlanGit.safeParse(out.plan?.git).success).toBe(true);
    expect(out.checks.find((c) => c.name === "Images")?.message).toBe(
      "registry.example.com/team/web: latest (untagged) → 1.2.0",
    );
  });

  it("is recognised by the commit as the planned value, and is rolled back to latest", () => {
    const git = out.plan?.git;
    if (!git) throw new Error("no plan");
    expect(fileState(DEPLOYMENT, git, "forward")).toBe("from");
    const upgraded = editContent(DEPLOYMENT, git, "forward");
    expect(upgraded).toContain("image: registry.example.com/team/web:1.2.0");
    expect(fileState(upgraded, git, "forward")).toBe("to");
    // A clean revert brings the bare reference back: that is the rollback's target too.
    expect(fileState(DEPLOYMENT, git, "back")).toBe("to");
    const back = editContent(upgraded, git, "back");
    expect(back).toContain("image: registry.example.com/team/web:latest");
    expect(fileState(back, git, "back")).toBe("to");
  });
});

describe("a current value that is no version", () => {
  it.each([
    ["a semver range", "~1.2"],
    ["a template", "{{ .Values.version }}"],
  ])("(%s) is refused naming spec.versionPolicy.versionPath", (_, value) => {
    expect(new RegExp(VERSION_VALUE_PATTERN).test(value)).toBe(false);
    const content = `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
spec:
  chart:
    spec:
      chart: web
      version: "${value}"
`;
    const out = composePlan(
      input(
        { app: app({ helmReleaseRef: { name: "web" } }), request: request({ chart: "1.3.0" }) },
        content,
      ),
    );
    expect(out.plan).toBeUndefined();
    const failed = out.checks.filter((c) => !c.passed);
    expect(failed.map((c) => c.name)).toEqual(["VersionPath"]);
    expect(failed[0]?.message).toMatch(
      /^spec\.versionPolicy\.versionPath spec\.chart\.spec\.version in apps\/web\.yaml: the current value .* is not a version or tag/,
    );
  });

  it("as a Helm values tag is refused naming the image", () => {
    const content = `image:
  repository: registry.example.com/team/web
  tag: "{{ .Chart.AppVersion }}"
`;
    const out = composePlan(
      input(
        {
          app: app({}),
          request: request({ images: [{ name: "registry.example.com/team/web", tag: "1.2.0" }] }),
        },
        content,
      ),
    );
    expect(out.plan).toBeUndefined();
    expect(out.checks.filter((c) => !c.passed).map((c) => c.message)).toEqual([
      'spec.targetVersion.images registry.example.com/team/web: the current tag "{{ .Chart.AppVersion }}" in apps/web.yaml is not an image tag',
    ]);
  });
});

describe("a Helm release stuck in pending-upgrade", () => {
  it("fails the plan's HelmReleaseStorage check, with the recovery command", () => {
    const content = `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
spec:
  chart:
    spec:
      chart: demo
      version: 1.1.0
`;
    const out = composePlan(
      input(
        {
          app: app({ helmReleaseRef: { name: "demo" } }),
          request: request({ chart: "1.2.0" }),
          releaseStorage: {
            kind: "read",
            location: { name: "demo", namespace: "shop", storageNamespace: "shop" },
            selection: selectRelease([
              captured("helm-secret-v2.json"),
              captured("helm-secret-v3-pending.json"),
            ]),
          },
        },
        content,
      ),
    );
    const failed = out.checks.filter((c) => !c.passed);
    expect(failed.map((c) => c.name)).toEqual(["HelmReleaseStorage"]);
    expect(failed[0]?.message).toContain("helm rollback demo 2 --namespace shop --no-hooks");
  });
});

describe("a Flux object in a routine reconcile", () => {
  const ks = (generation: number, observed: number, ready?: Record<string, string>) => ({
    apiVersion: "kustomize.toolkit.fluxcd.io/v1",
    kind: "Kustomization",
    metadata: { name: "apps", namespace: "shop", generation },
    status: {
      observedGeneration: observed,
      conditions: ready ? [{ type: "Ready", ...ready }] : [],
    },
  });
  const ref = { kind: "Kustomization" as const, namespace: "shop", name: "apps" };
  const content = `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
spec:
  chart:
    spec:
      chart: web
      version: 1.0.0
`;
  const plan = (object: ReturnType<typeof ks>) =>
    composePlan({
      ...input(
        { app: app({ helmReleaseRef: { name: "web" } }), request: request({ chart: "1.1.0" }) },
        content,
      ),
      flux: [{ ref, object }],
    });

  it("is a failed check Plan waits out (Ready=Unknown Progressing, or a generation not observed)", () => {
    for (const object of [
      ks(2, 2, { status: "Unknown", reason: "Progressing", message: "Reconciliation in progress" }),
      ks(3, 2, { status: "True", reason: "ReconciliationSucceeded", message: "" }),
    ]) {
      const out = plan(object);
      const failed = out.checks.filter((c) => !c.passed);
      expect(failed.map((c) => c.name)).toEqual(["FluxObjects"]);
      expect(out.settling).toEqual(failed);
    }
  });

  it("is Ready during a routine reconcile of the revision it applied, and waits on a new one", () => {
    const routine = (revision: string) => {
      const k = structuredClone(captured("kustomization.json")) as ReturnType<typeof ks>;
      const status = k["status"] as Record<string, unknown>;
      const generation = k.metadata.generation;
      // As kustomize-controller starts every reconcile, also the periodic one (health/flux.ts).
      status["conditions"] = [
        {
          type: "Ready",
          status: "Unknown",
          reason: "Progressing",
          message: "Reconciliation in progress",
          observedGeneration: generation,
        },
        {
          type: "Reconciling",
          status: "True",
          reason: "Progressing",
          message: `Fetching manifests for revision ${revision} with a timeout of 2m0s`,
          observedGeneration: generation,
        },
      ];
      return k;
    };
    const applied = (captured("kustomization.json")["status"] as { lastAppliedRevision: string })
      .lastAppliedRevision;
    const same = plan(routine(applied));
    const flux = same.checks.find((c) => c.name === "FluxObjects");
    expect(flux?.passed).toBe(true);
    expect(flux?.message).toMatch(/is Ready: .*again, which it applied successfully before/);
    expect(same.settling).toEqual([]);
    const next = plan(routine("main@sha1:9d1e0b7a2a8f4c7b1e3d5f6a7b8c9d0e1f2a3b4c"));
    expect(next.checks.find((c) => c.name === "FluxObjects")?.passed).toBe(false);
    expect(next.settling.map((c) => c.name)).toEqual(["FluxObjects"]);
  });

  it("is not waited out when it failed (Ready=False)", () => {
    const out = plan(
      ks(2, 2, { status: "False", reason: "BuildFailed", message: "kustomize build failed" }),
    );
    expect(out.checks.filter((c) => !c.passed).map((c) => c.name)).toEqual(["FluxObjects"]);
    expect(out.settling).toEqual([]);
  });
});

describe("a custom versionPath on a HelmRelease app", () => {
  const helmRelease = `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: web
spec:
  chart:
    spec:
      chart: web
      version: 1.0.0
  values:
    image:
      tag: "1.4.0"
`;
  const plan = (versionPath: string, content: string) =>
    composePlan(
      input(
        {
          app: app({ helmReleaseRef: { name: "web" }, versionPolicy: { versionPath } }),
          request: request({ chart: "1.5.0" }),
        },
        content,
      ),
    );

  it("is planned when it is in the HelmRelease's spec (AwaitFlux watches its generation)", () => {
    const out = plan("spec.values.image.tag", helmRelease);
    expect(out.checks.filter((c) => !c.passed)).toEqual([]);
    expect(out.plan?.git).toMatchObject({
      versionPath: "spec.values.image.tag",
      from: "1.4.0",
      to: "1.5.0",
    });
  });

  it("is refused naming spec.versionPolicy.versionPath when Cairn cannot observe the release", () => {
    const values = "image:\n  tag: 1.4.0\n";
    const out = plan("image.tag", values);
    const failed = out.checks.filter((c) => !c.passed);
    expect(failed.map((c) => c.name)).toEqual(["VersionPath"]);
    expect(failed[0]?.message).toMatch(/^spec\.versionPolicy\.versionPath image\.tag: /);
    expect(out.plan).toBeUndefined();
  });
});

describe("a HelmRelease whose spec.chartRef names an OCIRepository", () => {
  const file = `apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata:
  name: web-chart
spec:
  url: oci://registry.example.com/charts/web
  ref:
    tag: 1.0.0 # the chart version
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: web
spec:
  chartRef:
    kind: OCIRepository
    name: web-chart
`;
  const helmRelease = (chartRef: string) => ({
    ref: { kind: "HelmRelease" as const, namespace: "shop", name: "web" },
    object: {
      apiVersion: "helm.toolkit.fluxcd.io/v2",
      kind: "HelmRelease",
      metadata: { name: "web", namespace: "shop", generation: 1 },
      spec: { chartRef: { kind: "OCIRepository", name: chartRef } },
      status: {
        observedGeneration: 1,
        conditions: [
          { type: "Ready", status: "True", reason: "UpgradeSucceeded", observedGeneration: 1 },
        ],
      },
    },
  });
  const plan = (chartRef: string, versionPolicy: Record<string, unknown> = {}) =>
    composePlan({
      ...input(
        {
          app: app({ helmReleaseRef: { name: "web" }, versionPolicy }),
          request: request({ chart: "1.1.0" }),
        },
        file,
      ),
      flux: [helmRelease(chartRef)],
    });

  it("edits the OCIRepository's spec.ref.tag by default, as the chart version AwaitFlux waits for", () => {
    const out = plan("web-chart");
    expect(out.checks.filter((c) => !c.passed)).toEqual([]);
    expect(out.plan?.git).toMatchObject({
      versionPath: "spec.ref.tag",
      from: "1.0.0",
      to: "1.1.0",
      ociChartTag: true,
    });
    expect(PlanGit.safeParse(out.plan?.git).success).toBe(true);
    const git = out.plan?.git;
    if (!git) throw new Error("no plan");
    expect(editContent(file, git, "forward")).toContain("tag: 1.1.0 # the chart version");
  });

  it("refuses a tag of another OCIRepository than the one spec.chartRef names", () => {
    const out = plan("other-chart");
    expect(out.plan).toBeUndefined();
    const failed = out.checks.filter((c) => !c.passed);
    expect(failed.map((c) => c.name)).toEqual(["VersionPath"]);
    expect(failed[0]?.message).toContain(
      "nor OCIRepository other-chart's spec.ref.tag, so Cairn cannot tell when the change is released",
    );
  });
});

describe("runWhileUploading", () => {
  const pvc = {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name: "data-web-0", namespace: "shop", uid: "p1" },
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
  };
  const planned = (
    volumeSnapshots: Record<string, unknown>,
    target: Record<string, unknown> = {
      images: [{ name: "registry.example.com/team/web", tag: "1.2.0" }],
    },
    skipSnapshot = false,
  ) => {
    const req = request(target);
    // input() fills in no volumes; this plan has one PVC to snapshot.
    return composePlan({
      ...input(
        { app: app({ volumeSnapshots }), request: { ...req, spec: { ...req.spec, skipSnapshot } } },
        DEPLOYMENT,
      ),
      volumes: [pvc],
    }).plan;
  };

  it("is pinned in the plan when the app asks for it and snapshots are taken", () => {
    expect(planned({ enabled: true, runWhileUploading: true })?.runWhileUploading).toBe(true);
    expect(planned({ enabled: true })?.runWhileUploading).toBeUndefined();
  });

  it("is left out when no snapshot is taken", () => {
    expect(planned({ enabled: false, runWhileUploading: true })?.runWhileUploading).toBeUndefined();
    expect(
      planned({ enabled: true, runWhileUploading: true }, undefined, true)?.runWhileUploading,
    ).toBeUndefined();
  });
});
