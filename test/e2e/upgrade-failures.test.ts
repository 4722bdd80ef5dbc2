// UpgradeRequest off the happy path, end to end on the full test bed: a plain Kustomization app
// bumped by image tag, and every way a request can fail or be cut short (a parent that would
// resume the target, a pod that never goes, a snapshot that never turns ready, a refused push,
// a Flux apply that never finishes, autoRollback, two requests for one app, deletion mid-flight,
// a missing app, an invalid spec). Each case runs in its own namespace against one controller,
// and ends by checking what the request promises to leave behind: Flux resumed, replicas back,
// Git untouched when the request failed before its commit.
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { KubeClient, KubeObject, ObjectRef } from "../../src/kube/client.ts";
import {
  commitFiles,
  createBareRepo,
  readFileAt,
  revParse,
} from "../../testbed/src/git-fixtures.ts";
import { REPO_ROOT } from "../../testbed/src/binaries.ts";
import type { GitAccess } from "../../testbed/src/cluster.ts";
import { archiveName, packageCharts, startHelmRepo } from "../../testbed/src/helm-repo.ts";
import {
  ANN_FAULT_SNAPSHOT,
  ANN_FAULT_SNAPSHOT_DELAY,
} from "../../testbed/src/csi-sim/constants.ts";
import { runCli } from "../integration/cli/support.ts";
import { gitWriteSecret, TestController } from "../support/controller.ts";
import { chartVersionInGit, setUpDemoApp, type DemoOptions } from "../support/demo-app.ts";
import { createTestNamespace, deleteNamespace, eventually, testClient } from "../support/kube.ts";
import { conditions, getOrUndefined, isReadyNow, statusOf } from "../support/objects.ts";
import { assertAlive, completeOf, requestFinished } from "../support/requests.ts";

const API = "cairn.dev/v1alpha1";
const KS_API = "kustomize.toolkit.fluxcd.io/v1";
const HR_API = "helm.toolkit.fluxcd.io/v2";
const HOLD = "example.com/hold";

interface RequestStatus {
  phase: string;
  step: { name: string };
  plan: { git: { from: string; to: string; baseCommit?: string } };
  preflight: { name: string; passed: boolean; message: string }[];
  commit: { sha: string; adopted: boolean };
  history: { name: string; reason: string; completedAt: string }[];
  rollbackRef: { name: string };
  completedAt: string;
}

describe.concurrent("UpgradeRequest failures", () => {
  const admin: KubeClient = testClient();
  const gitOrNull = inject("git");
  const git = (): GitAccess => {
    if (!gitOrNull) throw new Error("the e2e tier needs the full test bed");
    return gitOrNull;
  };
  let controller: TestController;
  const namespaces: string[] = [];

  beforeAll(async () => {
    git();
    controller = await TestController.prepare({
      admin,
      clusterKubeconfig: inject("kubeconfig"),
      suffix: "-fail",
      // The cases run concurrently, each in its own namespace: more workers keep one case's
      // Git fetch from delaying another's step.
      extraArgs: ["--workers=4"],
    });
    await controller.start();
  }, 120_000);

  afterAll(async () => {
    await controller.cleanup();
    await Promise.all(namespaces.map((ns) => deleteNamespace(admin, ns)));
  });

  // --- helpers -------------------------------------------------------------------------------

  const ref = (ns: string, apiVersion: string, kind: string, name: string): ObjectRef => ({
    apiVersion,
    kind,
    namespace: ns,
    name,
  });
  const requestRef = (ns: string, name: string) => ref(ns, API, "UpgradeRequest", name);
  const appRef = (ns: string, name = "demo") => ref(ns, API, "ManagedApp", name);
  const complete = completeOf;
  const condition = (r: KubeObject, type: string) => conditions(r).find((c) => c.type === type);

  async function request(
    ns: string,
    name: string,
    spec: Record<string, unknown>,
    app = "demo",
  ): Promise<KubeObject> {
    return admin.create({
      apiVersion: API,
      kind: "UpgradeRequest",
      // The controller's label: a request for an app that does not exist is still this
      // file's controller's to answer (--watch-label-selector).
      metadata: { name, namespace: ns, labels: { ...controller.labels } },
      spec: { managedAppRef: { name: app }, ...spec },
    });
  }

  const alive = () => assertAlive(controller);

  const finished = (ns: string, name: string, timeoutMs?: number) =>
    requestFinished(admin, requestRef(ns, name), {
      alive,
      released: true,
      ...(timeoutMs ? { timeoutMs } : {}),
    });

  /** A finished request lets go of its finalizer, in the write after the one that set Complete. */
  async function finalizerGone(ns: string, name: string): Promise<void> {
    await eventually(`the finalizer of ${name} removed`, async () => {
      const r = await admin.get(requestRef(ns, name));
      return ((r.metadata["finalizers"] ?? []) as string[]).length === 0 ? true : undefined;
    });
  }

  /** Waits until the request is at the step (its status.step names it). */
  async function atStep(ns: string, name: string, step: string): Promise<KubeObject> {
    return eventually(
      `UpgradeRequest ${ns}/${name} at ${step}`,
      async () => {
        alive();
        const r = await admin.get(requestRef(ns, name));
        const c = complete(r);
        if (c && c.status !== "Unknown")
          throw new Error(`${name} finished before ${step}: ${c.reason ?? ""}: ${c.message ?? ""}`);
        return statusOf<RequestStatus>(r).step?.name === step ? r : undefined;
      },
      180_000,
    );
  }

  async function appReady(ns: string, name = "demo"): Promise<KubeObject> {
    return eventually(
      `ManagedApp ${ns}/${name} Ready`,
      async () => {
        const a = await admin.get(appRef(ns, name));
        return isReadyNow(a) ? a : undefined;
      },
      240_000,
    );
  }

  /** A demo app (Helm release with two PVCs) of its own, Ready. */
  async function demoApp(opts: Omit<DemoOptions, "labels">, helmRepoUrl = inject("helmRepoUrl")) {
    const app = await setUpDemoApp(admin, git(), helmRepoUrl, {
      ...opts,
      labels: controller.labels,
    });
    namespaces.push(app.namespace);
    const managed = await appReady(app.namespace);
    const head = await revParse(git().root, app.repo, "main");
    if (!head) throw new Error(`no main in ${app.repo}`);
    return { ...app, head, uid: managed.metadata.uid ?? "" };
  }

  async function suspendOf(ns: string, kind: "Kustomization" | "HelmRelease", name: string) {
    const obj = await admin.get(ref(ns, kind === "Kustomization" ? KS_API : HR_API, kind, name));
    return (obj["spec"] as { suspend?: boolean }).suspend ?? false;
  }

  /** Kustomization apps and HelmRelease demo both running. */
  async function expectFluxResumed(ns: string): Promise<void> {
    expect(await suspendOf(ns, "Kustomization", "apps")).toBe(false);
    expect(await suspendOf(ns, "HelmRelease", "demo")).toBe(false);
  }

  async function replicasOf(ns: string, kind: string, name: string): Promise<number | undefined> {
    const w = await admin.get(ref(ns, "apps/v1", kind, name));
    return (w["spec"] as { replicas?: number }).replicas;
  }

  async function expectDemoReplicas(ns: string): Promise<void> {
    expect(await replicasOf(ns, "StatefulSet", "demo-db")).toBe(1);
    expect(await replicasOf(ns, "Deployment", "demo-web")).toBe(1);
  }

  async function expectGitAt(repo: string, sha: string): Promise<void> {
    expect(await revParse(git().root, repo, "main")).toBe(sha);
  }

  async function lease(ns: string, appUid: string): Promise<KubeObject | undefined> {
    return getOrUndefined(admin, ref(ns, "coordination.k8s.io/v1", "Lease", `cairn-app-${appUid}`));
  }

  /** What a request that ended before its commit leaves: Flux running, replicas back, Git untouched, no Lease. */
  async function expectThawedBeforeCommit(app: {
    namespace: string;
    repo: string;
    head: string;
    uid: string;
  }): Promise<void> {
    await expectFluxResumed(app.namespace);
    await expectDemoReplicas(app.namespace);
    await expectGitAt(app.repo, app.head);
    expect(await lease(app.namespace, app.uid)).toBeUndefined();
  }

  async function annotatePvc(ns: string, pvc: string, annotations: Record<string, string | null>) {
    await admin.mergePatch(ref(ns, "v1", "PersistentVolumeClaim", pvc), {
      metadata: { annotations },
    });
  }

  /** The failure a Compensate ended: the step that failed and with what reason. */
  function failedStep(r: KubeObject): { name: string; reason: string } | undefined {
    const history = statusOf<RequestStatus>(r).history ?? [];
    return history.filter((h) => h.name !== "Compensate").at(-1);
  }

  // --- cases ---------------------------------------------------------------------------------

  it("1. upgrades a plain Kustomization app by image tag: one commit, comments and other documents kept", async () => {
    const ns = await createTestNamespace(admin, "fail-plain");
    namespaces.push(ns);
    const repo = `${ns}-config`;
    const deploymentPath = "apps/notes/deployment.yaml";
    const deployment = [
      "# The notes app. Cairn bumps the image tag below and must keep every other byte.",
      "apiVersion: v1",
      "kind: ConfigMap",
      "metadata:",
      "  name: notes-settings # read by the app at start",
      "data:",
      "  greeting: hello",
      "---",
      stringify({
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
                  volumeMounts: [{ name: "d", mountPath: "/d" }],
                },
              ],
              volumes: [{ name: "d", persistentVolumeClaim: { claimName: "notes-data" } }],
            },
          },
        },
      }).replace("image: registry.invalid/notes:1.0", "image: registry.invalid/notes:1.0 # pinned"),
    ].join("\n");
    const claim = stringify({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "notes-data" },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
    });
    await createBareRepo(git().root, repo);
    await commitFiles(
      git().root,
      repo,
      { [deploymentPath]: deployment, "apps/notes/pvc.yaml": claim },
      "Add notes",
    );
    await admin.create({
      apiVersion: "source.toolkit.fluxcd.io/v1",
      kind: "GitRepository",
      metadata: { name: "plain", namespace: ns },
      spec: { url: `${git().url}/${repo}.git`, ref: { branch: "main" }, interval: "1m" },
    });
    await admin.create({
      apiVersion: KS_API,
      kind: "Kustomization",
      metadata: { name: "notes", namespace: ns },
      spec: {
        sourceRef: { kind: "GitRepository", name: "plain" },
        path: "./apps/notes",
        prune: true,
        targetNamespace: ns,
        interval: "1m",
        timeout: "2m",
      },
    });
    await admin.create(gitWriteSecret(ns, "git-write", git().username, git().password));
    await admin.create({
      apiVersion: API,
      kind: "ManagedApp",
      metadata: { name: "notes", namespace: ns, labels: { ...controller.labels } },
      spec: {
        gitPath: deploymentPath,
        kustomizationRef: { name: "notes" },
        volumeSnapshots: { enabled: true },
        git: { secretRef: { name: "git-write" } },
        timeouts: { health: "60s" },
      },
    });
    await appReady(ns, "notes");

    await request(
      ns,
      "notes-2",
      { targetVersion: { images: [{ name: "registry.invalid/notes", tag: "2.0" }] } },
      "notes",
    );
    const r = await finished(ns, "notes-2");
    expect(complete(r)?.reason, complete(r)?.message).toBe("Succeeded");
    expect(complete(r)?.message).toContain("1.0 → 2.0");
    const s = statusOf<RequestStatus>(r);
    expect(s.history?.map((h) => h.name)).toEqual([
      "Admit",
      "Plan",
      "Suspend",
      "ScaleDown",
      "Snapshot",
      "Commit",
      "Resume",
      "AwaitFlux",
      "ScaleUp",
      "HealthCheck",
      "Finish",
    ]);
    // Git: exactly the tag changed; the comments and the ConfigMap document are as they were.
    expect(await readFileAt(git().root, repo, deploymentPath)).toBe(
      deployment.replace("notes:1.0 # pinned", "notes:2.0 # pinned"),
    );
    await expectGitAt(repo, s.commit?.sha ?? "");
    // The cluster runs the new image, at the recorded replicas, with Flux resumed.
    const live = await admin.get(ref(ns, "apps/v1", "Deployment", "notes"));
    const spec = live["spec"] as {
      replicas: number;
      template: { spec: { containers: { image: string }[] } };
    };
    expect(spec.template.spec.containers[0]?.image).toBe("registry.invalid/notes:2.0");
    expect(spec.replicas).toBe(1);
    expect(await suspendOf(ns, "Kustomization", "notes")).toBe(false);
    const snaps = await admin.list("snapshot.storage.k8s.io/v1", "VolumeSnapshot", {
      namespace: ns,
      labelSelector: `cairn.dev/request-uid=${r.metadata.uid ?? ""}`,
    });
    expect(snaps.items).toHaveLength(1);
  });

  it("2. refuses to suspend a target whose running parent owns its spec.suspend", async () => {
    const app = await demoApp({ prefix: "fail-parent" });
    const ns = app.namespace;
    // The parent's Git content holds the child Kustomization with spec.suspend set explicitly.
    const child = stringify({
      apiVersion: KS_API,
      kind: "Kustomization",
      metadata: { name: "apps", namespace: ns },
      spec: {
        sourceRef: { kind: "GitRepository", name: "config" },
        path: "./apps/demo",
        prune: true,
        targetNamespace: ns,
        interval: "1m",
        timeout: "2m",
        suspend: false,
      },
    });
    const head = await commitFiles(
      git().root,
      app.repo,
      { "clusters/apps.yaml": child },
      "Manage the apps Kustomization from Git",
    );
    await admin.create({
      apiVersion: KS_API,
      kind: "Kustomization",
      metadata: { name: "parent", namespace: ns },
      spec: {
        sourceRef: { kind: "GitRepository", name: "config" },
        path: "./clusters",
        prune: false,
        interval: "1m",
      },
    });
    await eventually(
      "kustomize-controller to own spec.suspend of Kustomization apps",
      async () => {
        const k = await admin.get(ref(ns, KS_API, "Kustomization", "apps"));
        const owned = (
          (k.metadata["managedFields"] ?? []) as {
            manager?: string;
            fieldsV1?: { "f:spec"?: Record<string, unknown> };
          }[]
        ).some(
          (e) =>
            e.manager === "kustomize-controller" &&
            e.fieldsV1?.["f:spec"]?.["f:suspend"] !== undefined,
        );
        return owned && k.metadata.labels?.["kustomize.toolkit.fluxcd.io/name"] === "parent"
          ? true
          : undefined;
      },
      120_000,
    );

    await request(ns, "under-parent", { targetVersion: { chart: "1.1.0" } });
    const r = await finished(ns, "under-parent");
    // The plan sees the parent (labels and managedFields in the informer cache): nothing starts.
    expect(complete(r)?.reason, complete(r)?.message).toBe("PlanFailed");
    expect(complete(r)?.message).toContain("SuspendTarget");
    expect(complete(r)?.message).toContain(`Kustomization ${ns}/parent`);
    const target = statusOf<RequestStatus>(r).preflight?.find((c) => c.name === "SuspendTarget");
    expect(target?.passed).toBe(false);
    expect(statusOf<RequestStatus>(r).history?.map((h) => h.name)).toEqual(["Admit", "Plan"]);
    // The lock Admit took is let go with the failed plan.
    expect(await lease(ns, app.uid)).toBeUndefined();
    await expectFluxResumed(ns);
    expect(await suspendOf(ns, "Kustomization", "parent")).toBe(false);
    await expectDemoReplicas(ns);
    await expectGitAt(app.repo, head);
    expect(await lease(ns, app.uid)).toBeUndefined();
  });

  it("3. a pod that never terminates: DeadlineExceeded at ScaleDown, replicas restored, Flux resumed, Git untouched", async () => {
    const app = await demoApp({
      prefix: "fail-pod",
      spec: { timeouts: { health: "45s", scaleDown: "20s" } },
    });
    const ns = app.namespace;
    const pod = ref(ns, "v1", "Pod", "demo-db-0");
    await admin.mergePatch(pod, { metadata: { finalizers: [HOLD] } });
    try {
      await request(ns, "stuck-pod", { targetVersion: { chart: "1.1.0" } });
      const r = await finished(ns, "stuck-pod");
      expect(complete(r)?.reason, complete(r)?.message).toBe("DeadlineExceeded");
      expect(complete(r)?.message).toContain("ScaleDown did not finish by its deadline");
      expect(complete(r)?.message).toContain(`${ns}/demo-db-0`);
      expect(complete(r)?.message).toContain("Git untouched");
      expect(failedStep(r)).toMatchObject({ name: "ScaleDown", reason: "DeadlineExceeded" });
      await expectThawedBeforeCommit(app);
      await finalizerGone(ns, "stuck-pod");
    } finally {
      await admin.mergePatch(pod, { metadata: { finalizers: null } }).catch(() => undefined);
    }
  });

  it("4. a snapshot that never turns ready: DeadlineExceeded at Snapshot, restored, Git untouched", async () => {
    // The simulator fails the cut; the error persisting past 60 s would end in SnapshotFailed,
    // the 30 s snapshot timeout ends it first, by deadline, with the error in the message.
    const app = await demoApp({
      prefix: "fail-snap",
      spec: { timeouts: { health: "45s", snapshot: "30s" } },
    });
    const ns = app.namespace;
    await annotatePvc(ns, "data-demo-db-0", { [ANN_FAULT_SNAPSHOT]: "simulated disk failure" });
    await request(ns, "bad-snap", { targetVersion: { chart: "1.1.0" } });
    const r = await finished(ns, "bad-snap");
    expect(complete(r)?.reason, complete(r)?.message).toBe("DeadlineExceeded");
    expect(complete(r)?.message).toContain("Snapshot did not finish by its deadline");
    expect(complete(r)?.message).toContain("simulated disk failure");
    expect(complete(r)?.message).toContain("Git untouched");
    expect(failedStep(r)).toMatchObject({ name: "Snapshot", reason: "DeadlineExceeded" });
    await expectThawedBeforeCommit(app);
    expect(await chartVersionInGit(git(), app.repo)).toBe("1.0.0");
  });

  it("5. a push refused at Commit: PushRejected, Git untouched; a dry run lists the failed GitPush check", async () => {
    const app = await demoApp({ prefix: "fail-push" });
    const ns = app.namespace;
    await annotatePvc(ns, "data-demo-db-0", { [ANN_FAULT_SNAPSHOT_DELAY]: "30" });
    await request(ns, "refused", { targetVersion: { chart: "1.1.0" } });
    await atStep(ns, "refused", "Snapshot");
    // The plan passed GitPush with the writer; by Commit, the Secret holds a reader.
    await admin.mergePatch(ref(ns, "v1", "Secret", "git-write"), {
      data: {
        username: Buffer.from(git().readOnlyUsername).toString("base64"),
        password: Buffer.from(git().readOnlyPassword).toString("base64"),
      },
    });
    const r = await finished(ns, "refused");
    expect(complete(r)?.reason, complete(r)?.message).toBe("PushRejected");
    expect(complete(r)?.message).toContain("push to main refused");
    expect(complete(r)?.message).toContain("Git untouched");
    expect(complete(r)?.message).not.toContain(git().readOnlyPassword);
    expect(failedStep(r)).toMatchObject({ name: "Commit", reason: "PushRejected" });
    await expectThawedBeforeCommit(app);

    await request(ns, "refused-dry", { targetVersion: { chart: "1.1.0" }, dryRun: true });
    const dry = await finished(ns, "refused-dry");
    expect(complete(dry)?.reason, complete(dry)?.message).toBe("DryRunFailed");
    expect(complete(dry)?.message).toContain("GitPush: the credentials may not push to main");
    const push = statusOf<RequestStatus>(dry).preflight?.find((c) => c.name === "GitPush");
    expect(push?.passed).toBe(false);
    await expectGitAt(app.repo, app.head);
  });

  // The cases run concurrently: a hook goes through the test's own context (global
  // onTestFinished attaches to whichever test vitest last saw, which may finish first).
  it("6. a Flux apply that never finishes (the chart's archive is gone): RollbackRequired after the commit, Flux resumed", async ({
    onTestFinished,
  }) => {
    // A repository whose index lists 9.9.9 (so Plan finds the target) but cannot serve it.
    const tmp = await mkdtemp(join(tmpdir(), "cairn-fail-flux-"));
    const charts = join(tmp, "charts");
    const fixture = join(REPO_ROOT, "testbed", "fixtures", "charts", "demo-1.0.0");
    await cp(fixture, join(charts, "demo-1.0.0"), { recursive: true });
    await cp(fixture, join(charts, "demo-9.9.9"), { recursive: true });
    const chartYaml = join(charts, "demo-9.9.9", "Chart.yaml");
    await writeFile(
      chartYaml,
      (await readFile(chartYaml, "utf8")).replace(/^version: .*$/m, "version: 9.9.9"),
    );
    const served = join(tmp, "served");
    const helm = await startHelmRepo({ root: served });
    onTestFinished(async () => {
      await helm.close();
      await rm(tmp, { recursive: true, force: true });
    });
    await packageCharts(charts, served, helm.url);
    await rm(join(served, archiveName({ name: "demo", version: "9.9.9" })));
    const app = await demoApp(
      { prefix: "fail-flux", spec: { timeouts: { health: "45s", fluxApply: "30s" } } },
      helm.url,
    );
    const ns = app.namespace;
    await request(ns, "to-999", { targetVersion: { chart: "9.9.9" } });
    const r = await finished(ns, "to-999");
    expect(complete(r)?.reason, complete(r)?.message).toBe("RollbackRequired");
    expect(complete(r)?.message).toContain(`kubectl cairn rollback to-999 -n ${ns}`);
    expect(complete(r)?.message).toContain("DeadlineExceeded");
    expect(failedStep(r)).toMatchObject({ name: "AwaitFlux", reason: "DeadlineExceeded" });
    const s = statusOf<RequestStatus>(r);
    expect(await chartVersionInGit(git(), app.repo)).toBe("9.9.9");
    await expectGitAt(app.repo, s.commit?.sha ?? "");
    await expectFluxResumed(ns);
    await expectDemoReplicas(ns);
    expect(await lease(ns, app.uid)).toBeUndefined();
    const managed = await admin.get(appRef(ns));
    expect(statusOf<{ lastUpgrade: unknown }>(managed).lastUpgrade).toMatchObject({
      name: "to-999",
      outcome: "Failed",
    });
  });

  it("7. autoRollback: a broken chart ends RollbackTriggered with exactly one RollbackRequest", async () => {
    const app = await demoApp({
      prefix: "fail-auto",
      helmTimeout: "20s",
      spec: { autoRollback: true, timeouts: { health: "45s" } },
    });
    const ns = app.namespace;
    await request(ns, "to-200", { targetVersion: { chart: "2.0.0" } });
    const r = await finished(ns, "to-200", 300_000);
    expect(complete(r)?.reason, complete(r)?.message).toBe("RollbackTriggered");
    expect(complete(r)?.message).toContain("RollbackRequest to-200-rollback");
    expect(statusOf<RequestStatus>(r).rollbackRef).toEqual({ name: "to-200-rollback" });
    const rollbacks = await admin.list(API, "RollbackRequest", { namespace: ns });
    expect(rollbacks.items.map((o) => o.metadata.name)).toEqual(["to-200-rollback"]);
    const rb = rollbacks.items[0] as KubeObject;
    expect(rb["spec"]).toMatchObject({
      upgradeRequestRef: { name: "to-200" },
      autoTriggered: true,
    });
    expect(rb.metadata.labels?.["cairn.dev/managed-app"]).toBe("demo");
    // Not owned by the upgrade: cleaning the upgrade up never garbage-collects its rollback.
    expect(rb.metadata["ownerReferences"]).toBeUndefined();
    // The upgrade handed the app's lock to its rollback rather than letting it go.
    const held = await lease(ns, app.uid);
    expect((held?.["spec"] as { holderIdentity?: string } | undefined)?.holderIdentity).toBe(
      rb.metadata.uid,
    );
    expect(await chartVersionInGit(git(), app.repo)).toBe("2.0.0");
    // The rollback took the app over as the upgrade left it and thaws it once it is done.
    const back = await eventually(
      "to-200-rollback to finish",
      async () => {
        alive();
        const r = await admin.get(ref(ns, API, "RollbackRequest", "to-200-rollback"));
        const c = complete(r);
        return c && c.status !== "Unknown" ? r : undefined;
      },
      400_000,
    );
    expect(complete(back)?.reason, complete(back)?.message).toBe("Succeeded");
    await expectFluxResumed(ns);
    expect(await replicasOf(ns, "StatefulSet", "demo-db")).toBe(1);
    expect(await replicasOf(ns, "Deployment", "demo-web")).toBe(1);
  });

  it("8. two requests for one app run one after the other, the second planned after the first", async () => {
    const app = await demoApp({ prefix: "fail-two" });
    const ns = app.namespace;
    // The first waits a while at Snapshot, so the second (and a dry run) are seen beside it.
    await annotatePvc(ns, "data-demo-db-0", { [ANN_FAULT_SNAPSHOT_DELAY]: "30" });
    await request(ns, "first", { targetVersion: { chart: "1.1.0" } });
    await eventually("first to hold the app", async () => {
      alive();
      const r = await admin.get(requestRef(ns, "first"));
      return condition(r, "Admitted")?.status === "True" ? r : undefined;
    });
    // 1.0.0 is the version in Git now; it is a valid target only once the first has committed.
    await request(ns, "second", { targetVersion: { chart: "1.0.0" }, allowDowngrade: true });
    const waiting = await eventually("second to wait for first", async () => {
      alive();
      const r = await admin.get(requestRef(ns, "second"));
      const c = complete(r);
      if (c && c.status !== "Unknown")
        throw new Error(`second finished: ${c.reason ?? ""}: ${c.message ?? ""}`);
      return condition(r, "Admitted")?.reason === "Waiting" ? r : undefined;
    });
    expect(condition(waiting, "Admitted")?.status).toBe("False");
    expect(condition(waiting, "Admitted")?.message).toContain(
      "waiting for UpgradeRequest first, which holds the app",
    );
    // It waits for the app before it plans: no plan made beside the first.
    expect(condition(waiting, "Planned")).toBeUndefined();
    expect(statusOf<RequestStatus>(waiting).plan).toBeUndefined();
    expect(statusOf<RequestStatus>(waiting).phase).toBe("Pending");
    // A dry run takes no lock: it plans at once, while the first still holds the app.
    await request(ns, "peek", { targetVersion: { chart: "1.0.0" }, dryRun: true });
    const peek = await finished(ns, "peek", 60_000);
    expect(complete(peek)?.reason, complete(peek)?.message).toMatch(/^DryRun(Succeeded|Failed)$/);
    expect(statusOf<RequestStatus>(peek).history).toMatchObject([
      { name: "Admit", reason: "NotNeeded" },
      { name: "Plan" },
    ]);
    expect(complete(await admin.get(requestRef(ns, "first")))).toBeUndefined();
    expect((await lease(ns, app.uid))?.metadata.annotations?.["cairn.dev/holder-name"]).toBe(
      "first",
    );
    const one = await finished(ns, "first");
    const two = await finished(ns, "second");
    expect(complete(one)?.reason, complete(one)?.message).toBe("Succeeded");
    expect(complete(two)?.reason, complete(two)?.message).toBe("Succeeded");
    const s1 = statusOf<RequestStatus>(one);
    const s2 = statusOf<RequestStatus>(two);
    expect(s1.plan?.git).toMatchObject({ from: "1.0.0", to: "1.1.0" });
    // Planned on what the first left: its version and its commit as the Git head.
    expect(s2.plan?.git).toMatchObject({ from: "1.1.0", to: "1.0.0", baseCommit: s1.commit?.sha });
    const at = (s: Partial<RequestStatus>, step: string) =>
      Date.parse(s.history?.find((h) => h.name === step)?.completedAt ?? "");
    // The second took the app and planned only after the first had finished.
    expect(at(s2, "Admit")).toBeGreaterThanOrEqual(Date.parse(s1.completedAt ?? ""));
    expect(at(s2, "Plan")).toBeGreaterThanOrEqual(at(s2, "Admit"));
    expect(Date.parse(s2.completedAt ?? "")).toBeGreaterThan(Date.parse(s1.completedAt ?? ""));
    expect(s1.commit?.adopted).toBe(false);
    expect(s2.commit?.adopted).toBe(false);
    await expectGitAt(app.repo, s2.commit?.sha ?? "");
    expect(await chartVersionInGit(git(), app.repo)).toBe("1.0.0");
    await expectFluxResumed(ns);
    await expectDemoReplicas(ns);
    expect(await lease(ns, app.uid)).toBeUndefined();
  });

  it("8d. a request whose final status write is refused keeps the app: the next one waits until that write lands", async ({
    onTestFinished,
  }) => {
    const app = await demoApp({ prefix: "fail-last" });
    const ns = app.namespace;
    // An admission policy refuses every status write of "first" that carries Complete: Finish
    // does its work, and its final write fails until the policy goes.
    const policy = `cairn-e2e-last-write-${ns}`;
    const here = { matchLabels: { "kubernetes.io/metadata.name": ns } };
    const ADMISSION = "admissionregistration.k8s.io/v1";
    const removePolicy = async () => {
      for (const kind of ["ValidatingAdmissionPolicyBinding", "ValidatingAdmissionPolicy"])
        await admin.delete({ apiVersion: ADMISSION, kind, name: policy }).catch(() => undefined);
    };
    onTestFinished(removePolicy);
    // Should the second request ever get the app early: what each side of the lock looked like.
    const leaseHistory: string[] = [];
    // In the assertion's message, which the report always prints (a test's stderr may not be).
    const explain = async () => {
      const first = await getOrUndefined(admin, requestRef(ns, "first"));
      const lines = controller
        .logTail(2_000)
        .split("\n")
        .filter((l) => l.includes(`${ns}/first`) || l.includes(`${ns}/second`))
        .slice(-120);
      // One line per condition: CI prints a bounded number of the message's lines.
      const firstConditions = first
        ? conditions(first).map((c) => `${c.type}=${c.status} ${c.reason}: ${c.message}`)
        : ["first is gone"];
      return (
        `\n--- the lock, as polled ---\n${leaseHistory.join("\n")}\n` +
        `--- first's conditions (deleting: ${JSON.stringify(first?.metadata.deletionTimestamp ?? "no")}) ---\n${firstConditions.join("\n")}\n` +
        `--- controller log about first and second ---\n${lines.join("\n")}`
      );
    };
    await admin.create({
      apiVersion: ADMISSION,
      kind: "ValidatingAdmissionPolicy",
      metadata: { name: policy },
      spec: {
        failurePolicy: "Fail",
        matchConstraints: {
          namespaceSelector: here,
          resourceRules: [
            {
              apiGroups: ["cairn.dev"],
              apiVersions: ["*"],
              operations: ["UPDATE"],
              resources: ["upgraderequests/status"],
            },
          ],
        },
        validations: [
          {
            expression:
              "object.metadata.name != 'first' || !has(object.status) || !has(object.status.conditions) || !object.status.conditions.exists(c, c.type == 'Complete')",
            message: "e2e: the final status write of first is refused",
            reason: "Forbidden",
          },
        ],
      },
    });
    await admin.create({
      apiVersion: ADMISSION,
      kind: "ValidatingAdmissionPolicyBinding",
      metadata: { name: policy },
      spec: {
        policyName: policy,
        validationActions: ["Deny"],
        matchResources: { namespaceSelector: here },
      },
    });
    await request(ns, "first", { targetVersion: { chart: "1.1.0" } });
    // Finish ran (it records the upgrade on the ManagedApp before the final write) and that
    // write was refused.
    await eventually(
      "first's final status write refused",
      async () => {
        alive();
        const a = await admin.get(appRef(ns));
        const done = statusOf<{ lastUpgrade?: { name?: string } }>(a).lastUpgrade?.name === "first";
        return done &&
          controller.logTail(400).includes("the final status write of first is refused")
          ? true
          : undefined;
      },
      240_000,
    );
    expect(complete(await admin.get(requestRef(ns, "first")))).toBeUndefined();
    await request(ns, "second", { targetVersion: { chart: "1.0.0" }, allowDowngrade: true });
    const waiting = await eventually("second to wait for first", async () => {
      alive();
      const r = await admin.get(requestRef(ns, "second"));
      return condition(r, "Admitted")?.reason === "Waiting" ? r : undefined;
    });
    expect(condition(waiting, "Admitted")?.message).toContain(
      "waiting for UpgradeRequest first, which holds the app",
    );
    // Long enough for several retries of the refused write: the lock stays with first.
    const until = Date.now() + 10_000;
    while (Date.now() < until) {
      const l = await lease(ns, app.uid);
      leaseHistory.push(
        `${new Date().toISOString()} ${l ? `${l.metadata.annotations?.["cairn.dev/holder-name"] ?? "?"} rv ${l.metadata.resourceVersion ?? "?"}` : "no Lease"}`,
      );
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    alive();
    const stillWaiting = condition(await admin.get(requestRef(ns, "second")), "Admitted");
    // The message says which path admitted it, should it ever be admitted here.
    const why = stillWaiting?.status === "False" ? "" : await explain();
    expect(stillWaiting?.status, `${stillWaiting?.reason}: ${stillWaiting?.message}${why}`).toBe(
      "False",
    );
    expect(complete(await admin.get(requestRef(ns, "first")))).toBeUndefined();
    expect((await lease(ns, app.uid))?.metadata.annotations?.["cairn.dev/holder-name"]).toBe(
      "first",
    );
    await removePolicy();
    const one = await finished(ns, "first");
    const two = await finished(ns, "second");
    expect(complete(one)?.reason, complete(one)?.message).toBe("Succeeded");
    expect(complete(two)?.reason, complete(two)?.message).toBe("Succeeded");
    const admittedAt = statusOf<RequestStatus>(two).history?.find(
      (h) => h.name === "Admit",
    )?.completedAt;
    expect(Date.parse(admittedAt ?? "")).toBeGreaterThanOrEqual(
      Date.parse(statusOf<RequestStatus>(one).completedAt ?? ""),
    );
    expect(await lease(ns, app.uid)).toBeUndefined();
  });

  /** The two requests of a race, the one that got the app first, then the other. */
  function inOrderOfAdmission(a: KubeObject, b: KubeObject): [KubeObject, KubeObject] {
    const admitted = (r: KubeObject) =>
      Date.parse(
        statusOf<RequestStatus>(r).history?.find((h) => h.name === "Admit")?.completedAt ?? "",
      );
    return admitted(a) <= admitted(b) ? [a, b] : [b, a];
  }

  /** What a request that ended at Plan must have left: nothing of its own anywhere. */
  async function expectNoSideEffects(ns: string, r: KubeObject, after: KubeObject): Promise<void> {
    const s = statusOf<RequestStatus>(r);
    expect(s.history?.map((h) => h.name)).toEqual(["Admit", "Plan"]);
    expect(s.commit).toBeUndefined();
    // It took the app only once the other request had finished.
    const admittedAt = Date.parse(s.history?.[0]?.completedAt ?? "");
    expect(admittedAt).toBeGreaterThanOrEqual(
      Date.parse(statusOf<RequestStatus>(after).completedAt ?? ""),
    );
    const snapshots = await admin.list("snapshot.storage.k8s.io/v1", "VolumeSnapshot", {
      namespace: ns,
      labelSelector: `cairn.dev/request-uid=${r.metadata.uid ?? ""}`,
    });
    expect(snapshots.items).toEqual([]);
  }

  it("8b. two requests for the same target created at once: the second fails its plan (already current), before any side effect", async () => {
    const app = await demoApp({ prefix: "fail-same" });
    const ns = app.namespace;
    await Promise.all([
      request(ns, "same-a", { targetVersion: { chart: "1.1.0" } }),
      request(ns, "same-b", { targetVersion: { chart: "1.1.0" } }),
    ]);
    const [first, second] = inOrderOfAdmission(
      await finished(ns, "same-a"),
      await finished(ns, "same-b"),
    );
    expect(complete(first)?.reason, complete(first)?.message).toBe("Succeeded");
    const s1 = statusOf<RequestStatus>(first);
    expect(s1.plan?.git).toMatchObject({ from: "1.0.0", to: "1.1.0", baseCommit: app.head });
    expect(s1.commit?.adopted).toBe(false);
    // Not a stale plan that "succeeds" by adopting the first one's commit: a plan made on 1.1.0.
    expect(complete(second)?.reason, complete(second)?.message).toBe("PlanFailed");
    expect(complete(second)?.message).toContain("the target 1.1.0 equals the current version");
    await expectNoSideEffects(ns, second, first);
    await expectGitAt(app.repo, s1.commit?.sha ?? "");
    expect(await chartVersionInGit(git(), app.repo)).toBe("1.1.0");
    await expectFluxResumed(ns);
    await expectDemoReplicas(ns);
    expect(await lease(ns, app.uid)).toBeUndefined();
  });

  it("8c. an upgrade and a rollback of the last upgrade created at once: the one admitted second plans on what the first left", async () => {
    const app = await demoApp({ prefix: "fail-race-rb" });
    const ns = app.namespace;
    await request(ns, "to-110", { targetVersion: { chart: "1.1.0" } });
    const up = await finished(ns, "to-110");
    expect(complete(up)?.reason, complete(up)?.message).toBe("Succeeded");
    const upCommit = statusOf<RequestStatus>(up).commit?.sha ?? "";
    await Promise.all([
      request(ns, "down", { targetVersion: { chart: "1.0.0" }, allowDowngrade: true }),
      admin.create({
        apiVersion: API,
        kind: "RollbackRequest",
        metadata: { name: "undo", namespace: ns, labels: { ...controller.labels } },
        spec: { upgradeRequestRef: { name: "to-110" } },
      }),
    ]);
    const rollback = await eventually(
      `RollbackRequest ${ns}/undo to finish`,
      async () => {
        alive();
        const r = await admin.get(ref(ns, API, "RollbackRequest", "undo"));
        const c = complete(r);
        return c && c.status !== "Unknown" ? r : undefined;
      },
      300_000,
    );
    const down = await finished(ns, "down", 300_000);
    const [first, second] = inOrderOfAdmission(down, rollback);
    expect(complete(first)?.reason, complete(first)?.message).toBe("Succeeded");
    if (first === rollback) {
      // The rollback reverted to 1.0.0: the upgrade, planned after it, has nothing to do.
      expect(complete(second)?.reason, complete(second)?.message).toBe("PlanFailed");
      expect(complete(second)?.message).toContain("the target 1.0.0 equals the current version");
    } else {
      // The upgrade went 1.1.0 → 1.0.0 from the upgrade's commit; the rollback, planned after
      // it, refuses to undo an upgrade that is no longer the app's latest.
      expect(statusOf<RequestStatus>(down).plan?.git).toMatchObject({
        from: "1.1.0",
        to: "1.0.0",
        baseCommit: upCommit,
      });
      expect(complete(second)?.reason, complete(second)?.message).toBe("LaterUpgrade");
    }
    await expectNoSideEffects(ns, second, first);
    expect(await chartVersionInGit(git(), app.repo)).toBe("1.0.0");
    await expectFluxResumed(ns);
    await expectDemoReplicas(ns);
    expect(await lease(ns, app.uid)).toBeUndefined();
  });

  it("9. deleting an in-flight request undoes the freeze and lets go of the app", async () => {
    const app = await demoApp({ prefix: "fail-del" });
    const ns = app.namespace;
    await annotatePvc(ns, "data-demo-db-0", { [ANN_FAULT_SNAPSHOT_DELAY]: "600" });
    await request(ns, "doomed", { targetVersion: { chart: "1.1.0" } });
    const r = await atStep(ns, "doomed", "Snapshot");
    expect(r.metadata["finalizers"]).toContain("cairn.dev/request-cleanup");
    expect(await suspendOf(ns, "Kustomization", "apps")).toBe(true);
    expect(await replicasOf(ns, "StatefulSet", "demo-db")).toBe(0);
    expect(await lease(ns, app.uid)).toBeDefined();
    await admin.delete(requestRef(ns, "doomed"));
    await eventually(
      "the deleted request gone",
      async () => {
        alive();
        return (await getOrUndefined(admin, requestRef(ns, "doomed"))) ? undefined : true;
      },
      120_000,
    );
    await expectThawedBeforeCommit(app);
  });

  it("9b. kubectl cairn abort mid-Snapshot: Aborted, the freeze undone, the request kept in history", async () => {
    const app = await demoApp({ prefix: "fail-abort" });
    const ns = app.namespace;
    await annotatePvc(ns, "data-demo-db-0", { [ANN_FAULT_SNAPSHOT_DELAY]: "600" });
    await request(ns, "stopped", { targetVersion: { chart: "1.1.0" } });
    await atStep(ns, "stopped", "Snapshot");
    expect(await suspendOf(ns, "Kustomization", "apps")).toBe(true);
    expect(await replicasOf(ns, "StatefulSet", "demo-db")).toBe(0);
    const cli = await runCli(["abort", "stopped", "--yes", "-n", ns]);
    expect(cli.stderr).toBe("");
    expect(cli.code).toBe(0);
    const r = await finished(ns, "stopped");
    expect(r.metadata.deletionTimestamp).toBeUndefined();
    expect(complete(r)?.reason, complete(r)?.message).toBe("Aborted");
    expect(complete(r)?.message).toContain("Snapshot: aborted on request (kubectl cairn abort at ");
    expect(complete(r)?.message).toContain("Git untouched");
    expect(failedStep(r)).toMatchObject({ name: "Snapshot", reason: "Aborted" });
    await expectThawedBeforeCommit(app);
    await finalizerGone(ns, "stopped");
    const history = await runCli(["history", "demo", "-n", ns, "--no-headers"]);
    expect(history.code, history.stderr).toBe(0);
    const row = history.stdout.split("\n").find((l) => l.startsWith("stopped "));
    expect(row?.split(/ {3,}/)).toContain("Aborted");
  });

  it("10. a request for a missing app ends AppNotFound; an invalid spec is refused by the API", async () => {
    const ns = await createTestNamespace(admin, "fail-none");
    namespaces.push(ns);
    await request(ns, "orphan", { targetVersion: { chart: "1.1.0" } }, "nope");
    const r = await finished(ns, "orphan", 60_000);
    expect(complete(r)?.status).toBe("False");
    expect(complete(r)?.reason, complete(r)?.message).toBe("AppNotFound");
    expect(complete(r)?.message).toContain("spec.managedAppRef.name");
    expect(complete(r)?.message).toContain(`ManagedApp ${ns}/nope not found`);
    await finalizerGone(ns, "orphan");

    await expect(request(ns, "no-target", { targetVersion: {} })).rejects.toThrow(
      "spec.targetVersion must set chart or at least one image",
    );
    expect(await getOrUndefined(admin, requestRef(ns, "no-target"))).toBeUndefined();
  });
});
