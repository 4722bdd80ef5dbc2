// The real controller process (src/main.ts) under the RBAC it ships, against Flux-managed apps on
// the test bed: leader election, informers, and the ManagedApp's Ready condition, version and
// discovery (inventories, Helm's storage Secrets, explicit, excluded and shared PVCs, workloads
// outside the app that mount its PVCs), following the app's health both ways, and the warning
// about Flux objects left suspended.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { stringify } from "yaml";
import type { KubeClient, KubeObject } from "../../src/kube/client.ts";
import { REPO_ROOT } from "../../testbed/src/binaries.ts";
import { LocalCairn } from "../../testbed/src/cairn.ts";
import { demoFluxObjects, seedDemoRepo } from "../../testbed/src/demo-app.ts";
import { commitFiles, createBareRepo, readFileAt } from "../../testbed/src/git-fixtures.ts";
import { httpGet } from "../../testbed/src/readiness.ts";
import {
  createTestNamespace,
  deleteNamespace,
  eventually,
  pods,
  testClient,
} from "../support/kube.ts";
import { readObjects } from "../support/manifests.ts";
import {
  conditions,
  isReadyNow,
  requestReconcile,
  statusOf,
  warningEvents,
} from "../support/objects.ts";

// The shipped RBAC under names of this run's own, so that no other test file's (or concurrent
// run's) cleanup touches it, and a lease no other controller process competes for.
const SUFFIX = `-e2e-${randomBytes(3).toString("hex")}`;
const CONTROLLER_NS = `cairn${SUFFIX}`;
// Every ManagedApp here carries it, and this file's controller selects by it: other test files
// run their own controllers on the same cluster at the same time.
const TEST_LABELS = { "cairn.dev/test": CONTROLLER_NS };
// Short, so that the forgotten-suspend warning can be watched happen.
const SUSPENDED_WARNING_AFTER_S = 4;
// Where the plain app "notes" keeps its version.
const NOTES_VERSION_PATH = 'metadata.labels["app.kubernetes.io/version"]';

/** Resolves once status fields new in this tree's CRD survive a write (none are pruned). */
async function servesCurrentSchema(admin: KubeClient, namespace: string): Promise<void> {
  const probe = {
    apiVersion: "cairn.dev/v1alpha1",
    kind: "ManagedApp",
    namespace,
    name: "schema-probe",
  };
  await admin.create({
    apiVersion: probe.apiVersion,
    kind: probe.kind,
    metadata: { name: probe.name, namespace },
    spec: { gitPath: "x.yaml", kustomizationRef: { name: "none" } },
  });
  const status = {
    fluxSuspendedSince: "2026-01-01T00:00:00Z",
    discovery: {
      workloads: [{ kind: "Deployment", namespace, name: "w", reason: "probe" }],
      via: "Inventory",
    },
  };
  await eventually("the API server to serve the working tree's ManagedApp schema", async () => {
    const written = await admin.patchStatus(probe, { status });
    const s = written["status"] as typeof status | undefined;
    return s?.fluxSuspendedSince && s.discovery.via && s.discovery.workloads[0]?.reason
      ? true
      : undefined;
  });
  await admin.delete(probe);
}

interface Discovery {
  readonly pvcs: { namespace: string; name: string }[];
  readonly workloads: { kind: string; namespace: string; name: string; reason?: string }[];
  readonly source: { kind: string; namespace: string; name: string };
  readonly via?: string;
}

describe("the controller under its shipped RBAC", () => {
  const admin: KubeClient = testClient();
  let ns = "";
  let cairn: LocalCairn | undefined;
  // The plain app's repository on the git server, once that test set it up.
  let notesRepo: string | undefined;
  const git = inject("git");

  beforeAll(async () => {
    if (!git) throw new Error("the e2e tier needs the full test bed");
    // The ManagedApp CRD of this working tree: a shared test bed may have been started from an
    // older tree, and the API server drops status fields its schema does not have.
    for (const crd of readObjects(join(REPO_ROOT, "crds/cairn.dev_managedapps.yaml"))) {
      await admin.apply(crd, { force: true });
    }

    // The API server switches to a new schema asynchronously: wait until it keeps the status
    // fields this tree added, on an app of its own in the test namespace.
    ns = await createTestNamespace(admin, "app");
    await servesCurrentSchema(admin, ns);

    // A Flux-managed app: GitRepository → Kustomization → HelmRelease of the demo chart.
    const repo = `${ns}-config`;
    await seedDemoRepo(git.root, repo, inject("helmRepoUrl"));
    for (const obj of demoFluxObjects(ns, `${git.url}/${repo}.git`)) await admin.create(obj);
    await admin.create({
      apiVersion: "cairn.dev/v1alpha1",
      kind: "ManagedApp",
      metadata: { name: "demo", namespace: ns, labels: TEST_LABELS },
      spec: {
        gitPath: "apps/demo/release.yaml",
        kustomizationRef: { name: "apps" },
        helmReleaseRef: { name: "demo" },
      },
    });

    // RBAC as shipped in deploy/ (renamed), a token of its ServiceAccount, and leader election
    // as deployed, with short lease timings.
    cairn = await LocalCairn.prepare({
      admin,
      clusterKubeconfig: inject("kubeconfig"),
      suffix: SUFFIX,
      labels: TEST_LABELS,
      leaderElect: true,
      extraArgs: [
        "--lease-duration-seconds=6",
        "--renew-deadline-seconds=4",
        "--retry-period-seconds=1",
        `--suspended-warning-after=${SUSPENDED_WARNING_AFTER_S}s`,
      ],
    });
    await cairn.start();
  }, 180_000);

  afterAll(async () => {
    if (ns) await deleteNamespace(admin, ns);
    await cairn?.cleanup();
  });

  const appRef = () => ({
    apiVersion: "cairn.dev/v1alpha1",
    kind: "ManagedApp",
    namespace: ns,
    name: "demo",
  });

  const notesSecret = (): KubeObject => ({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "notes-env", namespace: ns },
    stringData: { GREETING: "hello" },
  });

  /** The PVC names of the app's discovery summary, once it reflects the app's current spec. */
  const discoveredPvcs = (name: string) =>
    eventually(`the discovery of ${name} for its current spec`, async () => {
      const a = await admin.get({ ...appRef(), name });
      const status = statusOf<{ observedGeneration?: number; discovery?: Discovery }>(a);
      return status.observedGeneration === a.metadata.generation
        ? status.discovery?.pvcs.map((p) => p.name)
        : undefined;
    });

  it("takes the lease and becomes ready", async () => {
    const leaseRef = {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      namespace: CONTROLLER_NS,
      name: "cairn-controller",
    };
    // A follower answers /readyz too (it stands by), so first the lease, then readiness.
    await eventually(
      "the lease held by the controller",
      async () => {
        const proc = cairn?.process;
        if (!proc?.running)
          throw new Error(
            `controller ${proc?.describeExit() ?? "missing"}:\n${proc?.logTail() ?? ""}`,
          );
        const lease = await admin.get(leaseRef).catch(() => undefined);
        return (lease?.["spec"] as { holderIdentity?: string } | undefined)?.holderIdentity ===
          cairn?.identity
          ? true
          : undefined;
      },
      60_000,
    );
    await eventually(
      "/readyz 200 with informers synced",
      async () => {
        const res = await httpGet({
          url: `http://127.0.0.1:${cairn?.healthPort ?? 0}/readyz`,
          accept: () => true,
        }).catch(() => undefined);
        return res?.status === 200 && /controllers running/.test(res.body) ? true : undefined;
      },
      60_000,
    );
    const metrics = await httpGet({
      url: `http://127.0.0.1:${cairn?.metricsPort ?? 0}/metrics`,
      accept: () => true,
    });
    expect(metrics.body).toMatch(/cairn_leader 1/);
  });

  it("reports the app Ready with its chart version and what discovery found", async () => {
    const app = await eventually(
      "the ManagedApp Ready",
      async () => {
        const a = await admin.get(appRef());
        return isReadyNow(a) ? a : undefined;
      },
      180_000,
    );
    const status = statusOf<{
      currentVersion: string;
      discovery: {
        pvcs: { name: string }[];
        workloads: { kind: string; name: string }[];
        source: { kind: string };
      };
    }>(app);
    expect(status.currentVersion).toBe("1.0.0");
    expect(status.discovery?.source.kind).toBe("HelmRelease");
    expect(status.discovery?.workloads.map((w) => `${w.kind}/${w.name}`).sort()).toEqual([
      "Deployment/demo-web",
      "StatefulSet/demo-db",
    ]);
    expect(status.discovery?.pvcs.map((p) => p.name).sort()).toEqual([
      "data-demo-db-0",
      "demo-uploads",
    ]);
  });

  it("turns Ready=False, naming the workload, when the app is scaled to 0, and back when it runs", async () => {
    const sts = { apiVersion: "apps/v1", kind: "StatefulSet", namespace: ns, name: "demo-db" };
    await admin.mergePatch(sts, { spec: { replicas: 0 } });
    const down = await eventually("Ready=False", async () => {
      const ready = conditions(await admin.get(appRef())).find((c) => c.type === "Ready");
      return ready?.status === "False" ? ready : undefined;
    });
    expect(down.message).toContain("demo-db");
    await admin.mergePatch(sts, { spec: { replicas: 1 } });
    await eventually(
      "Ready=True again",
      async () => {
        const a = await admin.get(appRef());
        return isReadyNow(a) ? true : undefined;
      },
      60_000,
    );
    const { items } = await admin.list("events.k8s.io/v1", "Event", { namespace: ns });
    const reasons = items
      .filter((e) => (e["regarding"] as { kind?: string }).kind === "ManagedApp")
      .map((e) => String(e["reason"]));
    expect(reasons).toContain("Ready");
  });

  it("follows a spec change: excluded PVCs leave the discovery summary", async () => {
    await admin.mergePatch(appRef(), {
      spec: { volumeSnapshots: { excludePVCs: [{ name: "demo-uploads" }] } },
    });
    const pvcs = await eventually("the excluded PVC gone from discovery", async () => {
      const a = await admin.get(appRef());
      const status = statusOf<{
        observedGeneration: number;
        discovery: { pvcs: { name: string }[] };
      }>(a);
      return status.observedGeneration === a.metadata.generation
        ? status.discovery?.pvcs.map((p) => p.name)
        : undefined;
    });
    expect(pvcs).toEqual(["data-demo-db-0"]);
  });

  it("denies a reference to another namespace, naming the field", async () => {
    await admin.create({
      apiVersion: "cairn.dev/v1alpha1",
      kind: "ManagedApp",
      metadata: { name: "elsewhere", namespace: ns, labels: TEST_LABELS },
      spec: {
        gitPath: "apps/x.yaml",
        kustomizationRef: { name: "apps", namespace: "flux-system" },
      },
    });
    const ready = await eventually("Ready=False on the cross-namespace app", async () => {
      const a = await admin.get({ ...appRef(), name: "elsewhere" });
      return conditions(a).find((c) => c.type === "Ready" && c.status === "False");
    });
    expect(ready.reason).toBe("ReferenceDenied");
    expect(ready.message).toContain("spec.kustomizationRef.namespace");
  });

  it("discovers a plain Kustomization app from the Kustomization's inventory, ignoring a ReadWriteMany PVC", async () => {
    if (!git) throw new Error("no git server");
    const repo = `${ns}-plain`;
    const manifest = stringify({
      apiVersion: "apps/v1",
      kind: "Deployment",
      // The app's version, where spec.versionPolicy.versionPath points.
      metadata: { name: "notes", labels: { "app.kubernetes.io/version": "1.0.0" } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "notes" } },
        template: {
          metadata: { labels: { app: "notes" } },
          spec: {
            containers: [
              {
                name: "notes",
                image: "registry.invalid/notes:1",
                // A Secret the container needs at start: without it the kubelet cannot create it.
                envFrom: [{ secretRef: { name: "notes-env" } }],
                volumeMounts: [
                  { name: "d", mountPath: "/d" },
                  { name: "shared", mountPath: "/shared" },
                ],
              },
            ],
            volumes: [
              { name: "d", persistentVolumeClaim: { claimName: "notes-data" } },
              { name: "shared", persistentVolumeClaim: { claimName: "notes-shared" } },
            ],
          },
        },
      },
    });
    const claim = (name: string, mode: string) =>
      stringify({
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: { name },
        spec: { accessModes: [mode], resources: { requests: { storage: "1Gi" } } },
      });
    await createBareRepo(git.root, repo);
    await commitFiles(
      git.root,
      repo,
      {
        "apps/notes/deployment.yaml": manifest,
        "apps/notes/pvc.yaml": claim("notes-data", "ReadWriteOnce"),
        "apps/notes/shared-pvc.yaml": claim("notes-shared", "ReadWriteMany"),
      },
      "Add notes",
    );
    // Not in Git: the test deletes it later to break the pod's configuration.
    await admin.create(notesSecret());
    await admin.create({
      apiVersion: "source.toolkit.fluxcd.io/v1",
      kind: "GitRepository",
      metadata: { name: "plain", namespace: ns },
      spec: { url: `${git.url}/${repo}.git`, ref: { branch: "main" }, interval: "1m" },
    });
    await admin.create({
      apiVersion: "kustomize.toolkit.fluxcd.io/v1",
      kind: "Kustomization",
      metadata: { name: "notes", namespace: ns },
      spec: {
        sourceRef: { kind: "GitRepository", name: "plain" },
        path: "./apps/notes",
        prune: true,
        targetNamespace: ns,
        interval: "1m",
      },
    });
    await admin.create({
      apiVersion: "cairn.dev/v1alpha1",
      kind: "ManagedApp",
      metadata: { name: "notes", namespace: ns, labels: TEST_LABELS },
      spec: {
        gitPath: "apps/notes/deployment.yaml",
        kustomizationRef: { name: "notes" },
        versionPolicy: { versionPath: NOTES_VERSION_PATH },
      },
    });
    const app = await eventually(
      "the plain app Ready",
      async () => {
        const a = await admin.get({ ...appRef(), name: "notes" });
        return isReadyNow(a) ? a : undefined;
      },
      120_000,
    );
    notesRepo = repo;
    const status = statusOf<{ discovery: Discovery }>(app);
    // notes-shared is ReadWriteMany: many writers may share it, so an upgrade need not stop them.
    expect(status.discovery).toEqual({
      pvcs: [{ namespace: ns, name: "notes-data" }],
      workloads: [
        {
          kind: "Deployment",
          namespace: ns,
          name: "notes",
          reason: "listed in the Kustomization inventory",
        },
      ],
      source: { kind: "Kustomization", namespace: ns, name: "notes" },
      via: "Inventory",
    });
  });

  it("reads a plain app's version from Git at the commit Flux applied, and names a bad versionPath", async () => {
    if (!git || !notesRepo) throw new Error("the plain app was not set up");
    const notes = { ...appRef(), name: "notes" };
    const versionOf = async (want: string) =>
      eventually(
        `currentVersion ${want}`,
        async () => {
          const a = await admin.get(notes);
          const resolved = conditions(a).find((c) => c.type === "VersionResolved");
          return statusOf<{ currentVersion?: string }>(a).currentVersion === want &&
            resolved?.status === "True"
            ? resolved
            : undefined;
        },
        120_000,
      );
    const first = await versionOf("1.0.0");
    expect(first.reason).toBe("GitFile");
    const where = first.message ?? "";
    expect(where.startsWith(`${NOTES_VERSION_PATH} in apps/notes/deployment.yaml at commit `)).toBe(
      true,
    );
    expect(where.endsWith(`(applied by Kustomization ${ns}/notes)`)).toBe(true);

    // A new commit is the version only once Flux applied it.
    const file = "apps/notes/deployment.yaml";
    const current = (await readFileAt(git.root, notesRepo, file)).replace(
      "app.kubernetes.io/version: 1.0.0",
      "app.kubernetes.io/version: 1.1.0",
    );
    expect(current).toContain("1.1.0");
    const bump = await commitFiles(git.root, notesRepo, { [file]: current }, "Notes 1.1.0");
    const gitRepository = {
      apiVersion: "source.toolkit.fluxcd.io/v1",
      kind: "GitRepository",
      namespace: ns,
      name: "plain",
    };
    await requestReconcile(admin, gitRepository);
    const second = await versionOf("1.1.0");
    expect(second.message).toContain(`at commit ${bump.slice(0, 12)}`);
    const events = await eventually("the VersionChanged Event", async () => {
      const { items } = await admin.list("v1", "Event", {
        namespace: ns,
        fieldSelector:
          "involvedObject.name=notes,involvedObject.kind=ManagedApp,reason=VersionChanged",
      });
      return items.length > 0 ? items : undefined;
    });
    expect(String(events[0]?.["message"])).toContain("current version 1.0.0 → 1.1.0");

    // A path that leads nowhere: the condition names the field, the last version stays.
    await admin.mergePatch(notes, {
      spec: { versionPolicy: { versionPath: "metadata.labels.release" } },
    });
    const bad = await eventually("VersionResolved=False", async () => {
      const a = await admin.get(notes);
      const c = conditions(a).find((x) => x.type === "VersionResolved");
      return c?.status === "False" && c.observedGeneration === a.metadata.generation
        ? { c, a }
        : undefined;
    });
    expect(bad.c.reason).toBe("VersionPathInvalid");
    expect(bad.c.message).toMatch(/^spec\.versionPolicy\.versionPath: /);
    expect(statusOf<{ currentVersion?: string }>(bad.a).currentVersion).toBe("1.1.0");
    expect(isReadyNow(bad.a)).toBe(true);
    expect(await warningEvents(admin, ns, "notes")).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^VersionPathInvalid: spec\.versionPolicy\.versionPath: /),
      ]),
    );
    await admin.mergePatch(notes, { spec: { versionPolicy: { versionPath: NOTES_VERSION_PATH } } });
    await versionOf("1.1.0");
  });

  it("replaces discovery with explicit PVCs, and goes back to discovery without them", async () => {
    await admin.mergePatch(appRef(), {
      spec: { volumeSnapshots: { pvcs: [{ name: "demo-uploads" }], excludePVCs: null } },
    });
    expect(await discoveredPvcs("demo")).toEqual(["demo-uploads"]);
    await admin.mergePatch(appRef(), { spec: { volumeSnapshots: { pvcs: null } } });
    expect(await discoveredPvcs("demo")).toEqual(["data-demo-db-0", "demo-uploads"]);
  });

  it("lists a Deployment outside the release that mounts the app's PVC, with the reason", async () => {
    await admin.create({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "uploads-backup", namespace: ns },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "uploads-backup" } },
        template: {
          metadata: { labels: { app: "uploads-backup" } },
          spec: {
            containers: [{ name: "backup", image: "registry.invalid/backup:1" }],
            volumes: [{ name: "src", persistentVolumeClaim: { claimName: "demo-uploads" } }],
          },
        },
      },
    });
    const listed = await eventually("uploads-backup in the discovery summary", async () => {
      const status = statusOf<{ discovery?: Discovery }>(await admin.get(appRef()));
      return status.discovery?.workloads.find((w) => w.name === "uploads-backup");
    });
    expect(listed).toEqual({
      kind: "Deployment",
      namespace: ns,
      name: "uploads-backup",
      reason:
        "outside the HelmRelease's objects; its pod template mounts PVC demo-uploads (volume src)",
    });
    const app = await admin.get(appRef());
    const names = statusOf<{ discovery: Discovery }>(app).discovery?.workloads.map((w) => w.name);
    expect(names?.sort()).toEqual(["demo-db", "demo-web", "uploads-backup"]);
  });

  it("names CreateContainerConfigError when a Secret the pod needs is gone, and recovers", async () => {
    const notes = { ...appRef(), name: "notes" };
    const [pod] = await pods(admin, ns, "app=notes");
    if (!pod) throw new Error("no notes pod");
    const podRef = { apiVersion: "v1", kind: "Pod", namespace: ns, name: pod.metadata.name ?? "" };
    await admin.delete({ apiVersion: "v1", kind: "Secret", namespace: ns, name: "notes-env" });
    // The pod is replaced (a rollout restart, an evicted node): the test bed's kubelet cannot
    // build the new container's environment and holds it with CreateContainerConfigError.
    await admin.delete(podRef);
    const down = await eventually("Ready=False naming the waiting reason", async () => {
      const ready = conditions(await admin.get(notes)).find((c) => c.type === "Ready");
      return ready?.status === "False" && /CreateContainerConfigError/.test(ready.message ?? "")
        ? ready
        : undefined;
    });
    const [held] = (await pods(admin, ns, "app=notes")).filter(
      (p) => p.metadata.name !== podRef.name,
    );
    expect(down.message).toContain(`pod ${ns}/${held?.metadata.name ?? "?"}`);
    expect(down.message).toContain('secret "notes-env" not found');

    // Recovery: the Secret is back; the kubelet's retry starts the held pod.
    await admin.create(notesSecret());
    await eventually(
      "the notes app Ready again",
      async () => (isReadyNow(await admin.get(notes)) ? true : undefined),
      60_000,
    );
  });

  it("warns when the app's Kustomization stays suspended while no Cairn operation runs", async () => {
    const notes = { ...appRef(), name: "notes" };
    const kustomization = {
      apiVersion: "kustomize.toolkit.fluxcd.io/v1",
      kind: "Kustomization",
      namespace: ns,
      name: "notes",
    };
    const suspendedCondition = async (reason: string) =>
      eventually(
        `FluxSuspended ${reason}`,
        async () => {
          const a = await admin.get(notes);
          const c = conditions(a).find((x) => x.type === "FluxSuspended");
          return c?.reason === reason ? { condition: c, app: a } : undefined;
        },
        30_000,
      );
    const sinceOf = (a: KubeObject) =>
      statusOf<{ fluxSuspendedSince?: string }>(a).fluxSuspendedSince;
    const before = await suspendedCondition("NotSuspended");
    expect(before.condition.status).toBe("False");

    const suspendedAt = Date.now();
    await admin.mergePatch(kustomization, { spec: { suspend: true } });
    const first = await suspendedCondition("Suspended");
    expect(first.condition.message).toContain(`Kustomization ${ns}/notes is suspended since`);
    const since = sinceOf(first.app);
    expect(since).toBeDefined();
    // A requeue for the remaining time brings the warning; nothing polls meanwhile.
    const tooLong = await suspendedCondition("SuspendedTooLong");
    expect(Date.now() - suspendedAt).toBeGreaterThanOrEqual((SUSPENDED_WARNING_AFTER_S - 1) * 1000);
    expect(tooLong.condition.status).toBe("True");
    expect(sinceOf(tooLong.app)).toBe(since);
    const warning = await eventually("a SuspendedTooLong Event", async () => {
      const { items } = await admin.list("events.k8s.io/v1", "Event", { namespace: ns });
      return items.find(
        (e) =>
          e["reason"] === "SuspendedTooLong" &&
          (e["regarding"] as { name?: string }).name === "notes",
      );
    });
    expect(warning["type"]).toBe("Warning");

    // A running request (no Complete condition) explains the suspend: no warning, no clock.
    const request = {
      apiVersion: "cairn.dev/v1alpha1",
      kind: "UpgradeRequest",
      namespace: ns,
      name: "notes-upgrade",
    };
    await admin.create({
      apiVersion: request.apiVersion,
      kind: request.kind,
      metadata: { name: request.name, namespace: ns, labels: { "cairn.dev/managed-app": "notes" } },
      // The test plays the request controller here: the request names an app this file's
      // controller does not select, so its upgrade controller leaves it alone, while the label
      // still ties it to "notes" for the ManagedApp controller.
      spec: {
        managedAppRef: { name: "notes-unselected" },
        targetVersion: { chart: "1.0.1" },
        dryRun: true,
      },
    });
    const during = await suspendedCondition("OperationInProgress");
    expect(during.condition.message).toContain("UpgradeRequest notes-upgrade");
    expect(sinceOf(during.app)).toBeUndefined();
    // Once it is complete, the clock starts again from zero.
    await admin.patchStatus(request, {
      status: {
        conditions: [
          {
            type: "Complete",
            status: "True",
            reason: "DryRunSucceeded",
            message: "planned",
            lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
          },
        ],
      },
    });
    await suspendedCondition("Suspended");
    await suspendedCondition("SuspendedTooLong");

    await admin.mergePatch(kustomization, { spec: { suspend: false } });
    const resumed = await suspendedCondition("NotSuspended");
    expect(sinceOf(resumed.app)).toBeUndefined();
    await eventually(
      "the notes app Ready after the resume",
      async () => (isReadyNow(await admin.get(notes)) ? true : undefined),
      120_000,
    );
  });

  it("falls back to Helm's release Secrets without a HelmRelease inventory, and reports a corrupt one", async () => {
    const hr = {
      apiVersion: "helm.toolkit.fluxcd.io/v2",
      kind: "HelmRelease",
      namespace: ns,
      name: "demo",
    };
    // As helm-controller before 1.5 leaves it. It writes the inventory only after a Helm action,
    // so its reconciles of this unchanged release leave it absent.
    await admin.patchStatus(hr, { status: { inventory: null } });
    const fallback = await eventually("discovery from the release Secrets", async () => {
      const a = await admin.get(appRef());
      const d = statusOf<{ discovery?: Discovery }>(a).discovery;
      return d?.via === "HelmReleaseSecrets" && isReadyNow(a) ? d : undefined;
    });
    expect(fallback.source).toEqual({ kind: "HelmRelease", namespace: ns, name: "demo" });
    const rendered = "rendered by Helm release demo revision 1";
    expect(
      fallback.workloads
        .filter((w) => w.reason === rendered)
        .map((w) => w.name)
        .sort(),
    ).toEqual(["demo-db", "demo-web"]);
    expect(fallback.pvcs.map((p) => p.name)).toEqual(["data-demo-db-0", "demo-uploads"]);

    // A revision above the deployed one whose data is not a release.
    const corrupt = "sh.helm.release.v1.demo.v2";
    await admin.create({
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: corrupt,
        namespace: ns,
        labels: { owner: "helm", name: "demo", status: "deployed", version: "2" },
      },
      type: "helm.sh/release.v1",
      data: { release: Buffer.from("not a release").toString("base64") },
    });
    // Cairn does not watch Secrets; helm-controller's status write after each Helm action is
    // the signal it lists them again. Any change of the HelmRelease stands in for that here.
    await admin.mergePatch(hr, { metadata: { annotations: { "cairn.test/touched": "1" } } });
    const broken = await eventually("Ready=False naming the corrupt Secret", async () => {
      const ready = conditions(await admin.get(appRef())).find((c) => c.type === "Ready");
      return ready?.status === "False" ? ready : undefined;
    });
    expect(broken.reason).toBe("ReleaseUnreadable");
    expect(broken.message).toContain(`Secret ${ns}/${corrupt}`);
    const event = await eventually("a Warning Event about it", async () => {
      const { items } = await admin.list("events.k8s.io/v1", "Event", { namespace: ns });
      return items.find(
        (e) =>
          e["reason"] === "ReleaseUnreadable" &&
          (e["regarding"] as { name?: string }).name === "demo",
      );
    });
    expect(event["type"]).toBe("Warning");
    expect(String(event["note"])).toContain(corrupt);
    expect(cairn?.process?.running).toBe(true);

    await admin.delete({ apiVersion: "v1", kind: "Secret", namespace: ns, name: corrupt });
    await admin.mergePatch(hr, { metadata: { annotations: { "cairn.test/touched": "2" } } });
    await eventually(
      "Ready=True again",
      async () => (isReadyNow(await admin.get(appRef())) ? true : undefined),
      180_000,
    );
  });

  it("releases the lease on SIGTERM", async () => {
    const proc = cairn?.process;
    await cairn?.stop();
    expect(proc?.describeExit()).toMatch(/code 0/);
    const lease = await admin.get({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      namespace: CONTROLLER_NS,
      name: "cairn-controller",
    });
    expect((lease["spec"] as { holderIdentity?: string }).holderIdentity ?? "").toBe("");
  });
});
