// Safety before the point of no return (issue 13), end to end on the full test bed: each case
// reproduces, with real Flux, Git, Helm storage and CSI snapshots, a situation in which an
// upgrade used to cross its commit on an unchecked plan or stall on accepted input, and asserts
// what Cairn does now: a stuck Helm release refused before any side effect, an untagged image
// planned from `latest`, bounded durations, finished pods ignored, a deleted app ending its
// request at once, a scale-up before the cut refused, bad Git settings shown on the app, and a
// HelmRelease upgraded through a custom versionPath.
import { gunzipSync, gzipSync } from "node:zlib";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { KubeClient, KubeObject, ObjectRef } from "../../src/kube/client.ts";
import {
  commitFiles,
  createBareRepo,
  readFileAt,
  revParse,
} from "../../testbed/src/git-fixtures.ts";
import type { GitAccess } from "../../testbed/src/cluster.ts";
import { DEMO_RELEASE_PATH } from "../../testbed/src/demo-app.ts";
import { ANN_FAULT_SNAPSHOT_DELAY } from "../../testbed/src/csi-sim/constants.ts";
import { gitWriteSecret, TestController } from "../support/controller.ts";
import { setUpDemoApp, type DemoOptions } from "../support/demo-app.ts";
import { createTestNamespace, deleteNamespace, eventually, testClient } from "../support/kube.ts";
import {
  conditions,
  getOrUndefined,
  isReadyNow,
  requestReconcile,
  statusOf,
  type Condition,
} from "../support/objects.ts";
import { assertAlive, completeOf, requestFinished } from "../support/requests.ts";

const API = "cairn.dev/v1alpha1";
const KS_API = "kustomize.toolkit.fluxcd.io/v1";
const HR_API = "helm.toolkit.fluxcd.io/v2";
const GIT_API = "source.toolkit.fluxcd.io/v1";

interface RequestStatus {
  phase: string;
  step: { name: string; deadline?: string };
  plan: { git: { from: string; to: string; versionPath: string } };
  preflight: { name: string; passed: boolean; message: string }[];
  commit: { sha: string };
  history: { name: string; reason: string; completedAt: string }[];
  replicas: { kind: string; name: string; original: number }[];
  completedAt: string;
}

describe.concurrent("Plan safety (issue 13)", () => {
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
      suffix: "-safety",
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
  const condition = (o: KubeObject, type: string) => conditions(o).find((c) => c.type === type);

  async function request(
    ns: string,
    name: string,
    spec: Record<string, unknown>,
    app = "demo",
  ): Promise<KubeObject> {
    return admin.create({
      apiVersion: API,
      kind: "UpgradeRequest",
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

  /** Waits for a condition of the app that the predicate accepts. */
  async function appCondition(
    ns: string,
    name: string,
    type: string,
    accept: (c: Condition) => boolean,
    what: string,
  ): Promise<Condition> {
    return eventually(
      `ManagedApp ${ns}/${name}: ${what}`,
      async () => {
        alive();
        const c = condition(await admin.get(appRef(ns, name)), type);
        return c && accept(c) ? c : undefined;
      },
      120_000,
    );
  }

  async function demoApp(opts: Omit<DemoOptions, "labels">) {
    const app = await setUpDemoApp(admin, git(), inject("helmRepoUrl"), {
      ...opts,
      labels: controller.labels,
    });
    namespaces.push(app.namespace);
    const managed = await appReady(app.namespace);
    const head = await revParse(git().root, app.repo, "main");
    if (!head) throw new Error(`no main in ${app.repo}`);
    return { ...app, head, uid: managed.metadata.uid ?? "" };
  }

  /** Pushes a new release.yaml and has Flux apply it now; resolves once the HelmRelease is Ready on it. */
  async function changeRelease(
    ns: string,
    repo: string,
    edit: (release: string) => string,
    applied: (hr: KubeObject) => boolean,
  ): Promise<void> {
    const release = await readFileAt(git().root, repo, DEMO_RELEASE_PATH);
    const changed = edit(release);
    expect(changed).not.toBe(release);
    await commitFiles(git().root, repo, { [DEMO_RELEASE_PATH]: changed }, "Change the release");
    await requestReconcile(admin, ref(ns, GIT_API, "GitRepository", "config"));
    await requestReconcile(admin, ref(ns, KS_API, "Kustomization", "apps"));
    await eventually(
      "the HelmRelease changed and Ready",
      async () => {
        const hr = await admin.get(ref(ns, HR_API, "HelmRelease", "demo"));
        return applied(hr) && isReadyNow(hr) ? true : undefined;
      },
      180_000,
    );
  }

  async function suspendOf(ns: string, kind: "Kustomization" | "HelmRelease", name: string) {
    const obj = await admin.get(ref(ns, kind === "Kustomization" ? KS_API : HR_API, kind, name));
    return (obj["spec"] as { suspend?: boolean }).suspend ?? false;
  }

  async function expectFluxResumed(ns: string): Promise<void> {
    expect(await suspendOf(ns, "Kustomization", "apps")).toBe(false);
    expect(await suspendOf(ns, "HelmRelease", "demo")).toBe(false);
  }

  async function replicasOf(ns: string, kind: string, name: string): Promise<number | undefined> {
    const w = await admin.get(ref(ns, "apps/v1", kind, name));
    return (w["spec"] as { replicas?: number }).replicas;
  }

  async function expectGitAt(repo: string, sha: string): Promise<void> {
    expect(await revParse(git().root, repo, "main")).toBe(sha);
  }

  async function lease(ns: string, appUid: string): Promise<KubeObject | undefined> {
    return getOrUndefined(admin, ref(ns, "coordination.k8s.io/v1", "Lease", `cairn-app-${appUid}`));
  }

  function failedStep(r: KubeObject): { name: string; reason: string } | undefined {
    const history = statusOf<RequestStatus>(r).history ?? [];
    return history.filter((h) => h.name !== "Compensate").at(-1);
  }

  /** A plain Kustomization app in its own namespace and repository: one file, one ManagedApp. */
  async function plainApp(opts: {
    prefix: string;
    path: string;
    files: Record<string, string>;
    spec: Record<string, unknown>;
  }): Promise<{ ns: string; repo: string }> {
    const ns = await createTestNamespace(admin, opts.prefix);
    namespaces.push(ns);
    const repo = `${ns}-config`;
    await createBareRepo(git().root, repo);
    await commitFiles(git().root, repo, opts.files, "Add the app");
    await admin.create({
      apiVersion: GIT_API,
      kind: "GitRepository",
      metadata: { name: "plain", namespace: ns },
      spec: { url: `${git().url}/${repo}.git`, ref: { branch: "main" }, interval: "1m" },
    });
    await admin.create({
      apiVersion: KS_API,
      kind: "Kustomization",
      metadata: { name: "plain", namespace: ns },
      spec: {
        sourceRef: { kind: "GitRepository", name: "plain" },
        path: opts.path,
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
      metadata: { name: "plain", namespace: ns, labels: { ...controller.labels } },
      spec: {
        kustomizationRef: { name: "plain" },
        git: { secretRef: { name: "git-write" } },
        timeouts: { health: "60s" },
        ...opts.spec,
      },
    });
    return { ns, repo };
  }

  // --- cases ---------------------------------------------------------------------------------

  it("13.1 a release stuck in pending-upgrade: the app is not Ready naming the Secret; dry run and request refused before any side effect", async () => {
    const app = await demoApp({ prefix: "safe-pending" });
    const ns = app.namespace;
    // helm-controller unlocks a pending release at its next reconcile; an hourly interval keeps
    // it from doing so while the test runs (nothing else in the test changes the HelmRelease's
    // spec).
    await changeRelease(
      ns,
      app.repo,
      (r) => r.replace("  interval: 1m\n  chart:", "  interval: 60m\n  chart:"),
      (hr) => (hr["spec"] as { interval?: string }).interval === "60m",
    );
    const head = await revParse(git().root, app.repo, "main");
    // What Helm writes when an upgrade starts: revision 2, pending-upgrade, in its own Secret.
    const deployed = await admin.get(ref(ns, "v1", "Secret", "sh.helm.release.v1.demo.v1"));
    const helmText = Buffer.from(
      (deployed["data"] as { release: string }).release,
      "base64",
    ).toString("latin1");
    const release = JSON.parse(gunzipSync(Buffer.from(helmText, "base64")).toString("utf8")) as {
      version: number;
      info: Record<string, unknown>;
    };
    expect(release.version).toBe(1);
    const pending = {
      ...release,
      version: 2,
      info: { ...release.info, status: "pending-upgrade", description: "Preparing upgrade" },
    };
    const stuck = "sh.helm.release.v1.demo.v2";
    await admin.create({
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: stuck,
        namespace: ns,
        labels: {
          ...deployed.metadata.labels,
          owner: "helm",
          name: "demo",
          status: "pending-upgrade",
          version: "2",
        },
      },
      type: "helm.sh/release.v1",
      data: {
        release: Buffer.from(
          gzipSync(Buffer.from(JSON.stringify(pending))).toString("base64"),
        ).toString("base64"),
      },
    });
    // Cairn lists release Secrets again when the HelmRelease changes (it does not watch
    // Secrets); helm-controller's status write after the Helm action stands in for that here.
    await admin.mergePatch(ref(ns, HR_API, "HelmRelease", "demo"), {
      metadata: { annotations: { "cairn.test/touched": "1" } },
    });
    const recovery = `helm rollback demo 1 --namespace ${ns} --no-hooks`;
    const ready = await appCondition(
      ns,
      "demo",
      "Ready",
      (c) => c.status === "False",
      "Ready=False",
    );
    expect(ready.reason).toBe("ReleasePending");
    expect(ready.message).toContain(`Secret ${ns}/${stuck}`);
    expect(ready.message).toContain(recovery);

    await request(ns, "pending-dry", { targetVersion: { chart: "1.1.0" }, dryRun: true });
    const dry = await finished(ns, "pending-dry");
    expect(complete(dry)?.reason, complete(dry)?.message).toBe("DryRunFailed");
    const check = statusOf<RequestStatus>(dry).preflight?.find(
      (c) => c.name === "HelmReleaseStorage",
    );
    expect(check?.passed).toBe(false);
    expect(check?.message).toContain(stuck);
    expect(check?.message).toContain(recovery);

    await request(ns, "pending-real", { targetVersion: { chart: "1.1.0" } });
    const real = await finished(ns, "pending-real");
    expect(complete(real)?.reason, complete(real)?.message).toBe("PlanFailed");
    expect(complete(real)?.message).toContain(recovery);
    expect(statusOf<RequestStatus>(real).history?.map((h) => h.name)).toEqual(["Admit", "Plan"]);
    // Nothing was touched: Flux running, replicas as they were, Git at the same head, no lock.
    await expectFluxResumed(ns);
    expect(await replicasOf(ns, "StatefulSet", "demo-db")).toBe(1);
    expect(await replicasOf(ns, "Deployment", "demo-web")).toBe(1);
    await expectGitAt(app.repo, head ?? "");
    expect(await lease(ns, app.uid)).toBeUndefined();
    // The stuck revision is still Helm's newest: Cairn never wrote to the release.
    const still = await admin.get(ref(ns, "v1", "Secret", stuck));
    expect(still.metadata.labels?.["status"]).toBe("pending-upgrade");
  });

  it("13.3 an untagged image is planned from latest and the request ends; the app shows the new tag", async () => {
    const path = "apps/notes/deployment.yaml";
    const deployment = stringify({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "notes" },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "notes" } },
        template: {
          metadata: { labels: { app: "notes" } },
          spec: { containers: [{ name: "notes", image: "registry.invalid/notes" }] },
        },
      },
    });
    const { ns, repo } = await plainApp({
      prefix: "safe-untagged",
      path: "./apps/notes",
      files: { [path]: deployment },
      spec: { gitPath: path },
    });
    await appReady(ns, "plain");
    await request(
      ns,
      "tag-it",
      { targetVersion: { images: [{ name: "registry.invalid/notes", tag: "2.0" }] } },
      "plain",
    );
    const r = await finished(ns, "tag-it");
    expect(complete(r)?.reason, complete(r)?.message).toBe("Succeeded");
    const s = statusOf<RequestStatus>(r);
    expect(s.plan?.git).toMatchObject({ from: "latest", to: "2.0" });
    expect(s.preflight?.find((c) => c.name === "Images")?.message).toBe(
      "registry.invalid/notes: latest (untagged) → 2.0",
    );
    expect(await readFileAt(git().root, repo, path)).toBe(
      deployment.replace("image: registry.invalid/notes", "image: registry.invalid/notes:2.0"),
    );
    const live = await admin.get(ref(ns, "apps/v1", "Deployment", "notes"));
    expect(
      (live["spec"] as { template: { spec: { containers: { image: string }[] } } }).template.spec
        .containers[0]?.image,
    ).toBe("registry.invalid/notes:2.0");
    const managed = await admin.get(appRef(ns, "plain"));
    expect(statusOf<{ currentVersion: string }>(managed).currentVersion).toBe("2.0");
  });

  it("13.4 a duration beyond 168h is refused by the API; the largest accepted timeouts still end the request", async () => {
    const ns = await createTestNamespace(admin, "safe-duration");
    namespaces.push(ns);
    await expect(
      admin.create({
        apiVersion: API,
        kind: "ManagedApp",
        metadata: { name: "huge", namespace: ns },
        spec: {
          gitPath: "apps/a.yaml",
          kustomizationRef: { name: "apps" },
          timeouts: { snapshot: "9999999999h" },
        },
      }),
    ).rejects.toThrow("must be a duration from 1s to 168h");
    await expect(
      admin.create({
        apiVersion: API,
        kind: "ManagedApp",
        metadata: { name: "long", namespace: ns },
        spec: {
          gitPath: "apps/a.yaml",
          kustomizationRef: { name: "apps" },
          healthCheck: { timeout: "169h" },
        },
      }),
    ).rejects.toThrow("must be a duration from 1s to 168h");
    expect(await getOrUndefined(admin, appRef(ns, "huge"))).toBeUndefined();
    expect(await getOrUndefined(admin, appRef(ns, "long"))).toBeUndefined();

    // 13.5 on the same app: a Job's pod that finished still names the db's PVC in its spec.
    const week = "168h";
    const app = await demoApp({
      prefix: "safe-bounds",
      spec: {
        healthCheck: { timeout: week },
        timeouts: Object.fromEntries(
          [
            "suspend",
            "scaleDown",
            "snapshot",
            "commit",
            "fluxApply",
            "scaleUp",
            "health",
            "volumeRestore",
          ].map((k) => [k, week]),
        ),
      },
    });
    const bns = app.namespace;
    await admin.create({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "backup", namespace: bns },
      spec: {
        backoffLimit: 0,
        template: {
          spec: {
            restartPolicy: "Never",
            containers: [
              {
                name: "backup",
                image: "registry.invalid/backup:1",
                volumeMounts: [{ name: "data", mountPath: "/data" }],
              },
            ],
            volumes: [{ name: "data", persistentVolumeClaim: { claimName: "data-demo-db-0" } }],
          },
        },
      },
    });
    const jobPod = await eventually(
      "the Job's pod Succeeded",
      async () => {
        const { items } = await admin.list("v1", "Pod", {
          namespace: bns,
          labelSelector: "job-name=backup",
        });
        const pod = items[0];
        return (pod?.["status"] as { phase?: string } | undefined)?.phase === "Succeeded"
          ? pod
          : undefined;
      },
      120_000,
    );
    await request(bns, "week", { targetVersion: { chart: "1.1.0" } });
    const before = Date.now();
    const r = await finished(bns, "week");
    expect(complete(r)?.reason, complete(r)?.message).toBe("Succeeded");
    const s = statusOf<RequestStatus>(r);
    expect(s.history?.find((h) => h.name === "ScaleDown")?.reason).toBe("Succeeded");
    // ScaleDown did not wait for the finished pod (its deadline is a week away).
    expect(Date.parse(s.completedAt ?? "") - before).toBeLessThan(240_000);
    // The finished pod is still there, untouched: it was ignored, not removed.
    const pod = await admin.get(ref(bns, "v1", "Pod", jobPod.metadata.name ?? ""));
    expect(pod.metadata.uid).toBe(jobPod.metadata.uid);
    await expectFluxResumed(bns);
    expect(await replicasOf(bns, "StatefulSet", "demo-db")).toBe(1);
    expect(await replicasOf(bns, "Deployment", "demo-web")).toBe(1);
    expect(await lease(bns, app.uid)).toBeUndefined();
  });

  it("13.7 deleting the ManagedApp mid-flight ends the request within seconds, undoes the freeze, and takes the Lease with it", async () => {
    const app = await demoApp({ prefix: "safe-appdel" });
    const ns = app.namespace;
    await admin.mergePatch(ref(ns, "v1", "PersistentVolumeClaim", "data-demo-db-0"), {
      metadata: { annotations: { [ANN_FAULT_SNAPSHOT_DELAY]: "600" } },
    });
    await request(ns, "orphaned", { targetVersion: { chart: "1.1.0" } });
    await atStep(ns, "orphaned", "Snapshot");
    expect(await suspendOf(ns, "Kustomization", "apps")).toBe(true);
    expect(await replicasOf(ns, "StatefulSet", "demo-db")).toBe(0);
    const held = await lease(ns, app.uid);
    // Owned by the ManagedApp: garbage-collected with it, whatever happens to the request.
    expect(held?.metadata["ownerReferences"]).toEqual([
      expect.objectContaining({ kind: "ManagedApp", name: "demo", uid: app.uid }),
    ]);
    const deletedAt = Date.now();
    await admin.delete(appRef(ns));
    const r = await finished(ns, "orphaned", 120_000);
    const endedAfter = Date.now() - deletedAt;
    expect(complete(r)?.status).toBe("False");
    expect(failedStep(r)).toMatchObject({ name: "Snapshot", reason: "AppNotFound" });
    expect(complete(r)?.message).toContain("Git untouched");
    // Within seconds, not the Snapshot deadline (minutes away).
    expect(endedAfter).toBeLessThan(60_000);
    await expectFluxResumed(ns);
    expect(await replicasOf(ns, "StatefulSet", "demo-db")).toBe(1);
    expect(await replicasOf(ns, "Deployment", "demo-web")).toBe(1);
    await expectGitAt(app.repo, app.head);
    await eventually("the app's Lease gone", async () =>
      (await lease(ns, app.uid)) ? undefined : true,
    );
  });

  it("13.8 a workload scaled up again before the cut: no snapshot, NotQuiescent, replicas restored from a fresh read", async () => {
    const app = await demoApp({ prefix: "safe-cut", replicas: { web: 2 } });
    const ns = app.namespace;
    // A quota of zero VolumeSnapshots holds the request at Snapshot (each pass retries the
    // create); every pass re-checks the cut from fresh reads first.
    await admin.create({
      apiVersion: "v1",
      kind: "ResourceQuota",
      metadata: { name: "no-snapshots", namespace: ns },
      spec: { hard: { "count/volumesnapshots.snapshot.storage.k8s.io": "0" } },
    });
    await eventually("the quota counted", async () => {
      const q = await admin.get(ref(ns, "v1", "ResourceQuota", "no-snapshots"));
      return (q["status"] as { hard?: object } | undefined)?.hard ? true : undefined;
    });
    await request(ns, "cut", { targetVersion: { chart: "1.1.0" } });
    const at = await atStep(ns, "cut", "Snapshot");
    expect(statusOf<RequestStatus>(at).replicas).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: "Deployment", name: "demo-web", original: 2 }),
        expect.objectContaining({ kind: "StatefulSet", name: "demo-db", original: 1 }),
      ]),
    );
    expect(await replicasOf(ns, "Deployment", "demo-web")).toBe(0);
    // What an HPA (or a person) does after ScaleDown finished.
    await admin.patchScale(ref(ns, "apps/v1", "Deployment", "demo-web"), 3);
    const r = await finished(ns, "cut");
    expect(complete(r)?.status).toBe("False");
    expect(failedStep(r)).toMatchObject({ name: "Snapshot", reason: "NotQuiescent" });
    expect(complete(r)?.message).toContain(`Deployment ${ns}/demo-web runs 3 replica(s) again`);
    expect(complete(r)?.message).toContain("Git untouched");
    const snaps = await admin.list("snapshot.storage.k8s.io/v1", "VolumeSnapshot", {
      namespace: ns,
    });
    expect(snaps.items).toHaveLength(0);
    // The db, still at 0, gets its recorded count back; the web, at 3 by someone else, is left
    // alone: restoring reads each workload fresh.
    expect(await replicasOf(ns, "StatefulSet", "demo-db")).toBe(1);
    expect(await replicasOf(ns, "Deployment", "demo-web")).toBe(3);
    await expectFluxResumed(ns);
    await expectGitAt(app.repo, app.head);
    expect(await lease(ns, app.uid)).toBeUndefined();
  });

  it("13.9 bad Git settings of a Kustomization app show on the ManagedApp, each message starting with the field", async () => {
    const path = "apps/settings/config.yaml";
    const { ns } = await plainApp({
      prefix: "safe-gitcfg",
      path: "./apps/settings",
      files: {
        [path]: stringify({
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: "settings" },
          data: { version: "1.0.0" },
        }),
      },
      spec: { gitPath: path, versionPolicy: { versionPath: "data.version" } },
    });
    const resolved = await appCondition(
      ns,
      "plain",
      "VersionResolved",
      (c) => c.status === "True",
      "VersionResolved=True",
    );
    expect(resolved.reason).toBe("GitFile");
    await expectBadGitSettings(ns, "plain", { gitPath: path, folder: "apps/settings" });
  });

  it("13.9 bad Git settings of a HelmRelease app show on the ManagedApp too", async () => {
    const app = await demoApp({ prefix: "safe-gitcfg-hr" });
    await expectBadGitSettings(app.namespace, "demo", {
      gitPath: DEMO_RELEASE_PATH,
      folder: "apps/demo",
    });
  });

  /** Each bad setting in turn, then the good one back: VersionResolved says which field is wrong. */
  async function expectBadGitSettings(
    ns: string,
    name: string,
    paths: { gitPath: string; folder: string },
  ): Promise<void> {
    const settle = () =>
      appCondition(ns, name, "VersionResolved", (c) => c.status === "True", "VersionResolved=True");
    const failing = (prefix: string) =>
      appCondition(
        ns,
        name,
        "VersionResolved",
        (c) => c.status === "False" && (c.message ?? "").startsWith(prefix),
        `VersionResolved=False starting with ${prefix}`,
      );
    await settle();
    await admin.mergePatch(appRef(ns, name), { spec: { git: { branch: "no-such-branch" } } });
    const branch = await failing("spec.git.branch:");
    expect(branch.message).toContain("no-such-branch");
    await admin.mergePatch(appRef(ns, name), { spec: { git: { branch: null } } });
    await settle();

    await admin.create({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "keyless", namespace: ns },
      stringData: { note: "no key Cairn knows" },
    });
    await admin.mergePatch(appRef(ns, name), { spec: { git: { secretRef: { name: "keyless" } } } });
    const secret = await failing("spec.git.secretRef.name:");
    expect(secret.message).toContain(`Secret ${ns}/keyless`);
    await admin.mergePatch(appRef(ns, name), {
      spec: { git: { secretRef: { name: "git-write" } } },
    });
    await settle();

    await admin.mergePatch(appRef(ns, name), { spec: { gitPath: paths.folder } });
    const folder = await failing("spec.gitPath:");
    expect(folder.message).toContain(paths.folder);
    // Not a plain relative path: the API refuses it outright.
    await expect(
      admin.mergePatch(appRef(ns, name), { spec: { gitPath: `../${paths.gitPath}` } }),
    ).rejects.toThrow("spec.gitPath");
    await admin.mergePatch(appRef(ns, name), { spec: { gitPath: paths.gitPath } });
    await settle();
  }

  it("13.2 a HelmRelease upgraded through spec.values.image.tag: AwaitFlux waits for the release of that generation, and the request succeeds", async () => {
    const app = await demoApp({
      prefix: "safe-values",
      spec: { versionPolicy: { versionPath: "spec.values.image.tag" } },
    });
    const ns = app.namespace;
    await changeRelease(
      ns,
      app.repo,
      (r) => `${r.trimEnd()}\n    image:\n      tag: "1.0.0"\n`,
      (hr) =>
        (hr["spec"] as { values?: { image?: { tag?: string } } }).values?.image?.tag === "1.0.0",
    );
    await appReady(ns);
    const before = await admin.get(ref(ns, HR_API, "HelmRelease", "demo"));
    await request(ns, "tag-110", { targetVersion: { chart: "1.1.0" } });
    const r = await finished(ns, "tag-110");
    expect(complete(r)?.reason, complete(r)?.message).toBe("Succeeded");
    const s = statusOf<RequestStatus>(r);
    expect(s.plan?.git).toMatchObject({
      versionPath: "spec.values.image.tag",
      from: "1.0.0",
      to: "1.1.0",
    });
    expect(s.history?.find((h) => h.name === "AwaitFlux")?.reason).toBe("Succeeded");
    const release = await readFileAt(git().root, app.repo, DEMO_RELEASE_PATH);
    expect(release).toContain('tag: "1.1.0"');
    expect(release).toContain('version: "1.0.0"');
    // The HelmRelease carries the commit's values at a newer generation, released by Helm.
    const hr = await admin.get(ref(ns, HR_API, "HelmRelease", "demo"));
    expect(hr.metadata.generation).toBeGreaterThan(before.metadata.generation ?? 0);
    expect((hr["spec"] as { values: { image: { tag: string } } }).values.image.tag).toBe("1.1.0");
    expect(isReadyNow(hr)).toBe(true);
    const history = (hr["status"] as { history?: { version?: number }[] }).history ?? [];
    const beforeHistory = (before["status"] as { history?: { version?: number }[] }).history ?? [];
    expect(history[0]?.version).toBeGreaterThan(beforeHistory[0]?.version ?? 0);
    await expectFluxResumed(ns);
    await expectGitAt(app.repo, s.commit?.sha ?? "");
  });
});
