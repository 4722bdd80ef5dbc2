// The impact preview inside Plan, end to end on the full test bed: a HelmRelease app on the bed's
// `impact` chart (real Flux, Git server and Helm repository), and Cairn started with
// --render-helper pointing at the cached cairn-render. A dry run lists exactly what the target
// version adds, changes and removes; a real upgrade to a version with a danger is refused before
// any side effect (no commit, Flux never suspended, no snapshot); acknowledging the check by name
// lets it proceed.
import { execFile } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { gunzipSync } from "node:zlib";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { KubeClient, KubeObject, ObjectRef } from "../../src/kube/client.ts";
import { REPO_ROOT, TESTBED_DIR } from "../../testbed/src/binaries.ts";
import type { GitAccess } from "../../testbed/src/cluster.ts";
import {
  DEMO_RELEASE_PATH,
  demoFluxObjects,
  gitWriteSecret,
  ociChartRelease,
} from "../../testbed/src/demo-app.ts";
import {
  commitFiles,
  createBareRepo,
  readFileAt,
  revParse,
} from "../../testbed/src/git-fixtures.ts";
import { TestController } from "../support/controller.ts";
import { createTestNamespace, deleteNamespace, eventually, testClient } from "../support/kube.ts";
import { conditions, isReadyNow, requestReconcile, statusOf } from "../support/objects.ts";

const run = promisify(execFile);
const API = "cairn.dev/v1alpha1";

interface ImpactObject {
  change: string;
  group?: string;
  kind: string;
  namespace?: string;
  name: string;
}

interface RequestStatus {
  plan: {
    git: { from: string; to: string };
    impact?: {
      added: number;
      changed: number;
      removed: number;
      unchanged: number;
      objects: ImpactObject[];
      detailConfigMap?: string;
    };
  };
  preflight: { name: string; passed: boolean; message: string }[];
  history: { name: string; reason: string }[];
  commit: { sha: string };
}

const DANGER_CHECKS = [
  "ReferencedConfigRemoved",
  "VolumeDataRemoved",
  "ImmutableFieldChanged",
  "CustomResourceDefinitionRemoved",
  "OwnershipChanged",
];

describe("the impact preview in Plan", () => {
  const admin: KubeClient = testClient();
  const gitOrNull = inject("git");
  const git = (): GitAccess => {
    if (!gitOrNull) throw new Error("the e2e tier needs the full test bed");
    return gitOrNull;
  };
  let controller: TestController;
  let ns = "";
  let repo = "";
  const extraNamespaces: string[] = [];

  const requestRef = (name: string): ObjectRef => ({
    apiVersion: API,
    kind: "UpgradeRequest",
    namespace: ns,
    name,
  });
  const complete = (r: KubeObject) => conditions(r).find((c) => c.type === "Complete");
  const appReady = (timeoutMs: number) =>
    eventually(
      "the ManagedApp Ready",
      async () =>
        isReadyNow(await admin.get({ ...requestRef("demo"), kind: "ManagedApp" }))
          ? true
          : undefined,
      timeoutMs,
    );
  const describeObject = (o: ImpactObject) =>
    `${o.change} ${o.kind}${o.group ? `.${o.group}` : ""} ${o.namespace ?? ""}/${o.name}`;

  beforeAll(async () => {
    git();
    const { stdout } = await run("bash", [join(TESTBED_DIR, "build.sh"), "render"]);
    // build.sh's last line maps each component asked for to its cache folder.
    const render = (JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as { render?: string })
      .render;
    if (!render) throw new Error("testbed/build.sh listed no render helper");
    controller = await TestController.prepare({
      admin,
      clusterKubeconfig: inject("kubeconfig"),
      suffix: "-impact",
      extraArgs: [`--render-helper=${join(render, "cairn-render")}`],
    });
    ns = await createTestNamespace(admin, "impact");
    repo = `${ns}-config`;
    // The demo's release file, on the bed's `impact` chart instead of `demo`.
    const release = await readFile(
      join(REPO_ROOT, "testbed/fixtures/repos/demo-app", DEMO_RELEASE_PATH),
      "utf8",
    );
    await createBareRepo(git().root, repo);
    await commitFiles(
      git().root,
      repo,
      {
        // Without Helm's wait, helm-controller reports a release whose pods cannot start as
        // upgraded, and it is Cairn's HealthCheck that has to catch it.
        [DEMO_RELEASE_PATH]: release
          .replaceAll("{{HELM_URL}}", inject("helmRepoUrl"))
          .replace("chart: demo", "chart: impact")
          .replace("  values:\n", "  upgrade:\n    disableWait: true\n  values:\n"),
      },
      "Add the impact app",
    );
    for (const obj of demoFluxObjects(ns, `${git().url}/${repo}.git`)) await admin.create(obj);
    await admin.create(gitWriteSecret(ns, "git-write", git().username, git().password));
    await admin.create({
      apiVersion: API,
      kind: "ManagedApp",
      metadata: { name: "demo", namespace: ns, labels: { ...controller.labels } },
      spec: {
        gitPath: DEMO_RELEASE_PATH,
        kustomizationRef: { name: "apps" },
        helmReleaseRef: { name: "demo" },
        volumeSnapshots: { enabled: true },
        git: { secretRef: { name: "git-write" } },
        timeouts: { health: "45s" },
        autoRollback: true,
      },
    });
    await controller.start();
    await appReady(240_000);
  }, 400_000);

  afterAll(async () => {
    await controller.cleanup();
    if (ns) await deleteNamespace(admin, ns);
    await Promise.all(extraNamespaces.map((n) => deleteNamespace(admin, n)));
  });

  function alive(): void {
    if (!controller.process?.running)
      throw new Error(`controller exited:\n${controller.logTail()}`);
  }

  async function request(name: string, spec: Record<string, unknown>): Promise<KubeObject> {
    await admin.create({
      apiVersion: API,
      kind: "UpgradeRequest",
      metadata: { name, namespace: ns, labels: { ...controller.labels } },
      spec: { managedAppRef: { name: "demo" }, ...spec },
    });
    return eventually(
      `UpgradeRequest ${ns}/${name} to finish`,
      async () => {
        alive();
        const r = await admin.get(requestRef(name));
        const c = complete(r);
        return c && c.status !== "Unknown" ? r : undefined;
      },
      300_000,
    );
  }

  const chartInGit = async () =>
    /version: "([^"]+)"/.exec(await readFileAt(git().root, repo, DEMO_RELEASE_PATH))?.[1];

  async function suspended(): Promise<boolean[]> {
    const ks = await admin.get({
      apiVersion: "kustomize.toolkit.fluxcd.io/v1",
      kind: "Kustomization",
      namespace: ns,
      name: "apps",
    });
    const hr = await admin.get({
      apiVersion: "helm.toolkit.fluxcd.io/v2",
      kind: "HelmRelease",
      namespace: ns,
      name: "demo",
    });
    return [ks, hr].map((o) => (o["spec"] as { suspend?: boolean }).suspend ?? false);
  }

  async function snapshots(): Promise<number> {
    const list = await admin.list("snapshot.storage.k8s.io/v1", "VolumeSnapshot", {
      namespace: ns,
    });
    return list.items.length;
  }

  /** The request's impact ConfigMap, decoded. */
  async function detailOf(name: string, namespace = ns) {
    const cm = await admin.get({
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace,
      name: `${name}-impact`,
    });
    const packed = (cm["binaryData"] as Record<string, string>)["impact.json.gz"] ?? "";
    const owner = (cm.metadata["ownerReferences"] as { kind: string; name: string }[])[0];
    return {
      owner,
      detail: JSON.parse(gunzipSync(Buffer.from(packed, "base64")).toString("utf8")) as {
        impact: {
          changed: {
            id: { name: string };
            changes: { path: string; from?: unknown; to?: unknown }[];
          }[];
        };
      },
    };
  }

  it("a dry run to 1.1.0 lists exactly the objects added, changed and removed, without danger", async () => {
    const r = await request("dry-110", { targetVersion: { chart: "1.1.0" }, dryRun: true });
    expect(complete(r)?.reason, complete(r)?.message).toBe("DryRunSucceeded");
    const s = statusOf<RequestStatus>(r);
    const impact = s.plan?.impact;
    expect(impact).toMatchObject({ added: 2, changed: 5, removed: 0 });
    expect(impact?.objects.map(describeObject)).toEqual([
      `Changed ConfigMap ${ns}/demo-settings`,
      `Changed Deployment.apps ${ns}/demo-web`,
      `Changed Secret ${ns}/demo-credentials`,
      `Changed Service ${ns}/demo-db`,
      `Changed StatefulSet.apps ${ns}/demo-db`,
      `Added ConfigMap ${ns}/demo-features`,
      `Added Service ${ns}/demo-web`,
    ]);
    expect(impact?.detailConfigMap).toBe("dry-110-impact");
    const preview = s.preflight?.find((c) => c.name === "ImpactPreview");
    expect(preview).toEqual({
      name: "ImpactPreview",
      passed: true,
      message: "2 added, 5 changed, 0 removed; full diff in ConfigMap dry-110-impact",
    });
    for (const check of DANGER_CHECKS)
      expect(s.preflight?.find((c) => c.name === check)).toMatchObject({
        passed: true,
        message: "none found",
      });
    const { owner, detail } = await detailOf("dry-110");
    expect(owner).toMatchObject({ kind: "UpgradeRequest", name: "dry-110" });
    const settings = detail.impact.changed.find((c) => c.id.name === "demo-settings");
    expect(settings?.changes).toContainEqual({
      path: "data.GREETING",
      from: "hello",
      to: "hello again",
    });
    expect(await chartInGit()).toBe("1.0.0");
    expect(await suspended()).toEqual([false, false]);
  });

  it("a dry run to 2.0.0 shows the dropped Secret the Deployment reads as a failed check", async () => {
    const r = await request("dry-200", { targetVersion: { chart: "2.0.0" }, dryRun: true });
    expect(complete(r)?.reason).toBe("DryRunFailed");
    const s = statusOf<RequestStatus>(r);
    // The dangerous object leads the list.
    expect(s.plan?.impact?.objects.map(describeObject)[0]).toBe(
      `Removed Secret ${ns}/demo-credentials`,
    );
    expect(s.plan?.impact).toMatchObject({ added: 0, removed: 1 });
    const check = s.preflight?.find((c) => c.name === "ReferencedConfigRemoved");
    expect(check?.passed).toBe(false);
    expect(check?.message).toMatch(
      /^refused unless spec.acknowledgeDangers lists ReferencedConfigRemoved: /,
    );
    expect(check?.message).toContain("demo-credentials");
    expect(check?.message).toContain("demo-web");
  });

  it("kubectl cairn plan --diff -o json carries the impact a CI job posts", async () => {
    const bin = join(REPO_ROOT, "bin/kubectl-cairn.js");
    const { stdout } = await run(
      process.execPath,
      [bin, "plan", "demo", "--to", "1.1.0", "--diff", "-o", "json", "-n", ns],
      { env: { ...process.env, KUBECONFIG: inject("kubeconfig") }, maxBuffer: 16 * 1024 * 1024 },
    );
    const printed = JSON.parse(stdout) as {
      impact: {
        summary: { added: number; changed: number; removed: number };
        dangers: { name: string; passed: boolean }[];
        detail: { impact: { added: { id: { name: string }; object: Record<string, unknown> }[] } };
      };
    };
    expect(printed.impact.summary).toMatchObject({ added: 2, changed: 5, removed: 0 });
    expect(printed.impact.dangers.map((d) => [d.name, d.passed])).toEqual(
      DANGER_CHECKS.map((c) => [c, true]),
    );
    expect(printed.impact.detail.impact.added.map((a) => a.id.name)).toEqual([
      "demo-features",
      "demo-web",
    ]);
    expect(printed.impact.detail.impact.added[0]?.object["kind"]).toBe("ConfigMap");
  });

  it.each([
    ["2.0.0", "ReferencedConfigRemoved", "demo-credentials"],
    ["3.0.0", "ImmutableFieldChanged", "demo-db"],
  ])(
    "a real upgrade to %s is refused by %s before any side effect",
    async (version, check, object) => {
      const head = await revParse(git().root, repo, "main");
      const name = `to-${version.replaceAll(".", "")}`;
      const r = await request(name, { targetVersion: { chart: version } });
      expect(complete(r)?.reason, complete(r)?.message).toBe("PlanFailed");
      expect(complete(r)?.message).toContain(check);
      const s = statusOf<RequestStatus>(r);
      const failed = s.preflight?.filter((c) => !c.passed).map((c) => c.name);
      expect(failed).toEqual([check]);
      expect(s.preflight?.find((c) => c.name === check)?.message).toContain(object);
      expect(s.history?.map((h) => h.name)).toEqual(["Admit", "Plan"]);
      expect(s.commit).toBeUndefined();
      expect(await revParse(git().root, repo, "main")).toBe(head);
      expect(await chartInGit()).toBe("1.0.0");
      expect(await suspended()).toEqual([false, false]);
      expect(await snapshots()).toBe(0);
    },
  );

  it("acknowledged by name, the upgrade to 2.0.0 proceeds, fails as predicted in HealthCheck and is rolled back", async () => {
    const r = await request("to-200-ack", {
      targetVersion: { chart: "2.0.0" },
      acknowledgeDangers: ["ReferencedConfigRemoved"],
    });
    const s = statusOf<RequestStatus>(r);
    const check = s.preflight?.find((c) => c.name === "ReferencedConfigRemoved");
    expect(check?.passed).toBe(true);
    expect(check?.message).toMatch(/^acknowledged \(spec.acknowledgeDangers\): /);
    expect(check?.message).toContain("demo-credentials");
    expect(s.history?.map((h) => h.name)).toEqual(
      expect.arrayContaining(["Plan", "Suspend", "Snapshot", "Commit", "AwaitFlux", "ScaleUp"]),
    );
    expect(s.commit?.sha).toMatch(/^[0-9a-f]{40}$/);
    expect(await snapshots()).toBeGreaterThan(0);
    // What the check predicted: the new pods cannot start without the Secret, and HealthCheck
    // says so in the kubelet's words.
    expect(complete(r)?.reason, complete(r)?.message).toBe("RollbackTriggered");
    expect(s.history?.map((h) => h.name)).toContain("HealthCheck");
    expect(complete(r)?.message).toContain("HealthCheck");
    expect(complete(r)?.message).toContain("CreateContainerConfigError");
    expect(complete(r)?.message).toContain('secret "demo-credentials" not found');
    const rollback = await eventually(
      "to-200-ack-rollback to finish",
      async () => {
        alive();
        const rb = await admin.get({
          apiVersion: API,
          kind: "RollbackRequest",
          namespace: ns,
          name: "to-200-ack-rollback",
        });
        const c = complete(rb);
        return c && c.status !== "Unknown" ? rb : undefined;
      },
      400_000,
    );
    expect(complete(rollback)?.reason, complete(rollback)?.message).toBe("Succeeded");
    expect(await chartInGit()).toBe("1.0.0");
    expect(await suspended()).toEqual([false, false]);
    // The Secret is rendered again and every web pod runs.
    await admin.get({ apiVersion: "v1", kind: "Secret", namespace: ns, name: "demo-credentials" });
    const web = await admin.get({
      apiVersion: "apps/v1",
      kind: "Deployment",
      namespace: ns,
      name: "demo-web",
    });
    expect(web["status"]).toMatchObject({ readyReplicas: 1, updatedReplicas: 1 });
  });

  it("a Kustomization app's image bump: one changed Deployment, built with the Kustomization's namespace, patches and postBuild", async () => {
    const kns = await createTestNamespace(admin, "impact-ks");
    extraNamespaces.push(kns);
    const krepo = `${kns}-config`;
    const path = "apps/notes/deployment.yaml";
    // Variables and a patch the build must apply, or the live objects would differ in them too.
    const deployment = stringify({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "notes" },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "notes" } },
        template: {
          metadata: { labels: { app: "notes" } },
          spec: {
            containers: [
              {
                name: "notes",
                image: "registry.invalid/notes:1.0",
                env: [
                  { name: "GREETING", value: "${GREETING}" },
                  { name: "COLOUR", value: "${COLOUR}" },
                ],
              },
            ],
          },
        },
      },
    });
    const settings = stringify({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "notes-settings" },
      data: { greeting: "${GREETING}" },
    });
    // A Service, as nearly every app has: read live (the shipped RBAC allows it), unchanged.
    const service = stringify({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "notes" },
      spec: { selector: { app: "notes" }, ports: [{ name: "http", port: 80, targetPort: 8080 }] },
    });
    await createBareRepo(git().root, krepo);
    await commitFiles(
      git().root,
      krepo,
      {
        [path]: deployment,
        "apps/notes/settings.yaml": settings,
        "apps/notes/service.yaml": service,
        // Left out of the artifact by the GitRepository's spec.ignore and by .sourceignore:
        // Flux never applies them, so the preview must not count them as added.
        "apps/notes/draft.yaml": stringify({
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: "notes-draft" },
        }),
        "apps/notes/dev.local.yaml": stringify({
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: "notes-dev" },
        }),
        "apps/notes/.sourceignore": "*.local.yaml\n",
        // Outside the GitRepository's spec.sparseCheckout: not cloned, so its rule (which would
        // drop the settings) does not apply, to Flux's artifact or to the preview.
        ".sourceignore": "/apps/notes/settings.yaml\n",
      },
      "Add notes",
    );
    await admin.create({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "notes-vars", namespace: kns },
      data: { GREETING: "hello", COLOUR: "red" },
    });
    await admin.create({
      apiVersion: "source.toolkit.fluxcd.io/v1",
      kind: "GitRepository",
      metadata: { name: "plain", namespace: kns },
      spec: {
        url: `${git().url}/${krepo}.git`,
        ref: { branch: "main" },
        interval: "1m",
        ignore: "/apps/notes/draft.yaml\n",
        sparseCheckout: ["./apps"],
      },
    });
    await admin.create({
      apiVersion: "kustomize.toolkit.fluxcd.io/v1",
      kind: "Kustomization",
      metadata: { name: "notes", namespace: kns },
      spec: {
        sourceRef: { kind: "GitRepository", name: "plain" },
        path: "./apps/notes",
        prune: true,
        targetNamespace: kns,
        interval: "1m",
        timeout: "2m",
        patches: [
          {
            target: { kind: "Deployment", name: "notes" },
            patch: stringify([{ op: "add", path: "/metadata/labels", value: { team: "docs" } }]),
          },
        ],
        postBuild: {
          substitute: { COLOUR: "blue" },
          substituteFrom: [{ kind: "ConfigMap", name: "notes-vars" }],
        },
      },
    });
    await admin.create(gitWriteSecret(kns, "git-write", git().username, git().password));
    await admin.create({
      apiVersion: API,
      kind: "ManagedApp",
      metadata: { name: "notes", namespace: kns, labels: { ...controller.labels } },
      spec: {
        gitPath: path,
        kustomizationRef: { name: "notes" },
        git: { secretRef: { name: "git-write" } },
      },
    });
    await eventually(
      "the notes app Ready",
      async () =>
        isReadyNow(
          await admin.get({ apiVersion: API, kind: "ManagedApp", namespace: kns, name: "notes" }),
        )
          ? true
          : undefined,
      240_000,
    );
    // What Flux applied: substituted (inline over the ConfigMap) and patched.
    const live = await admin.get({
      apiVersion: "apps/v1",
      kind: "Deployment",
      namespace: kns,
      name: "notes",
    });
    expect(live.metadata.labels).toMatchObject({ team: "docs" });
    for (const ignored of ["notes-draft", "notes-dev"])
      await expect(
        admin.get({ apiVersion: "v1", kind: "ConfigMap", namespace: kns, name: ignored }),
      ).rejects.toThrow(/not found/);
    // The rule outside the sparse checkout did not apply.
    expect(
      (
        await admin.get({
          apiVersion: "v1",
          kind: "ConfigMap",
          namespace: kns,
          name: "notes-settings",
        })
      ).metadata.name,
    ).toBe("notes-settings");

    const name = "notes-image";
    await admin.create({
      apiVersion: API,
      kind: "UpgradeRequest",
      metadata: { name, namespace: kns, labels: { ...controller.labels } },
      spec: {
        managedAppRef: { name: "notes" },
        targetVersion: { images: [{ name: "registry.invalid/notes", tag: "2.0" }] },
        dryRun: true,
      },
    });
    const r = await eventually(
      `UpgradeRequest ${kns}/${name} to finish`,
      async () => {
        alive();
        const got = await admin.get({ ...requestRef(name), namespace: kns });
        const c = complete(got);
        return c && c.status !== "Unknown" ? got : undefined;
      },
      300_000,
    );
    expect(complete(r)?.reason, complete(r)?.message).toBe("DryRunSucceeded");
    const s = statusOf<RequestStatus>(r);
    expect(s.plan?.impact).toMatchObject({ added: 0, changed: 1, removed: 0, unchanged: 2 });
    expect(s.plan?.impact?.objects.map(describeObject)).toEqual([
      `Changed Deployment.apps ${kns}/notes`,
    ]);
    // Nothing of the inventory was left out for want of permission.
    expect(s.preflight?.find((c) => c.name === "ImpactPreview")).toMatchObject({
      passed: true,
      message: `0 added, 1 changed, 0 removed; full diff in ConfigMap ${name}-impact`,
    });
    const cm = await admin.get({
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: kns,
      name: `${name}-impact`,
    });
    const packed = (cm["binaryData"] as Record<string, string>)["impact.json.gz"] ?? "";
    const detail = JSON.parse(gunzipSync(Buffer.from(packed, "base64")).toString("utf8")) as {
      impact: { changed: { changes: unknown[] }[] };
    };
    expect(detail.impact.changed[0]?.changes).toEqual([
      {
        path: "spec.template.spec.containers[0].image",
        from: "registry.invalid/notes:1.0",
        to: "registry.invalid/notes:2.0",
      },
    ]);
  });

  it("a HelmRelease app's image bump in spec.values: the deployed chart rendered with the new tag", async () => {
    // The release takes the web image from its values, in the {repository, tag} form.
    const release = await readFileAt(git().root, repo, DEMO_RELEASE_PATH);
    const tagged = release.replace("  values:\n", WEB_IMAGE_VALUES);
    expect(tagged).not.toBe(release);
    await commitFiles(git().root, repo, { [DEMO_RELEASE_PATH]: tagged }, "Web image in values");
    const flux = (kind: string, name: string) => ({
      apiVersion:
        kind === "HelmRelease"
          ? "helm.toolkit.fluxcd.io/v2"
          : kind === "Kustomization"
            ? "kustomize.toolkit.fluxcd.io/v1"
            : "source.toolkit.fluxcd.io/v1",
      kind,
      namespace: ns,
      name,
    });
    await requestReconcile(admin, flux("GitRepository", "config"));
    await requestReconcile(admin, flux("Kustomization", "apps"));
    await eventually(
      "the HelmRelease released with the image in its values",
      async () => {
        const hr = await admin.get(flux("HelmRelease", "demo"));
        const values = (hr["spec"] as { values?: { web?: { image?: { tag?: string } } } }).values;
        return values?.web?.image?.tag === "1.0.0" && isReadyNow(hr) ? true : undefined;
      },
      180_000,
    );
    await appReady(120_000);

    const r = await request("image-101", { targetVersion: WEB_IMAGE_BUMP, dryRun: true });
    await expectOnlyTheWebImage(ns, "image-101", r);
  });

  /**
   * Another HelmRelease app in its own namespace and repository (the demo's GitRepository
   * `config` and Kustomization `apps`), Ready before the test goes on.
   */
  async function otherApp(prefix: string, files: Record<string, string>): Promise<string> {
    const ons = await createTestNamespace(admin, prefix);
    extraNamespaces.push(ons);
    const orepo = `${ons}-config`;
    await createBareRepo(git().root, orepo);
    await commitFiles(git().root, orepo, files, "Add the app");
    for (const obj of demoFluxObjects(ons, `${git().url}/${orepo}.git`)) await admin.create(obj);
    await admin.create(gitWriteSecret(ons, "git-write", git().username, git().password));
    const appRef = { apiVersion: API, kind: "ManagedApp", namespace: ons, name: "demo" };
    await admin.create({
      apiVersion: API,
      kind: "ManagedApp",
      metadata: { name: "demo", namespace: ons, labels: { ...controller.labels } },
      spec: {
        gitPath: DEMO_RELEASE_PATH,
        kustomizationRef: { name: "apps" },
        helmReleaseRef: { name: "demo" },
        git: { secretRef: { name: "git-write" } },
      },
    });
    await eventually(
      `the ${prefix} app Ready`,
      async () => (isReadyNow(await admin.get(appRef)) ? true : undefined),
      240_000,
    );
    return ons;
  }

  /** A dry run of another app's upgrade, finished. */
  async function dryRunIn(ons: string, name: string, targetVersion: unknown): Promise<KubeObject> {
    await admin.create({
      apiVersion: API,
      kind: "UpgradeRequest",
      metadata: { name, namespace: ons, labels: { ...controller.labels } },
      spec: { managedAppRef: { name: "demo" }, targetVersion, dryRun: true },
    });
    return eventually(
      `UpgradeRequest ${ons}/${name} to finish`,
      async () => {
        alive();
        const got = await admin.get({ ...requestRef(name), namespace: ons });
        const c = complete(got);
        return c && c.status !== "Unknown" ? got : undefined;
      },
      300_000,
    );
  }

  /** The HelmRelease `demo` of a chart folder in a GitRepository, with the web image in values. */
  const gitChartRelease = (chart: string, source: string, chartSpec: string[] = []) =>
    [
      "apiVersion: helm.toolkit.fluxcd.io/v2",
      "kind: HelmRelease",
      "metadata:",
      "  name: demo",
      "spec:",
      "  interval: 1m",
      "  chart:",
      "    spec:",
      `      chart: ${chart}`,
      "      sourceRef:",
      "        kind: GitRepository",
      `        name: ${source}`,
      ...chartSpec,
      `${WEB_IMAGE_VALUES}    storageClassName: ""`,
      "",
    ].join("\n");

  /** The impact chart 1.0.0's files, for a Git repository, under the folder `at`. */
  async function impactChartFiles(at: string): Promise<Record<string, string>> {
    const chartDir = join(TESTBED_DIR, "fixtures/charts/impact-1.0.0");
    const files: Record<string, string> = {};
    for (const file of ["Chart.yaml", "values.yaml"])
      files[`${at}/${file}`] = await readFile(join(chartDir, file), "utf8");
    for (const file of await readdir(join(chartDir, "templates")))
      files[`${at}/templates/${file}`] = await readFile(join(chartDir, "templates", file), "utf8");
    return files;
  }

  /** The web image in the release's values, in the {repository, tag} form. */
  const WEB_IMAGE_VALUES =
    '  values:\n    web:\n      image:\n        repository: registry.cairn.invalid/impact-web\n        tag: "1.0.0"\n';
  const WEB_IMAGE_BUMP = {
    images: [{ name: "registry.cairn.invalid/impact-web", tag: "1.0.1" }],
  };

  /** The one change an image bump of the web image makes. */
  async function expectOnlyTheWebImage(ons: string, name: string, r: KubeObject): Promise<void> {
    expect(complete(r)?.reason, complete(r)?.message).toBe("DryRunSucceeded");
    const s = statusOf<RequestStatus>(r);
    expect(s.preflight?.find((c) => c.name === "ImpactPreview")).toMatchObject({
      passed: true,
      message: `0 added, 1 changed, 0 removed; full diff in ConfigMap ${name}-impact`,
    });
    expect(s.plan?.impact?.objects.map(describeObject)).toEqual([
      `Changed Deployment.apps ${ons}/demo-web`,
    ]);
    const { detail } = await detailOf(name, ons);
    expect(detail.impact.changed[0]?.changes).toEqual([
      {
        path: "spec.template.spec.containers[0].image",
        from: "registry.cairn.invalid/impact-web:1.0.0",
        to: "registry.cairn.invalid/impact-web:1.0.1",
      },
    ]);
  }

  it("an app whose chart comes from an OCI HelmRepository: the same impact as from HTTP", async () => {
    const release = await readFile(
      join(REPO_ROOT, "testbed/fixtures/repos/demo-app", DEMO_RELEASE_PATH),
      "utf8",
    );
    // The bed's registry holds every fixture chart under oci://<registry>/charts, plain HTTP.
    const oci = release
      .replace(
        '  url: "{{HELM_URL}}"\n',
        `  type: oci\n  insecure: true\n  url: "${inject("ociRepoUrl")}"\n`,
      )
      .replace("chart: demo", "chart: impact");
    expect(oci).toContain("type: oci");
    const ons = await otherApp("impact-oci", { [DEMO_RELEASE_PATH]: oci });
    const name = "oci-110";
    const r = await dryRunIn(ons, name, { chart: "1.1.0" });
    expect(complete(r)?.reason, complete(r)?.message).toBe("DryRunSucceeded");
    const s = statusOf<RequestStatus>(r);
    expect(s.preflight?.find((c) => c.name === "ImpactPreview")).toMatchObject({
      passed: true,
      message: `2 added, 5 changed, 0 removed; full diff in ConfigMap ${name}-impact`,
    });
    // The target is checked against the registry's tags, as against an HTTP index.
    expect(s.preflight?.find((c) => c.name === "TargetExists")).toMatchObject({
      passed: true,
      message: `chart impact 1.1.0 is in HelmRepository ${ons}/demo (${inject("ociRepoUrl")})`,
    });
    expect(s.plan?.impact?.objects.map(describeObject)).toEqual([
      `Changed ConfigMap ${ons}/demo-settings`,
      `Changed Deployment.apps ${ons}/demo-web`,
      `Changed Secret ${ons}/demo-credentials`,
      `Changed Service ${ons}/demo-db`,
      `Changed StatefulSet.apps ${ons}/demo-db`,
      `Added ConfigMap ${ons}/demo-features`,
      `Added Service ${ons}/demo-web`,
    ]);
    const missing = await dryRunIn(ons, "oci-999", { chart: "9.9.9" });
    expect(complete(missing)?.reason).toBe("DryRunFailed");
    expect(
      statusOf<RequestStatus>(missing).preflight?.find((c) => c.name === "TargetExists"),
    ).toEqual({
      name: "TargetExists",
      passed: false,
      message: `chart impact has no version 9.9.9 in HelmRepository ${ons}/demo (${inject("ociRepoUrl")})`,
    });
  });

  it("an app whose chart comes from an OCIRepository (spec.chartRef): rendered from the artifact Flux pulled", async () => {
    // The chart as an OCI artifact, its chart layer copied, as Flux documents for spec.chartRef.
    const release = ociChartRelease("impact", `${inject("ociRepoUrl")}/impact`, "1.0.0", [
      ...WEB_IMAGE_VALUES.split("\n").slice(1, -1),
      '    storageClassName: ""',
    ]);
    const ons = await otherApp("impact-ocirepo", { [DEMO_RELEASE_PATH]: release });
    const r = await dryRunIn(ons, "ocirepo-image", WEB_IMAGE_BUMP);
    await expectOnlyTheWebImage(ons, "ocirepo-image", r);
  });

  it("an app whose chart is a folder of its own GitRepository: its valuesFiles and ignore rules applied", async () => {
    const chartFiles = await impactChartFiles("charts/impact");
    const release = gitChartRelease("./charts/impact", "config", [
      "      valuesFiles:",
      "        - ./charts/impact/values.yaml",
      "        - ./env/web.yaml",
    ]);
    const ons = await otherApp("impact-gitchart", {
      ...chartFiles,
      // Two web replicas from a values file in the tree, and no Services: the artifact leaves
      // their template out. A preview without either would show them as changes.
      "env/web.yaml": "web:\n  replicas: 2\n",
      ".sourceignore": "charts/impact/templates/services.yaml\n",
      [DEMO_RELEASE_PATH]: release,
    });
    const web = await admin.get({
      apiVersion: "apps/v1",
      kind: "Deployment",
      namespace: ons,
      name: "demo-web",
    });
    expect((web["spec"] as { replicas?: number }).replicas).toBe(2);
    // helm-controller's default version "*" is no version: said, not written to status.
    const app = await admin.get({
      apiVersion: API,
      kind: "ManagedApp",
      namespace: ons,
      name: "demo",
    });
    expect(conditions(app).find((c) => c.type === "VersionResolved")).toMatchObject({
      status: "False",
      reason: "ChartVersionNotPinned",
    });
    const services = await admin.list("v1", "Service", { namespace: ons });
    expect(services.items.map((svc) => svc.metadata.name)).toEqual([]);
    const r = await dryRunIn(ons, "gitchart-image", WEB_IMAGE_BUMP);
    await expectOnlyTheWebImage(ons, "gitchart-image", r);
  });

  it("an app whose chart is a folder of another GitRepository: read at the revision Flux fetched", async () => {
    const chartFiles = await impactChartFiles("impact");
    const charts = `impact-charts-${Date.now()}`;
    await createBareRepo(git().root, charts);
    await commitFiles(git().root, charts, chartFiles, "The impact chart");
    const release = [
      "apiVersion: source.toolkit.fluxcd.io/v1",
      "kind: GitRepository",
      "metadata:",
      "  name: charts",
      "spec:",
      // Long: source-controller keeps the revision it fetched first for the whole test.
      "  interval: 1h",
      `  url: ${git().url}/${charts}.git`,
      "  ref:",
      "    branch: main",
      "---",
      gitChartRelease("./impact", "charts"),
    ].join("\n");
    const ons = await otherApp("impact-gitcharts", { [DEMO_RELEASE_PATH]: release });
    // A commit Flux has not fetched: the preview must not see it.
    const web = chartFiles["impact/templates/web-deployment.yaml"] ?? "";
    const labelled = web.replace(/^(\s+)labels:\n/m, '$1labels:\n$1  unfetched: "yes"\n');
    expect(labelled).not.toBe(web);
    await commitFiles(
      git().root,
      charts,
      { "impact/templates/web-deployment.yaml": labelled },
      "Not fetched by Flux yet",
    );
    const r = await dryRunIn(ons, "gitcharts-image", WEB_IMAGE_BUMP);
    await expectOnlyTheWebImage(ons, "gitcharts-image", r);
  });
});
