// Update checks end to end: the real controller (under its shipped RBAC) reads the chart
// versions of the demo app's HelmRepository, a private Helm repository on loopback that Flux's
// source-controller reads with the same basic-auth Secret. Publishing a new chart version sets
// status.availableUpdate without a restart once source-controller fetched the new index; a
// pre-release is not offered; a repository Cairn cannot read is named in the UpdateAvailable
// condition, and fixing its spec is picked up at once. An OCI repository's tags and an image's
// tags (an app versioned by an image tag) are listed every checkInterval, or its Flux ImagePolicy's
// choice read instead (the real image-reflector-controller scans the bed's registry).
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { KubeClient, KubeObject } from "../../src/kube/client.ts";
import { REPO_ROOT } from "../../testbed/src/binaries.ts";
import {
  DEMO_RELEASE_PATH,
  demoFluxObjects,
  gitWriteSecret,
  installManagedDemo,
  ociChartRelease,
  seedDemoRepo,
} from "../../testbed/src/demo-app.ts";
import { commitFiles, readFileAt, revParse } from "../../testbed/src/git-fixtures.ts";
import { packageCharts, startHelmRepo, type HelmRepo } from "../../testbed/src/helm-repo.ts";
import { pushChart, pushImage } from "../../testbed/src/oci-push.ts";
import { TestController } from "../support/controller.ts";
import { createTestNamespace, deleteNamespace, eventually, testClient } from "../support/kube.ts";
import { conditions, isReadyNow, requestReconcile, statusOf } from "../support/objects.ts";
import { assertAlive, requestFinished } from "../support/requests.ts";

const API = "cairn.dev/v1alpha1";
const FIXTURES = join(REPO_ROOT, "testbed", "fixtures", "charts");
const AUTH = { username: "chart-reader", password: "e2e-secret" };

interface UpdateStatus {
  availableUpdate: string;
  currentVersion: string;
  updateCheck: {
    source: { kind: string; namespace: string; name: string };
    url: string;
    chart: string;
    revision: string;
    checkedAt: string;
  };
}

describe("update checks", () => {
  const admin: KubeClient = testClient();
  const git = inject("git");
  let controller: TestController;
  let ns = "";
  let tmp = "";
  let charts = "";
  let helm: HelmRepo | undefined;
  let repo = "";
  /** Namespaces of apps set up apart from the demo's. */
  const extraNamespaces: string[] = [];

  const appRef = (name: string) => ({ apiVersion: API, kind: "ManagedApp", namespace: ns, name });
  const updateCondition = (obj: KubeObject) =>
    conditions(obj).find((c) => c.type === "UpdateAvailable");
  /** Packs charts/ into the served folder and rewrites its index. */
  const publish = async () => {
    if (!helm) throw new Error("no Helm repository");
    await packageCharts(charts, join(tmp, "served"), helm.url);
  };
  const addChart = async (fixture: string, version?: string) => {
    const target = join(charts, version ? `demo-${version}` : fixture);
    await cp(join(FIXTURES, fixture), target, { recursive: true });
    if (version) {
      const chartYaml = join(target, "Chart.yaml");
      const text = await readFile(chartYaml, "utf8");
      await writeFile(chartYaml, text.replace(/^version: .*$/m, `version: ${version}`));
    }
  };

  beforeAll(async () => {
    if (!git) throw new Error("the e2e tier needs the full test bed");
    tmp = await mkdtemp(join(tmpdir(), "cairn-updates-e2e-"));
    charts = join(tmp, "charts");
    await addChart("demo-1.0.0");
    // The index needs the URL: start the server over the (empty) served folder first.
    helm = await startHelmRepo({ root: join(tmp, "served"), basicAuth: AUTH });
    await publish();

    controller = await TestController.prepare({
      admin,
      clusterKubeconfig: inject("kubeconfig"),
      suffix: "-updates",
    });
    ns = await createTestNamespace(admin, "upd");
    repo = `${ns}-config`;
    // The demo release, its HelmRepository reading the private repository with a Secret.
    await seedDemoRepo(git.root, repo, helm.url);
    const release = await readFileAt(git.root, repo, DEMO_RELEASE_PATH);
    await commitFiles(
      git.root,
      repo,
      {
        [DEMO_RELEASE_PATH]: release.replace(
          /^(spec:\n {2}url: .*\n)/m,
          "$1  secretRef:\n    name: chart-reader\n",
        ),
      },
      "Private chart repository",
    );
    await admin.create({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "chart-reader", namespace: ns },
      stringData: AUTH,
    });
    for (const obj of demoFluxObjects(ns, `${git.url}/${repo}.git`)) await admin.create(obj);
    await admin.create(gitWriteSecret(ns, "git-write", git.username, git.password));
    await admin.create({
      apiVersion: API,
      kind: "ManagedApp",
      metadata: { name: "demo", namespace: ns, labels: { ...controller.labels } },
      spec: {
        gitPath: DEMO_RELEASE_PATH,
        kustomizationRef: { name: "apps" },
        helmReleaseRef: { name: "demo" },
        git: { secretRef: { name: "git-write" } },
      },
    });
    await controller.start();
  }, 400_000);

  afterAll(async () => {
    await controller.cleanup();
    if (ns) await deleteNamespace(admin, ns);
    for (const other of extraNamespaces) await deleteNamespace(admin, other);
    await helm?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  /** The bed's OCI registry, host:port, which the charts' oci:// URL names. */
  const registryHost = () =>
    inject("ociRepoUrl")
      .replace(/^oci:\/\//, "")
      .split("/")[0] ?? "";

  /** An UpgradeRequest of this file's namespace once it has finished. */
  const finished = (name: string) =>
    requestFinished(
      admin,
      { apiVersion: API, kind: "UpgradeRequest", namespace: ns, name },
      { alive: () => assertAlive(controller), timeoutMs: 120_000 },
    );

  /**
   * An app versioned by an image tag: `<name>/kustomization.yaml` in Git sets the image's tag
   * (as `kustomize edit set image` writes it), outside the demo Kustomization's path, and Flux
   * is asked to apply that commit so the app reads its version there.
   */
  async function imageApp(
    name: string,
    image: string,
    tag: string,
    versionImage: Record<string, unknown>,
  ): Promise<void> {
    if (!git) throw new Error("the e2e tier needs the full test bed");
    const file = `${name}/kustomization.yaml`;
    await commitFiles(
      git.root,
      repo,
      {
        [file]: [
          "apiVersion: kustomize.config.k8s.io/v1beta1",
          "kind: Kustomization",
          "images:",
          `  - name: ${name}`,
          `    newName: ${image}`,
          `    newTag: "${tag}"`,
          "",
        ].join("\n"),
      },
      `The ${name} image`,
    );
    for (const [apiVersion, kind, fluxName] of [
      ["source.toolkit.fluxcd.io/v1", "GitRepository", "config"],
      ["kustomize.toolkit.fluxcd.io/v1", "Kustomization", "apps"],
    ] as const)
      await requestReconcile(admin, { apiVersion, kind, namespace: ns, name: fluxName });
    await admin.create({
      apiVersion: API,
      kind: "ManagedApp",
      metadata: { name, namespace: ns, labels: { ...controller.labels } },
      spec: {
        gitPath: file,
        kustomizationRef: { name: "apps" },
        git: { secretRef: { name: "git-write" } },
        versionPolicy: {
          versionPath: "images[0].newTag",
          checkInterval: "30s",
          image: { name: image, insecure: true, ...versionImage },
        },
      },
    });
  }

  /**
   * Another app, on a HelmRelease of chart demo 1.0.0 from the named HelmRepository, suspended
   * so that helm-controller leaves it alone: only its update check runs.
   */
  async function suspendedApp(
    name: string,
    repository: string,
    versionPolicy: Record<string, unknown> = {},
  ): Promise<void> {
    await admin.create({
      apiVersion: "helm.toolkit.fluxcd.io/v2",
      kind: "HelmRelease",
      metadata: { name, namespace: ns },
      spec: {
        suspend: true,
        interval: "10m",
        chart: {
          spec: {
            chart: "demo",
            version: "1.0.0",
            sourceRef: { kind: "HelmRepository", name: repository },
          },
        },
      },
    });
    await admin.create({
      apiVersion: API,
      kind: "ManagedApp",
      metadata: { name, namespace: ns, labels: { ...controller.labels } },
      spec: {
        gitPath: DEMO_RELEASE_PATH,
        kustomizationRef: { name: "apps" },
        helmReleaseRef: { name },
        versionPolicy,
      },
    });
  }

  it("finds the app up to date while the repository has only its version", async () => {
    const app = await eventually(
      "the app's UpdateAvailable condition UpToDate",
      async () => {
        const obj = await admin.get(appRef("demo"));
        return updateCondition(obj)?.reason === "UpToDate" ? obj : undefined;
      },
      240_000,
    );
    expect(updateCondition(app)?.message).toBe(
      `no version of chart demo newer than 1.0.0 in HelmRepository ${ns}/demo (${helm?.url ?? ""}/) (pre-releases excluded)`,
    );
    const s = statusOf<UpdateStatus>(app);
    expect(s.availableUpdate).toBeUndefined();
    expect(s.updateCheck).toMatchObject({
      source: { kind: "HelmRepository", namespace: ns, name: "demo" },
      chart: "demo",
    });
  });

  it("offers a newly published version, not a pre-release, once Flux fetched the new index", async () => {
    const before = statusOf<UpdateStatus>(await admin.get(appRef("demo"))).updateCheck;
    await addChart("demo-1.1.0");
    await addChart("demo-1.1.0", "1.2.0-rc.1");
    await addChart("demo-1.0.0", "0.9.0");
    await publish();
    const repoRef = {
      apiVersion: "source.toolkit.fluxcd.io/v1",
      kind: "HelmRepository",
      namespace: ns,
      name: "demo",
    };
    await requestReconcile(admin, repoRef);
    // The index read is the one source-controller fetched last. source-controller may fetch
    // more than once (its interval and the request above), so wait until both agree.
    let revision: string | undefined;
    const app = await eventually(
      "status.availableUpdate 1.1.0, read at the HelmRepository's artifact revision",
      async () => {
        const obj = await admin.get(appRef("demo"));
        const repository = await admin.get(repoRef);
        revision = (repository["status"] as { artifact?: { revision?: string } }).artifact
          ?.revision;
        const s = statusOf<UpdateStatus>(obj);
        return s.availableUpdate === "1.1.0" && s.updateCheck?.revision === revision
          ? obj
          : undefined;
      },
      180_000,
    );
    const s = statusOf<UpdateStatus>(app);
    expect(revision).toBeDefined();
    expect(s.updateCheck?.revision).not.toBe(before?.revision);
    expect(Date.parse(s.updateCheck?.checkedAt ?? "")).toBeGreaterThan(
      Date.parse(before?.checkedAt ?? ""),
    );
    expect(updateCondition(app)).toMatchObject({
      status: "True",
      reason: "NewerVersion",
      message: expect.stringContaining(
        `chart demo 1.1.0 (running 1.0.0) in HelmRepository ${ns}/demo`,
      ) as unknown,
    });
    // Announced once, as a Normal Event on the app.
    const announced = await eventually("a NewerVersion Event", async () => {
      const { items } = await admin.list("v1", "Event", {
        namespace: ns,
        fieldSelector:
          "involvedObject.kind=ManagedApp,involvedObject.name=demo,reason=NewerVersion",
      });
      return items.length > 0 ? items : undefined;
    });
    expect(announced).toHaveLength(1);
    expect(String(announced[0]?.["type"])).toBe("Normal");
  });

  it("names a repository it cannot read, and reads again when its spec is fixed", async () => {
    // A second app on a HelmRelease (suspended: helm-controller leaves it alone) whose
    // HelmRepository lacks the credentials.
    if (!helm) throw new Error("no Helm repository");
    await admin.create({
      apiVersion: "source.toolkit.fluxcd.io/v1",
      kind: "HelmRepository",
      metadata: { name: "no-auth", namespace: ns },
      spec: { url: helm.url, interval: "10m" },
    });
    await suspendedApp("other", "no-auth");
    const denied = await eventually(
      "UpdateAvailable IndexUnreachable",
      async () => {
        const c = updateCondition(await admin.get(appRef("other")));
        return c?.reason === "IndexUnreachable" ? c : undefined;
      },
      120_000,
    );
    expect(denied).toMatchObject({
      status: "Unknown",
      message: `HelmRepository ${ns}/no-auth (${helm.url}/): GET ${helm.url}/index.yaml: HTTP 401`,
    });
    await admin.mergePatch(
      {
        apiVersion: "source.toolkit.fluxcd.io/v1",
        kind: "HelmRepository",
        namespace: ns,
        name: "no-auth",
      },
      { spec: { secretRef: { name: "chart-reader" } } },
    );
    // A new generation: read again at once, not after the failure's backoff.
    await eventually(
      "status.availableUpdate 1.1.0 on the fixed repository",
      async () => {
        const obj = await admin.get(appRef("other"));
        return statusOf<UpdateStatus>(obj).availableUpdate === "1.1.0" ? obj : undefined;
      },
      20_000,
    );
  });

  it("lists an OCI repository's tags every checkInterval: a pushed version is offered without a restart", async () => {
    // The bed's registry, under a path of this test's own; no Flux object changes when a tag
    // is pushed, so only the interval finds it.
    const host = registryHost();
    const path = `upd/${ns}`;
    const ociCharts = join(tmp, "oci-charts");
    const push = async () => {
      for (const chart of await packageCharts(ociCharts, join(tmp, "oci-packed"), "http://x"))
        await pushChart(`http://${host}`, chart, path);
    };
    await cp(join(FIXTURES, "demo-1.0.0"), join(ociCharts, "demo-1.0.0"), { recursive: true });
    await push();
    await admin.create({
      apiVersion: "source.toolkit.fluxcd.io/v1",
      kind: "HelmRepository",
      metadata: { name: "oci", namespace: ns },
      spec: { type: "oci", insecure: true, url: `oci://${host}/${path}`, interval: "10m" },
    });
    await suspendedApp("from-oci", "oci", { checkInterval: "30s" });
    const where = `HelmRepository ${ns}/oci (oci://${host}/${path})`;
    const upToDate = await eventually(
      "the OCI app UpToDate",
      async () => {
        const obj = await admin.get(appRef("from-oci"));
        return updateCondition(obj)?.reason === "UpToDate" ? obj : undefined;
      },
      120_000,
    );
    expect(updateCondition(upToDate)?.message).toBe(
      `no version of chart demo newer than 1.0.0 in ${where} (pre-releases excluded)`,
    );
    const first = statusOf<UpdateStatus>(upToDate).updateCheck;
    expect(first).toMatchObject({ source: { kind: "HelmRepository", name: "oci" }, chart: "demo" });
    expect(first?.revision).toBeUndefined();

    await cp(join(FIXTURES, "demo-1.1.0"), join(ociCharts, "demo-1.1.0"), { recursive: true });
    await push();
    const offered = await eventually(
      "status.availableUpdate 1.1.0 from the registry",
      async () => {
        const obj = await admin.get(appRef("from-oci"));
        return statusOf<UpdateStatus>(obj).availableUpdate === "1.1.0" ? obj : undefined;
      },
      120_000,
    );
    expect(updateCondition(offered)?.message).toBe(
      `chart demo 1.1.0 (running 1.0.0) in ${where} (pre-releases excluded)`,
    );
    expect(
      Date.parse(statusOf<UpdateStatus>(offered).updateCheck?.checkedAt ?? ""),
    ).toBeGreaterThan(Date.parse(first?.checkedAt ?? ""));
  });

  it("lists an image's tags for an app versioned by an image tag: a pushed tag is offered without a restart, and the plan checks the target against them", async () => {
    if (!git) throw new Error("the e2e tier needs the full test bed");
    const host = registryHost();
    const repository = `upd/${ns}/web`;
    const image = `${host}/${repository}`;
    await pushImage(`http://${host}`, repository, "1.0.0");
    await imageApp("web", image, "1.0.0", {});
    const where = `the registry (http://${host}/${repository})`;
    const upToDate = await eventually(
      "the image app UpToDate",
      async () => {
        const obj = await admin.get(appRef("web"));
        return updateCondition(obj)?.reason === "UpToDate" ? obj : undefined;
      },
      180_000,
    );
    expect(updateCondition(upToDate)?.message).toBe(
      `no version of image ${image} newer than 1.0.0 in ${where} (pre-releases excluded)`,
    );
    const first = statusOf<{ updateCheck: Record<string, unknown> }>(upToDate).updateCheck;
    expect(first).toMatchObject({ image, url: `http://${host}/${repository}` });
    expect(first?.["source"]).toBeUndefined();

    // New tags, one of them no version at all: the next listing offers 1.1.0.
    for (const tag of ["1.1.0", "latest", "1.2.0-rc.1"])
      await pushImage(`http://${host}`, repository, tag);
    const offered = await eventually(
      "status.availableUpdate 1.1.0 from the image's tags",
      async () => {
        const obj = await admin.get(appRef("web"));
        return statusOf<UpdateStatus>(obj).availableUpdate === "1.1.0" ? obj : undefined;
      },
      120_000,
    );
    expect(updateCondition(offered)?.message).toBe(
      `image ${image} 1.1.0 (running 1.0.0) in ${where} (pre-releases excluded)`,
    );

    // A plan checks the tag against the registry before anything else happens.
    const dryRun = async (name: string, tag: string) => {
      await admin.create({
        apiVersion: API,
        kind: "UpgradeRequest",
        metadata: { name, namespace: ns },
        spec: { managedAppRef: { name: "web" }, targetVersion: { chart: tag }, dryRun: true },
      });
      return finished(name);
    };
    const targetCheck = (r: KubeObject) =>
      statusOf<{ preflight?: { name: string; passed: boolean; message: string }[] }>(
        r,
      ).preflight?.find((c) => c.name === "TargetExists");
    const missing = await dryRun("web-missing", "9.9.9");
    expect(conditions(missing).find((c) => c.type === "Complete")?.reason).toBe("DryRunFailed");
    expect(targetCheck(missing)).toEqual({
      name: "TargetExists",
      passed: false,
      message: `image ${image} has no tag 9.9.9 in ${where}`,
    });
    const present = await dryRun("web-present", "1.1.0");
    expect(targetCheck(present)).toEqual({
      name: "TargetExists",
      passed: true,
      message: `image ${image}:1.1.0 is in ${where}`,
    });
  });

  it("takes the tag an ImagePolicy selected for an app that names one (versionPolicy.image.policyRef), without a restart", async () => {
    if (!git) throw new Error("the e2e tier needs the full test bed");
    const host = registryHost();
    const repository = `upd/${ns}/api`;
    const image = `${host}/${repository}`;
    for (const tag of ["2.0.0", "2.1.0", "3.0.0"])
      await pushImage(`http://${host}`, repository, tag);
    // Flux's image automation, as a team that already uses it has it: image-reflector-controller
    // scans the registry and the policy keeps to 2.x.
    const imageRepository = {
      apiVersion: "image.toolkit.fluxcd.io/v1",
      kind: "ImageRepository",
      namespace: ns,
      name: "api",
    };
    await admin.create({
      apiVersion: imageRepository.apiVersion,
      kind: imageRepository.kind,
      metadata: { name: "api", namespace: ns },
      spec: { image, insecure: true, interval: "10m" },
    });
    await admin.create({
      apiVersion: "image.toolkit.fluxcd.io/v1",
      kind: "ImagePolicy",
      metadata: { name: "api", namespace: ns },
      spec: {
        imageRepositoryRef: { name: "api" },
        policy: { semver: { range: ">=2.0.0 <3.0.0" } },
      },
    });
    await imageApp("api", image, "2.0.0", { policyRef: { name: "api" } });
    const offered = (version: string) =>
      eventually(
        `status.availableUpdate ${version} from the ImagePolicy`,
        async () => {
          const obj = await admin.get(appRef("api"));
          return statusOf<UpdateStatus>(obj).availableUpdate === version ? obj : undefined;
        },
        180_000,
      );
    // 3.0.0 is in the registry, but the policy chose 2.1.0: its choice is the candidate.
    const first = await offered("2.1.0");
    expect(updateCondition(first)?.message).toBe(
      `image ${image} 2.1.0 (running 2.0.0) in ImagePolicy ${ns}/api (pre-releases excluded)`,
    );
    expect(statusOf<{ updateCheck: Record<string, unknown> }>(first).updateCheck).toMatchObject({
      image,
      source: { kind: "ImagePolicy", namespace: ns, name: "api" },
    });
    // A new tag: once image-reflector-controller scans again and the policy moves, so does
    // availableUpdate, at the app's next check.
    await pushImage(`http://${host}`, repository, "2.2.0");
    await requestReconcile(admin, imageRepository);
    await offered("2.2.0");
  });

  it("checks and upgrades a chart from the OCIRepository of spec.chartRef: its tag in Git is the version, a pushed tag is offered, a missing one refused, and the upgrade waits for helm-controller's release", async () => {
    if (!git) throw new Error("the e2e tier needs the full test bed");
    const host = registryHost();
    const ons = await createTestNamespace(admin, "updref");
    extraNamespaces.push(ons);
    const path = `upd/${ons}`;
    const ociCharts = join(tmp, "chartref-charts");
    const push = async (fixture: string) => {
      await cp(join(FIXTURES, fixture), join(ociCharts, fixture), { recursive: true });
      for (const chart of await packageCharts(ociCharts, join(tmp, "chartref-packed"), "http://x"))
        await pushChart(`http://${host}`, chart, path);
    };
    await push("demo-1.0.0");
    // The chart as Flux documents it for spec.chartRef: an OCIRepository at a tag, in the file
    // that holds the HelmRelease.
    const orepo = `${ons}-config`;
    await installManagedDemo(admin, git, "", {
      namespace: ons,
      repo: orepo,
      release: ociChartRelease("demo-chart", `oci://${host}/${path}/demo`, "1.0.0", [
        '    storageClassName: ""',
      ]),
      labels: controller.labels,
      spec: { versionPolicy: { checkInterval: "30s" } },
    });
    const app = { apiVersion: API, kind: "ManagedApp", namespace: ons, name: "demo" };
    const where = `OCIRepository ${ons}/demo-chart (oci://${host}/${path}/demo)`;
    const upToDate = await eventually(
      "the chartRef app Ready and UpToDate",
      async () => {
        const obj = await admin.get(app);
        return isReadyNow(obj) && updateCondition(obj)?.reason === "UpToDate" ? obj : undefined;
      },
      240_000,
    );
    // The version is the OCIRepository's tag in Git, at the commit Flux applied.
    expect(statusOf<UpdateStatus>(upToDate).currentVersion).toBe("1.0.0");
    expect(conditions(upToDate).find((c) => c.type === "VersionResolved")).toMatchObject({
      status: "True",
      reason: "GitFile",
    });
    expect(updateCondition(upToDate)?.message).toBe(
      `no version of chart demo newer than 1.0.0 in ${where} (pre-releases excluded)`,
    );
    expect(statusOf<UpdateStatus>(upToDate).updateCheck).toMatchObject({
      source: { kind: "OCIRepository", namespace: ons, name: "demo-chart" },
      url: `oci://${host}/${path}/demo`,
      chart: "demo",
    });

    // A pushed version is offered within the interval, without a restart.
    await push("demo-1.1.0");
    const offered = await eventually(
      "status.availableUpdate 1.1.0 from the OCIRepository's registry",
      async () => {
        const obj = await admin.get(app);
        return statusOf<UpdateStatus>(obj).availableUpdate === "1.1.0" ? obj : undefined;
      },
      120_000,
    );
    expect(updateCondition(offered)?.message).toBe(
      `chart demo 1.1.0 (running 1.0.0) in ${where} (pre-releases excluded)`,
    );

    const request = (name: string) => ({
      apiVersion: API,
      kind: "UpgradeRequest",
      namespace: ons,
      name,
    });
    const finishedIn = (name: string, kind = "UpgradeRequest") =>
      requestFinished(
        admin,
        { ...request(name), kind },
        { alive: () => assertAlive(controller), timeoutMs: 240_000 },
      );
    /** The HelmRelease's newest release: its chart version carries the artifact's digest. */
    const newestRelease = async () => {
      const hr = await admin.get({
        apiVersion: "helm.toolkit.fluxcd.io/v2",
        kind: "HelmRelease",
        namespace: ons,
        name: "demo",
      });
      const status = hr["status"] as { history?: { chartVersion: string; status: string }[] };
      return status.history?.[0];
    };
    const head = await revParse(git.root, orepo, "main");
    await admin.create({
      apiVersion: API,
      kind: "UpgradeRequest",
      metadata: { name: "missing", namespace: ons },
      spec: { managedAppRef: { name: "demo" }, targetVersion: { chart: "9.9.9" } },
    });
    const missing = await finishedIn("missing");
    expect(conditions(missing).find((c) => c.type === "Complete")).toMatchObject({
      reason: "PlanFailed",
      message: expect.stringContaining(
        `TargetExists: chart demo has no version 9.9.9 in ${where}`,
      ) as unknown,
    });
    expect(await revParse(git.root, orepo, "main")).toBe(head);

    // Without a target the request takes the offered version; Commit writes the tag, and
    // AwaitFlux waits for helm-controller to release it (the HelmRelease's generation does not
    // move: only its release's chart version, digest appended, tells).
    await admin.create({
      apiVersion: API,
      kind: "UpgradeRequest",
      metadata: { name: "to-offered", namespace: ons },
      spec: { managedAppRef: { name: "demo" } },
    });
    const done = await finishedIn("to-offered");
    expect(conditions(done).find((c) => c.type === "Complete")).toMatchObject({
      status: "True",
      reason: "Succeeded",
    });
    expect(statusOf<{ plan: { git: Record<string, unknown> } }>(done).plan?.git).toMatchObject({
      versionPath: "spec.ref.tag",
      from: "1.0.0",
      to: "1.1.0",
      ociChartTag: true,
    });
    expect(await readFileAt(git.root, orepo, DEMO_RELEASE_PATH)).toContain('    tag: "1.1.0"');
    expect(await newestRelease()).toMatchObject({
      chartVersion: expect.stringMatching(/^1\.1\.0\+[0-9a-f]{12}$/) as unknown,
      status: "deployed",
    });
    await eventually(
      "the app's currentVersion 1.1.0",
      async () =>
        statusOf<UpdateStatus>(await admin.get(app)).currentVersion === "1.1.0" ? true : undefined,
      120_000,
    );

    // The rollback reverts the tag and waits for the release of 1.0.0 again.
    await admin.create({
      apiVersion: API,
      kind: "RollbackRequest",
      metadata: { name: "back", namespace: ons },
      spec: { upgradeRequestRef: { name: "to-offered" } },
    });
    const back = await finishedIn("back", "RollbackRequest");
    expect(conditions(back).find((c) => c.type === "Complete")).toMatchObject({
      status: "True",
      reason: "Succeeded",
    });
    expect(statusOf<{ plan: { git: Record<string, unknown> } }>(back).plan?.git).toMatchObject({
      from: "1.1.0",
      to: "1.0.0",
      ociChartTag: true,
    });
    expect(await readFileAt(git.root, orepo, DEMO_RELEASE_PATH)).toContain('    tag: "1.0.0"');
    expect((await newestRelease())?.chartVersion).toMatch(/^1\.0\.0\+[0-9a-f]{12}$/);
  });

  it("refuses a chart version the repository does not have, and a downgrade, before any side effect", async () => {
    if (!git) throw new Error("the e2e tier needs the full test bed");
    const head = await revParse(git.root, repo, "main");
    const preflight = (r: KubeObject) =>
      (
        statusOf<{ preflight: { name: string; passed: boolean; message: string }[] }>(r)
          .preflight ?? []
      ).filter((c) => c.name === "TargetExists" || c.name === "Downgrade");
    const create = (name: string, spec: Record<string, unknown>) =>
      admin.create({
        apiVersion: API,
        kind: "UpgradeRequest",
        metadata: { name, namespace: ns },
        spec: { managedAppRef: { name: "demo" }, ...spec },
      });
    const where = `HelmRepository ${ns}/demo (${helm?.url ?? ""}/)`;
    await create("missing-dry", { targetVersion: { chart: "9.9.9" }, dryRun: true });
    await create("missing", { targetVersion: { chart: "9.9.9" } });
    await create("older", { targetVersion: { chart: "0.9.0" } });
    const dry = await finished("missing-dry");
    expect(conditions(dry).find((c) => c.type === "Complete")?.reason).toBe("DryRunFailed");
    const missing = await finished("missing");
    expect(conditions(missing).find((c) => c.type === "Complete")).toMatchObject({
      reason: "PlanFailed",
      message: expect.stringContaining(
        `TargetExists: chart demo has no version 9.9.9 in ${where}`,
      ) as unknown,
    });
    for (const r of [dry, missing]) {
      expect(preflight(r)).toEqual([
        {
          name: "TargetExists",
          passed: false,
          message: `chart demo has no version 9.9.9 in ${where}`,
        },
      ]);
    }
    const older = await finished("older");
    expect(preflight(older)).toEqual([
      { name: "TargetExists", passed: true, message: `chart demo 0.9.0 is in ${where}` },
      {
        name: "Downgrade",
        passed: false,
        message:
          "0.9.0 is older than the running 1.0.0; set spec.allowDowngrade: true on the request to downgrade",
      },
    ]);
    // Nothing happened: Git where it was, Flux running, no request ever suspended anything.
    expect(await revParse(git.root, repo, "main")).toBe(head);
    const ks = await admin.get({
      apiVersion: "kustomize.toolkit.fluxcd.io/v1",
      kind: "Kustomization",
      namespace: ns,
      name: "apps",
    });
    expect((ks["spec"] as { suspend?: boolean }).suspend ?? false).toBe(false);
    for (const r of [dry, missing, older])
      expect(conditions(r).some((c) => c.type === "Suspended")).toBe(false);
  });
});
