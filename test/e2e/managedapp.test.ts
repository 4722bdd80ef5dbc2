// The real controller process (src/main.ts) under the RBAC it ships, against a Flux-managed app
// on the test bed: leader election, informers, and the ManagedApp's Ready condition, version and
// discovery, following the app's health both ways.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { stringify } from "yaml";
import type { KubeClient, KubeObject } from "../../src/kube/client.ts";
import { REPO_ROOT } from "../../testbed/src/binaries.ts";
import { demoFluxObjects, seedDemoRepo } from "../../testbed/src/demo-app.ts";
import { commitFiles, createBareRepo } from "../../testbed/src/git-fixtures.ts";
import { freePort } from "../../testbed/src/ports.ts";
import { ManagedProcess } from "../../testbed/src/process.ts";
import { httpGet } from "../../testbed/src/readiness.ts";
import { createTestNamespace, deleteNamespace, eventually, testClient } from "../support/kube.ts";
import { loadKustomizeBase } from "../support/manifests.ts";
import { apiEndpoint, serviceAccountToken } from "../support/service-account.ts";
import { conditions, isReadyNow, statusOf } from "../support/objects.ts";

// The shipped RBAC under names of its own, so that no other test file's cleanup touches it.
const SUFFIX = "-e2e";
const CONTROLLER_NS = "cairn-e2e";

function renamed(obj: KubeObject): KubeObject {
  const copy = structuredClone(obj) as KubeObject & Record<string, unknown>;
  const meta = copy.metadata as Record<string, unknown>;
  if (copy.kind === "Namespace") meta["name"] = CONTROLLER_NS;
  else {
    if (copy.kind.startsWith("Cluster")) meta["name"] = `${String(meta["name"])}${SUFFIX}`;
    if (meta["namespace"]) meta["namespace"] = CONTROLLER_NS;
  }
  if (copy.kind === "ServiceAccount") meta["name"] = `${String(meta["name"])}${SUFFIX}`;
  const roleRef = copy["roleRef"] as { kind: string; name: string } | undefined;
  if (roleRef?.kind === "ClusterRole") roleRef.name = `${roleRef.name}${SUFFIX}`;
  for (const s of (copy["subjects"] as
    { kind: string; name: string; namespace?: string }[] | undefined) ?? []) {
    if (s.kind === "ServiceAccount") {
      s.name = `${s.name}${SUFFIX}`;
      s.namespace = CONTROLLER_NS;
    }
  }
  return copy;
}

describe("the controller under its shipped RBAC", () => {
  const admin: KubeClient = testClient();
  let ns = "";
  let work: string;
  let proc: ManagedProcess | undefined;
  let healthPort: number;
  let metricsPort: number;
  let rbacObjects: KubeObject[] = [];
  const git = inject("git");

  beforeAll(async () => {
    if (!git) throw new Error("the e2e tier needs the full test bed");
    work = await mkdtemp(join(tmpdir(), "cairn-e2e-"));

    // RBAC as shipped in deploy/ (renamed), and a token for its ServiceAccount.
    const base = loadKustomizeBase(join(REPO_ROOT, "deploy"));
    rbacObjects = base
      .filter((o) =>
        [
          "Namespace",
          "ServiceAccount",
          "ClusterRole",
          "ClusterRoleBinding",
          "Role",
          "RoleBinding",
        ].includes(o.kind),
      )
      .map(renamed);
    for (const obj of rbacObjects) await admin.apply(obj, { force: true });
    const sa = rbacObjects.find((o) => o.kind === "ServiceAccount")?.metadata.name ?? "";
    const token = await serviceAccountToken(admin, CONTROLLER_NS, sa, `${sa}-token`);
    const { server, caFile } = apiEndpoint(inject("kubeconfig"));
    const cluster = { server, "certificate-authority": caFile };
    const kubeconfig = join(work, "cairn.kubeconfig");
    await writeFile(
      kubeconfig,
      stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "tb", cluster }],
        users: [{ name: "cairn", user: { token } }],
        contexts: [{ name: "tb", context: { cluster: "tb", user: "cairn" } }],
        "current-context": "tb",
      }),
      { mode: 0o600 },
    );

    // A Flux-managed app: GitRepository → Kustomization → HelmRelease of the demo chart.
    ns = await createTestNamespace(admin, "app");
    const repo = `${ns}-config`;
    await seedDemoRepo(git.root, repo, inject("helmRepoUrl"));
    for (const obj of demoFluxObjects(ns, `${git.url}/${repo}.git`)) await admin.create(obj);
    await admin.create({
      apiVersion: "cairn.dev/v1alpha1",
      kind: "ManagedApp",
      metadata: { name: "demo", namespace: ns },
      spec: {
        gitPath: "apps/demo/release.yaml",
        kustomizationRef: { name: "apps" },
        helmReleaseRef: { name: "demo" },
      },
    });

    healthPort = await freePort();
    metricsPort = await freePort();
    proc = ManagedProcess.start({
      name: "cairn",
      logFile: join(work, "cairn.log"),
      commandLine: {
        command: process.execPath,
        args: [
          join(REPO_ROOT, "src/main.ts"),
          `--kubeconfig=${kubeconfig}`,
          `--namespace=${CONTROLLER_NS}`,
          "--pod-name=cairn-e2e-0",
          `--health-addr=127.0.0.1:${healthPort}`,
          `--metrics-addr=127.0.0.1:${metricsPort}`,
          "--lease-duration-seconds=6",
          "--renew-deadline-seconds=4",
          "--retry-period-seconds=1",
        ],
      },
    });
  }, 180_000);

  afterAll(async () => {
    await proc?.stop();
    if (ns) await deleteNamespace(admin, ns);
    for (const obj of [...rbacObjects].reverse()) {
      await admin
        .delete({
          apiVersion: obj.apiVersion,
          kind: obj.kind,
          name: obj.metadata.name ?? "",
          namespace: obj.metadata.namespace,
        })
        .catch(() => undefined);
    }
    await rm(work, { recursive: true, force: true });
  });

  const appRef = () => ({
    apiVersion: "cairn.dev/v1alpha1",
    kind: "ManagedApp",
    namespace: ns,
    name: "demo",
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
        if (!proc?.running)
          throw new Error(
            `controller ${proc?.describeExit() ?? "missing"}:\n${proc?.logTail() ?? ""}`,
          );
        const lease = await admin.get(leaseRef).catch(() => undefined);
        return (lease?.["spec"] as { holderIdentity?: string } | undefined)?.holderIdentity ===
          "cairn-e2e-0"
          ? true
          : undefined;
      },
      60_000,
    );
    await eventually(
      "/readyz 200 with informers synced",
      async () => {
        const res = await httpGet({
          url: `http://127.0.0.1:${healthPort}/readyz`,
          accept: () => true,
        }).catch(() => undefined);
        return res?.status === 200 && /controllers running/.test(res.body) ? true : undefined;
      },
      60_000,
    );
    const metrics = await httpGet({
      url: `http://127.0.0.1:${metricsPort}/metrics`,
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
      metadata: { name: "elsewhere", namespace: ns },
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

  it("discovers a plain Kustomization app (no HelmRelease) from the Kustomization's inventory", async () => {
    if (!git) throw new Error("no git server");
    const repo = `${ns}-plain`;
    const manifest = stringify({
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
                image: "registry.invalid/notes:1",
                volumeMounts: [{ name: "d", mountPath: "/d" }],
              },
            ],
            volumes: [{ name: "d", persistentVolumeClaim: { claimName: "notes-data" } }],
          },
        },
      },
    });
    const claim = stringify({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "notes-data" },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
    });
    await createBareRepo(git.root, repo);
    await commitFiles(
      git.root,
      repo,
      { "apps/notes/deployment.yaml": manifest, "apps/notes/pvc.yaml": claim },
      "Add notes",
    );
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
      metadata: { name: "notes", namespace: ns },
      spec: { gitPath: "apps/notes/deployment.yaml", kustomizationRef: { name: "notes" } },
    });
    const app = await eventually(
      "the plain app Ready",
      async () => {
        const a = await admin.get({ ...appRef(), name: "notes" });
        return isReadyNow(a) ? a : undefined;
      },
      120_000,
    );
    const status = statusOf<{
      discovery: {
        pvcs: { name: string }[];
        workloads: { kind: string; name: string }[];
        source: { kind: string; name: string };
      };
    }>(app);
    expect(status.discovery).toEqual({
      pvcs: [{ namespace: ns, name: "notes-data" }],
      workloads: [{ kind: "Deployment", namespace: ns, name: "notes" }],
      source: { kind: "Kustomization", namespace: ns, name: "notes" },
    });
  });

  it("releases the lease on SIGTERM", async () => {
    await proc?.stop();
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
