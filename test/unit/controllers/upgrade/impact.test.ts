// The impact preview inside Plan (planImpact) on the fake API: the deployed release from Helm
// storage, the chart fetched from a real loopback Helm repository (the test bed's charts), the
// valuesFrom data, and a stand-in for cairn-render that records what it was asked and answers a
// fixed manifest (the real helper is exercised in test/integration/render).
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeImpactDetail } from "../../../../src/cli/format/impact.ts";
import {
  detailName,
  impactSourceOf,
  planImpact,
  releaseAfter,
} from "../../../../src/controllers/upgrade/impact.ts";
import type { KubeObject, ListOptions } from "../../../../src/kube/client.ts";
import type { UpgradeRequest } from "../../../../src/api/index.ts";
import { TESTBED_DIR } from "../../../../testbed/src/binaries.ts";
import { type HelmRepo, packageCharts, startHelmRepo } from "../../../../testbed/src/helm-repo.ts";
import { FakeObjectApi } from "../../../fakes/object-api.ts";
import { encodeRelease } from "../../helm/encode.ts";

const NS = "shop";
const CURRENT = `---
# Source: impact/templates/credentials-secret.yaml
apiVersion: v1
kind: Secret
metadata: { name: demo-credentials }
stringData: { DB_PASSWORD: x }
---
# Source: impact/templates/web-deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata: { name: demo-web }
spec:
  template:
    spec:
      containers: [{ name: web, image: "web:1.0.0", envFrom: [{ secretRef: { name: demo-credentials } }] }]
`;
const TARGET = `---
apiVersion: apps/v1
kind: Deployment
metadata: { name: demo-web }
spec:
  template:
    spec:
      containers: [{ name: web, image: "web:2.0.0", envFrom: [{ secretRef: { name: demo-credentials } }] }]
`;

let tmp = "";
let repo: HelmRepo;
let helperPath = "";
let seen = "";

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "cairn-plan-impact-"));
  repo = await startHelmRepo({ root: join(tmp, "repo") });
  await packageCharts(join(TESTBED_DIR, "fixtures", "charts"), join(tmp, "repo"), repo.url);
  seen = join(tmp, "seen");
  helperPath = join(tmp, "fake-render");
  // Records the request and a copy of the chart archive, then answers the target manifest.
  await writeFile(
    helperPath,
    `#!${process.execPath}
const fs = require("node:fs");
const req = JSON.parse(fs.readFileSync(0, "utf8"));
fs.writeFileSync(${JSON.stringify(`${seen}.json`)}, JSON.stringify(req));
fs.copyFileSync(req.helm.chartPath, ${JSON.stringify(`${seen}.tgz`)});
process.stdout.write(JSON.stringify({ manifest: ${JSON.stringify(TARGET)} }));
`,
  );
  await chmod(helperPath, 0o755);
});

afterAll(async () => {
  await repo.close();
  await rm(tmp, { recursive: true, force: true });
});

function world(withRepository = true) {
  const api = new FakeObjectApi();
  if (withRepository) {
    api.seed({
      apiVersion: "source.toolkit.fluxcd.io/v1",
      kind: "HelmRepository",
      metadata: { name: "charts", namespace: NS },
      spec: { url: repo.url },
    });
  }
  api.seed({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "vals", namespace: NS },
    data: { "values.yaml": "web: { replicas: 2 }\n" },
  });
  const release: KubeObject = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: "sh.helm.release.v1.demo.v1",
      namespace: NS,
      labels: { owner: "helm", name: "demo" },
    },
    type: "helm.sh/release.v1",
    data: {
      release: encodeRelease({
        name: "demo",
        namespace: NS,
        version: 1,
        info: { status: "deployed" },
        chart: { metadata: { name: "impact", version: "1.0.0" } },
        manifest: CURRENT,
      }),
    },
  };
  const client = {
    get: api.get.bind(api),
    create: api.create.bind(api),
    mergePatch: api.mergePatch.bind(api),
    serverVersion: () => Promise.resolve("v1.37.2"),
    list: (_apiVersion: string, kind: string, opts: ListOptions = {}) =>
      Promise.resolve({
        items: kind === "Secret" && opts.labelSelector === "owner=helm,name=demo" ? [release] : [],
        resourceVersion: "1",
      }),
  };
  return { api, client };
}

const helmRelease: KubeObject = {
  apiVersion: "helm.toolkit.fluxcd.io/v2",
  kind: "HelmRelease",
  metadata: { name: "demo", namespace: NS },
  spec: {
    chart: {
      spec: {
        chart: "impact",
        version: "1.0.0",
        sourceRef: { kind: "HelmRepository", name: "charts" },
      },
    },
    valuesFrom: [{ kind: "ConfigMap", name: "vals" }],
    values: { storageClassName: "" },
  },
};

const CHART_BUMP = {
  branch: "main",
  path: "apps/demo/release.yaml",
  versionPath: "spec.chart.spec.version",
  from: "1.0.0",
  to: "2.0.0",
};

function request(acknowledgeDangers?: string[]): UpgradeRequest {
  return {
    apiVersion: "cairn.dev/v1alpha1",
    kind: "UpgradeRequest",
    metadata: { name: "to-2", namespace: NS, uid: "req-uid" },
    spec: {
      managedAppRef: { name: "demo" },
      targetVersion: { chart: "2.0.0" },
      skipSnapshot: false,
      dryRun: false,
      ...(acknowledgeDangers ? { acknowledgeDangers } : {}),
    },
  } as UpgradeRequest;
}

describe("planImpact", () => {
  it("renders the target chart from the HelmRepository with the release's inputs", async () => {
    const { client } = world();
    await planImpact({
      client,
      helperPath,
      request: request(),
      source: { kind: "HelmRelease", helmRelease, git: CHART_BUMP },
      allowCrossNamespaceRefs: false,
    });
    const asked = JSON.parse(await readFile(`${seen}.json`, "utf8")) as {
      helm: Record<string, unknown>;
    };
    expect(asked.helm).toMatchObject({
      releaseName: "demo",
      namespace: NS,
      kubeVersion: "v1.37.2",
      valuesFrom: [{ source: "ConfigMap/vals", data: "web: { replicas: 2 }\n" }],
      values: { storageClassName: "" },
    });
    // The archive the repository serves for impact 2.0.0, byte for byte.
    const served = Buffer.from(await (await fetch(`${repo.url}/impact-2.0.0.tgz`)).arrayBuffer());
    expect((await readFile(`${seen}.tgz`)).equals(served)).toBe(true);
  });

  it("renders a value bump with the deployed chart and the HelmRelease's new values", async () => {
    const { client } = world();
    const tagged = {
      ...helmRelease,
      spec: {
        ...(helmRelease["spec"] as Record<string, unknown>),
        values: { storageClassName: "", image: { tag: "1.0.0" } },
      },
    };
    await planImpact({
      client,
      helperPath,
      request: request(),
      source: {
        kind: "HelmRelease",
        helmRelease: tagged,
        git: { ...CHART_BUMP, versionPath: "spec.values.image.tag", from: "1.0.0", to: "1.1.0" },
      },
      allowCrossNamespaceRefs: false,
    });
    const asked = JSON.parse(await readFile(`${seen}.json`, "utf8")) as {
      helm: Record<string, unknown>;
    };
    expect(asked.helm["values"]).toEqual({ storageClassName: "", image: { tag: "1.1.0" } });
    // The chart stays the deployed one (impact 1.0.0), not a chart "1.1.0".
    const served = Buffer.from(await (await fetch(`${repo.url}/impact-1.0.0.tgz`)).arrayBuffer());
    expect((await readFile(`${seen}.tgz`)).equals(served)).toBe(true);
  });

  it("refuses the incident unless acknowledged, and keeps the full diff in an owned ConfigMap", async () => {
    const { api, client } = world();
    const outcome = await planImpact({
      client,
      helperPath,
      request: request(),
      source: { kind: "HelmRelease", helmRelease, git: CHART_BUMP },
      allowCrossNamespaceRefs: false,
    });
    expect(outcome.impact).toEqual({
      added: 0,
      changed: 1,
      removed: 1,
      unchanged: 0,
      objects: [
        { change: "Removed", group: "", kind: "Secret", namespace: NS, name: "demo-credentials" },
        { change: "Changed", group: "apps", kind: "Deployment", namespace: NS, name: "demo-web" },
      ],
      detailConfigMap: "to-2-impact",
    });
    const danger = outcome.checks.find((c) => c.name === "ReferencedConfigRemoved");
    expect(danger?.passed).toBe(false);
    expect(danger?.message).toContain("Secret shop/demo-credentials is no longer rendered");
    const cm = api.peek({
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: NS,
      name: detailName("to-2"),
    });
    expect(cm?.metadata.ownerReferences).toEqual([
      {
        apiVersion: "cairn.dev/v1alpha1",
        kind: "UpgradeRequest",
        name: "to-2",
        uid: "req-uid",
        controller: true,
      },
    ]);
    const detail = decodeImpactDetail(cm);
    expect(detail?.impact.changed[0]?.changes).toEqual([
      { path: "spec.template.spec.containers[0].image", from: "web:1.0.0", to: "web:2.0.0" },
    ]);

    const acked = await planImpact({
      client,
      helperPath,
      request: request(["ReferencedConfigRemoved"]),
      source: { kind: "HelmRelease", helmRelease, git: CHART_BUMP },
      allowCrossNamespaceRefs: false,
    });
    expect(acked.checks.find((c) => c.name === "ReferencedConfigRemoved")?.passed).toBe(true);
    expect(acked.checks.every((c) => c.passed)).toBe(true);
  });

  it("fetches from a repository that needs credentials with the HelmRepository's secretRef", async () => {
    const privateRoot = join(tmp, "private");
    const auth = { username: "chart-reader", password: "unit-secret" };
    const locked = await startHelmRepo({ root: privateRoot, basicAuth: auth });
    try {
      await packageCharts(join(TESTBED_DIR, "fixtures", "charts"), privateRoot, locked.url);
      const { api, client } = world(false);
      api.seed({
        apiVersion: "source.toolkit.fluxcd.io/v1",
        kind: "HelmRepository",
        metadata: { name: "charts", namespace: NS },
        spec: { url: locked.url, secretRef: { name: "chart-reader" } },
      });
      const preview = () =>
        planImpact({
          client,
          helperPath,
          request: request(),
          source: { kind: "HelmRelease", helmRelease, git: CHART_BUMP },
          allowCrossNamespaceRefs: false,
        });
      // Without the Secret: no preview, and the message names what is missing.
      const missing = await preview();
      expect(missing.checks).toEqual([
        {
          name: "ImpactPreview",
          passed: true,
          message: expect.stringContaining(
            "Secret shop/chart-reader (spec.secretRef) not found",
          ) as string,
        },
      ]);
      api.seed({
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "chart-reader", namespace: NS },
        data: {
          username: Buffer.from(auth.username).toString("base64"),
          password: Buffer.from(auth.password).toString("base64"),
        },
      });
      const outcome = await preview();
      expect(outcome.impact).toMatchObject({ changed: 1, removed: 1 });
      expect(JSON.stringify(outcome.checks)).not.toContain(auth.password);
      // The archive it rendered is the one the private repository serves.
      const served = Buffer.from(
        await (
          await fetch(`${locked.url}/impact-2.0.0.tgz`, {
            headers: {
              authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}`,
            },
          })
        ).arrayBuffer(),
      );
      expect((await readFile(`${seen}.tgz`)).equals(served)).toBe(true);
    } finally {
      await locked.close();
    }
  });

  it("reports a preview it cannot make as a passed ImpactPreview check, changing nothing", async () => {
    const { api, client } = world(false);
    const outcome = await planImpact({
      client,
      helperPath,
      request: request(),
      source: { kind: "HelmRelease", helmRelease, git: CHART_BUMP },
      allowCrossNamespaceRefs: false,
    });
    expect(outcome).toEqual({
      checks: [
        {
          name: "ImpactPreview",
          passed: true,
          message: "not available: HelmRepository shop/charts not found",
        },
      ],
    });
    expect(api.calls.filter((c) => c.op === "create")).toEqual([]);
  });

  it("says it does not fetch another tag of spec.chartRef's OCIRepository, reading nothing", async () => {
    const { api, client } = world(true);
    const outcome = await planImpact({
      client,
      helperPath,
      request: request(),
      source: {
        kind: "HelmRelease",
        helmRelease,
        git: { ...CHART_BUMP, versionPath: "spec.ref.tag", ociChartTag: true },
      },
      allowCrossNamespaceRefs: false,
    });
    expect(outcome).toEqual({
      checks: [
        {
          name: "ImpactPreview",
          passed: true,
          message: `not available: the target chart is the OCIRepository's tag ${CHART_BUMP.to} (spec.chartRef), which the preview does not fetch`,
        },
      ],
    });
    expect(api.calls).toEqual([]);
  });
});

describe("charts from other sources", () => {
  const withChart = (spec: Record<string, unknown>): KubeObject => ({
    ...helmRelease,
    spec: { ...(helmRelease["spec"] as Record<string, unknown>), chart: undefined, ...spec },
  });
  const kustomization: KubeObject = {
    apiVersion: "kustomize.toolkit.fluxcd.io/v1",
    kind: "Kustomization",
    metadata: { name: "apps", namespace: NS },
    spec: { sourceRef: { kind: "GitRepository", name: "config" }, path: "./apps" },
  };
  const gitRepository = (spec: Record<string, unknown>): KubeObject => ({
    apiVersion: "source.toolkit.fluxcd.io/v1",
    kind: "GitRepository",
    metadata: { name: "config", namespace: NS },
    spec: { url: "http://127.0.0.1:1/config.git", ...spec },
  });
  const sourceFor = (hr: KubeObject, repoSpec: Record<string, unknown> = {}, client?: unknown) => {
    // A value bump: these HelmReleases have no spec.chart.spec.version to edit.
    const valueBump = {
      ...CHART_BUMP,
      versionPath: "spec.values.storageClassName",
      from: "",
      to: "fast",
    };
    const source = impactSourceOf({
      plan: { git: valueBump } as never,
      helmRelease: hr,
      kustomization,
      app: { metadata: { name: "demo", namespace: NS }, spec: {} } as never,
      gitAccess: {
        client,
        cacheDir: join(tmp, "git-cache"),
        allowCrossNamespaceRefs: false,
      } as never,
      gitRepositoryRef: { namespace: NS, name: "config" },
      gitRepository: gitRepository(repoSpec),
    });
    if (!source) throw new Error("no impact source");
    return source;
  };
  const notAvailable = async (
    hr: KubeObject,
    repoSpec: Record<string, unknown> = {},
    seed: readonly KubeObject[] = [],
  ) => {
    const { api, client } = world(false);
    for (const obj of seed) api.seed(obj);
    const outcome = await planImpact({
      client,
      helperPath,
      request: request(),
      source: sourceFor(hr, repoSpec, client),
      allowCrossNamespaceRefs: false,
    });
    return outcome.checks.map((c) => `${c.name} ${String(c.passed)}: ${c.message}`);
  };

  it("keeps what of the app's GitRepository shapes its artifact", () => {
    const source = sourceFor(helmRelease, {
      ignore: "/drafts/\n",
      sparseCheckout: ["./apps", 3],
      include: [{ repository: { name: "shared" } }],
    });
    expect(source.kind === "HelmRelease" ? source.tree : undefined).toMatchObject({
      gitRepository: { namespace: NS, name: "config" },
      ignore: "/drafts/\n",
      sparseCheckout: ["./apps"],
      includes: 1,
    });
  });

  it("names the source it does not read, and passes", async () => {
    const git = (name: string) => ({
      chart: {
        spec: { chart: "./charts/impact", sourceRef: { kind: "GitRepository", name } },
      },
    });
    // Another GitRepository is read at the revision Flux fetched, when it follows a branch.
    expect(await notAvailable(withChart(git("other")))).toEqual([
      `ImpactPreview true: not available: GitRepository ${NS}/other not found`,
    ]);
    const other = (spec: Record<string, unknown>, status?: Record<string, unknown>) => ({
      ...gitRepository(spec),
      metadata: { name: "other", namespace: NS },
      ...(status ? { status } : {}),
    });
    expect(
      await notAvailable(withChart(git("other")), {}, [other({ ref: { tag: "v1" } })]),
    ).toEqual([
      `ImpactPreview true: not available: GitRepository ${NS}/other: follows a tag (spec.ref.tag); the preview reads a branch`,
    ]);
    expect(await notAvailable(withChart(git("other")), {}, [other({})])).toEqual([
      `ImpactPreview true: not available: GitRepository ${NS}/other: source-controller has fetched no revision yet`,
    ]);
    expect(
      await notAvailable(withChart(git("other")), {}, [
        other(
          { secretRef: { name: "absent" } },
          { artifact: { revision: `main@sha1:${"a".repeat(40)}` } },
        ),
      ]),
    ).toEqual([
      `ImpactPreview true: not available: GitRepository ${NS}/other: spec.secretRef.name: Secret absent not found`,
    ]);
    expect(
      await notAvailable(withChart(git("config")), { include: [{ repository: { name: "x" } }] }),
    ).toEqual([
      `ImpactPreview true: not available: GitRepository ${NS}/config includes other repositories (spec.include), which the preview does not fetch`,
    ]);
    const revision = withChart(git("config"));
    (revision["spec"] as { chart: { spec: Record<string, unknown> } }).chart.spec[
      "reconcileStrategy"
    ] = "Revision";
    expect(await notAvailable(revision)).toEqual([
      "ImpactPreview true: not available: with reconcileStrategy Revision the chart's version carries the commit the upgrade creates, which is not known before it",
    ]);
    const valuesFiles = withChart(git("config"));
    (valuesFiles["spec"] as { chart: { spec: Record<string, unknown> } }).chart.spec[
      "valuesFiles"
    ] = ["values.yaml"];
    expect(await notAvailable(valuesFiles)).toEqual([
      "ImpactPreview true: not available: the HelmRelease names no HelmChart yet (status.helmChart)",
    ]);
    expect(await notAvailable(withChart({ chartRef: { kind: "HelmChart", name: "c" } }))).toEqual([
      "ImpactPreview true: not available: a chart from spec.chartRef HelmChart is not supported by the impact preview yet",
    ]);
    expect(
      await notAvailable(
        withChart({ chartRef: { kind: "OCIRepository", name: "web", namespace: "elsewhere" } }),
      ),
    ).toEqual([
      "ImpactPreview true: not available: the OCIRepository is in namespace elsewhere, outside the app's",
    ]);
    expect(
      await notAvailable(withChart({ chartRef: { kind: "OCIRepository", name: "web" } })),
    ).toEqual([`ImpactPreview true: not available: OCIRepository ${NS}/web not found`]);
  });
});

describe("releaseAfter", () => {
  it("applies the plan's image edit to the live HelmRelease's values, keeping its metadata", () => {
    const live: KubeObject = {
      ...helmRelease,
      metadata: { name: "demo", namespace: NS, generation: 4, uid: "hr-uid" },
      spec: {
        ...(helmRelease["spec"] as Record<string, unknown>),
        values: { web: { image: "registry.cairn.invalid/web:1.0.0" } },
      },
      status: { history: [{ chartVersion: "1.0.0" }] },
    };
    const after = releaseAfter(live, {
      ...CHART_BUMP,
      versionPath: "images",
      from: "1.0.0",
      to: "1.2.0",
      images: [{ name: "registry.cairn.invalid/web", from: "1.0.0", to: "1.2.0" }],
    });
    expect(after.targetVersion).toBeUndefined();
    expect(after.helmRelease.metadata).toEqual(live.metadata);
    expect(after.helmRelease["spec"]).toMatchObject({
      chart: { spec: { version: "1.0.0" } },
      values: { web: { image: "registry.cairn.invalid/web:1.2.0" } },
    });
    expect(after.helmRelease["status"]).toEqual(live["status"]);
  });

  it("takes a chart bump's version as the chart to render", () => {
    const after = releaseAfter(helmRelease, CHART_BUMP);
    expect(after.targetVersion).toBe("2.0.0");
    expect(after.helmRelease["spec"]).toMatchObject({ chart: { spec: { version: "2.0.0" } } });
  });
});
