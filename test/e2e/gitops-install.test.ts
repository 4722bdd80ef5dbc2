// Cairn installed the GitOps way, by the test bed's real Flux: a fleet repository laid out as the
// README says (its kustomization.yaml, read from the README, next to copies of crds/ and
// deploy/) applied by a Kustomization, and the chart through a HelmRepository and a HelmRelease.
// The Deployments land on kwok nodes, which run no containers: what is tested is that Flux
// builds and applies the install and that its health checks pass, not Cairn itself (every
// other e2e test runs the controller under deploy/'s RBAC).
//
// The install uses deploy/'s names (Namespace cairn-system, ClusterRoles cairn-*), which no other
// e2e file uses; the Kustomization does not prune, so removing it never deletes the CRDs every
// test shares. The test deletes only what did not exist before it.
import { randomBytes } from "node:crypto";
import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { KubeClient, KubeObject, ObjectRef } from "../../src/kube/client.ts";
import { isKubeError } from "../../src/kube/errors.ts";
import { REPO_ROOT } from "../../testbed/src/binaries.ts";
import { createBareRepo } from "../../testbed/src/git-fixtures.ts";
import { packageCharts, startHelmRepo, type HelmRepo } from "../../testbed/src/helm-repo.ts";
import { loadKustomizeBase } from "../support/manifests.ts";
import { createTestNamespace, deleteNamespace, eventually, testClient } from "../support/kube.ts";
import { readmeGitopsKustomization } from "../support/readme.ts";

const FLEET_PATH = "clusters/prod/cairn";
const IMAGE = "registry.example.com/cairn:0.1.0";

let admin: KubeClient;
let namespace = "";
let work = "";
let helmRepo: HelmRepo | undefined;
/** Objects of deploy/ the install created (they did not exist before), removed at the end. */
const createdByInstall: ObjectRef[] = [];

const refOf = (o: KubeObject): ObjectRef => ({
  apiVersion: o.apiVersion,
  kind: o.kind,
  name: o.metadata.name ?? "",
  namespace: o.metadata.namespace,
});

async function find(ref: ObjectRef): Promise<KubeObject | undefined> {
  try {
    return await admin.get(ref);
  } catch (err) {
    if (isKubeError(err, "NotFound")) return undefined;
    throw err;
  }
}

function readyCondition(obj: KubeObject | undefined) {
  const status = obj?.["status"] as
    | { conditions?: { type: string; status: string; reason?: string; message?: string }[] }
    | undefined;
  return status?.conditions?.find((c) => c.type === "Ready");
}

/** Waits until a Flux object is Ready=True; fails at once with its message when it stalls. */
async function fluxReady(ref: ObjectRef, timeoutMs: number): Promise<KubeObject> {
  return eventually(
    `${ref.kind} ${ref.namespace ?? ""}/${ref.name} to be Ready`,
    async () => {
      const obj = await find(ref);
      const ready = readyCondition(obj);
      if (ready?.status === "False" && /Failed|Stalled|BuildFailed/.test(ready.reason ?? "")) {
        throw new Error(`${ref.kind} ${ref.name}: ${ready.reason ?? ""}: ${ready.message ?? ""}`);
      }
      return ready?.status === "True" ? obj : undefined;
    },
    timeoutMs,
  );
}

function container(deployment: KubeObject | undefined) {
  return (
    deployment?.["spec"] as
      { template: { spec: { containers: { image: string; args?: string[] }[] } } } | undefined
  )?.template.spec.containers[0];
}

beforeAll(async () => {
  admin = testClient();
  namespace = await createTestNamespace(admin, "gitops");
  work = await mkdtemp(join(tmpdir(), "cairn-gitops-"));
  // What deploy/ would create that is not there yet: removed after the test.
  for (const obj of loadKustomizeBase(join(REPO_ROOT, "deploy"))) {
    const ref = refOf(obj);
    if (!(await find(ref))) createdByInstall.push(ref);
  }
});

afterAll(async () => {
  await helmRepo?.close();
  if (namespace) {
    // The HelmRelease first: helm-controller uninstalls the release while it can still read it.
    for (const ref of [
      { apiVersion: "helm.toolkit.fluxcd.io/v2", kind: "HelmRelease", name: "cairn", namespace },
      {
        apiVersion: "kustomize.toolkit.fluxcd.io/v1",
        kind: "Kustomization",
        name: "cairn",
        namespace,
      },
    ]) {
      await admin.delete(ref).catch(() => undefined);
      await eventually(`${ref.kind} ${ref.name} to be deleted`, async () =>
        (await find(ref)) ? undefined : true,
      );
    }
    await deleteNamespace(admin, namespace);
  }
  for (const ref of [...createdByInstall].reverse()) await admin.delete(ref).catch(() => undefined);
  if (work) await rm(work, { recursive: true, force: true });
});

describe("the README's GitOps install under Flux", () => {
  it("kustomize-controller applies crds/ and deploy/ from Git, the README's image included", async () => {
    const git = inject("git");
    if (!git) throw new Error("the test bed has no git server");
    // The fleet repository, laid out as the README says.
    const fleet = join(work, "fleet");
    const dir = join(fleet, FLEET_PATH);
    await mkdir(dir, { recursive: true });
    await cp(join(REPO_ROOT, "crds"), join(dir, "crds"), { recursive: true });
    await cp(join(REPO_ROOT, "deploy"), join(dir, "deploy"), { recursive: true });
    await writeFile(join(dir, "kustomization.yaml"), readmeGitopsKustomization());
    const repo = `${namespace}-fleet`;
    await createBareRepo(git.root, repo, fleet);

    await admin.create({
      apiVersion: "source.toolkit.fluxcd.io/v1",
      kind: "GitRepository",
      metadata: { name: "fleet", namespace },
      spec: { url: `${git.url}/${repo}.git`, ref: { branch: "main" }, interval: "1m" },
    });
    await admin.create({
      apiVersion: "kustomize.toolkit.fluxcd.io/v1",
      kind: "Kustomization",
      metadata: { name: "cairn", namespace },
      spec: {
        sourceRef: { kind: "GitRepository", name: "fleet" },
        path: `./${FLEET_PATH}`,
        // Never delete the CRDs every other test shares.
        prune: false,
        // Health-check everything applied: CRDs established, the Deployment available.
        wait: true,
        interval: "1m",
        timeout: "3m",
      },
    });
    const ks = await fluxReady(
      {
        apiVersion: "kustomize.toolkit.fluxcd.io/v1",
        kind: "Kustomization",
        name: "cairn",
        namespace,
      },
      240_000,
    );

    const inventory = (
      (ks["status"] as { inventory?: { entries?: { id: string }[] } }).inventory?.entries ?? []
    ).map((e) => e.id);
    for (const crd of ["managedapps", "upgraderequests", "rollbackrequests"]) {
      expect(inventory).toContain(
        `_${crd}.cairn.dev_apiextensions.k8s.io_CustomResourceDefinition`,
      );
    }
    expect(inventory).toContain("cairn-system_cairn-controller_apps_Deployment");
    expect(inventory).toContain("_cairn-controller_rbac.authorization.k8s.io_ClusterRole");
    // crds/examples is not part of the install.
    expect(
      inventory.filter((id) => /_cairn\.dev_(ManagedApp|UpgradeRequest|RollbackRequest)$/.test(id)),
    ).toEqual([]);

    const deployment = await find({
      apiVersion: "apps/v1",
      kind: "Deployment",
      name: "cairn-controller",
      namespace: "cairn-system",
    });
    expect(container(deployment)?.image).toBe(IMAGE);
  });

  it("helm-controller installs the chart from a HelmRepository through a HelmRelease", async () => {
    // The chart packed as `helm package` would (the crds/ links resolved), served on loopback.
    const charts = join(work, "charts");
    await cp(join(REPO_ROOT, "charts/cairn"), join(charts, "cairn"), {
      recursive: true,
      dereference: true,
    });
    const root = join(work, "helm-repo");
    await mkdir(root, { recursive: true });
    helmRepo = await startHelmRepo({ root });
    await packageCharts(charts, root, helmRepo.url);

    await admin.create({
      apiVersion: "source.toolkit.fluxcd.io/v1",
      kind: "HelmRepository",
      metadata: { name: "cairn", namespace },
      spec: { url: helmRepo.url, interval: "1m" },
    });
    // A release name of its own: the cluster-scoped objects (ClusterRoles) derive from it.
    const release = `cairn-${randomBytes(3).toString("hex")}`;
    await admin.create({
      apiVersion: "helm.toolkit.fluxcd.io/v2",
      kind: "HelmRelease",
      metadata: { name: "cairn", namespace },
      spec: {
        interval: "1m",
        releaseName: release,
        timeout: "3m",
        chart: {
          spec: {
            chart: "cairn",
            version: "0.1.0",
            sourceRef: { kind: "HelmRepository", name: "cairn" },
          },
        },
        values: {
          image: { repository: "registry.example.com/cairn" },
          watchLabelSelector: "team=a",
          podLabels: { team: "a" },
          userRoles: { enabled: false },
        },
      },
    });
    await fluxReady(
      { apiVersion: "helm.toolkit.fluxcd.io/v2", kind: "HelmRelease", name: "cairn", namespace },
      240_000,
    );
    const deployment = await find({
      apiVersion: "apps/v1",
      kind: "Deployment",
      name: `${release}-controller`,
      namespace,
    });
    expect(container(deployment)?.image).toBe(IMAGE);
    expect(container(deployment)?.args).toContain("--watch-label-selector=team=a");
    const role = await find({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      name: `${release}-controller`,
    });
    expect(role?.["rules"]).toEqual(
      loadKustomizeBase(join(REPO_ROOT, "deploy")).find(
        (o) => o.kind === "ClusterRole" && o.metadata.name === "cairn-controller",
      )?.["rules"],
    );
  });
});
