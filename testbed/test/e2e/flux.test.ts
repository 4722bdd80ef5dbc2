// Real Flux on the test bed: a GitRepository and Kustomization from the local git server apply a
// HelmRelease from the local Helm repository; real Helm release Secrets appear; a pushed version
// bump upgrades the release; a push with wrong credentials is refused.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { KubeClient, KubeObject } from "../../../src/kube/client.ts";
import { demoFluxObjects, seedDemoRepo } from "../../src/demo-app.ts";
import { pushEdit, remoteHead } from "../../../test/support/git.ts";
import {
  createTestNamespace,
  deleteNamespace,
  eventually,
  testClient,
} from "../../../test/support/kube.ts";
import { isReadyNow, requestReconcile, statusOf } from "../../../test/support/objects.ts";

const GIT_REPO = { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "GitRepository" };
const KUSTOMIZATION = { apiVersion: "kustomize.toolkit.fluxcd.io/v1", kind: "Kustomization" };
const HELM_RELEASE = { apiVersion: "helm.toolkit.fluxcd.io/v2", kind: "HelmRelease" };

interface HelmReleaseStatus {
  history: { chartVersion: string; status: string; version: number }[];
}

describe("Flux with the local git server and Helm repository", () => {
  let client: KubeClient;
  let ns: string;
  let repoUrl: string;
  const git = inject("git");
  const ref = (kind: { apiVersion: string; kind: string }, name: string) => ({
    ...kind,
    namespace: ns,
    name,
  });

  async function releaseSecrets(): Promise<Map<string, string>> {
    const { items } = await client.list("v1", "Secret", {
      namespace: ns,
      labelSelector: "owner=helm,name=demo",
    });
    return new Map(items.map((s) => [s.metadata.name ?? "", s.metadata.labels?.["status"] ?? ""]));
  }

  beforeAll(async () => {
    if (!git) throw new Error("the e2e tier needs the full test bed (git server missing)");
    client = testClient();
    ns = await createTestNamespace(client, "flux");
    const repo = `${ns}-config`;
    await seedDemoRepo(git.root, repo, inject("helmRepoUrl"));
    repoUrl = `${git.url}/${repo}.git`;
  });
  afterAll(async () => {
    await deleteNamespace(client, ns);
  });

  it("applies a folder from Git and installs the chart with real Helm release Secrets", async () => {
    for (const obj of demoFluxObjects(ns, repoUrl)) await client.create(obj);

    const ks = await eventually(
      "the Kustomization Ready",
      async () => {
        const k = await client.get(ref(KUSTOMIZATION, "apps"));
        return isReadyNow(k) ? k : undefined;
      },
      120_000,
    );
    const head = await remoteHead(repoUrl);
    expect(statusOf<{ lastAppliedRevision: string }>(ks).lastAppliedRevision).toBe(
      `main@sha1:${head}`,
    );
    const inventory = statusOf<{ inventory: { entries: { id: string }[] } }>(
      ks,
    ).inventory?.entries.map((e) => e.id);
    expect(inventory).toEqual(
      expect.arrayContaining([
        `${ns}_demo_helm.toolkit.fluxcd.io_HelmRelease`,
        `${ns}_demo_source.toolkit.fluxcd.io_HelmRepository`,
      ]),
    );

    const hr = await eventually(
      "the HelmRelease Ready",
      async () => {
        const h = await client.get(ref(HELM_RELEASE, "demo"));
        return isReadyNow(h) ? h : undefined;
      },
      180_000,
    );
    expect(statusOf<HelmReleaseStatus>(hr).history?.[0]).toMatchObject({
      chartVersion: "1.0.0",
      status: "deployed",
      version: 1,
    });
    expect(await releaseSecrets()).toEqual(new Map([["sh.helm.release.v1.demo.v1", "deployed"]]));

    // The chart's StatefulSet got its claim bound through the CSI simulator.
    const pvc = await eventually("the StatefulSet's PVC Bound", async () => {
      const p = await client.get({
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        namespace: ns,
        name: "data-demo-db-0",
      });
      return statusOf<{ phase: string }>(p).phase === "Bound" ? p : undefined;
    });
    expect((pvc["spec"] as { storageClassName?: string }).storageClassName).toBe("csi-sim");
  });

  it("upgrades the release when a pushed commit bumps the chart version", async () => {
    if (!git) throw new Error("no git server");
    const sha = await pushEdit(
      repoUrl,
      { username: git.username, password: git.password },
      "apps/demo/release.yaml",
      (text) => text.replace('version: "1.0.0"', 'version: "1.1.0"'),
      "Bump demo to 1.1.0",
    );
    await requestReconcile(client, ref(GIT_REPO, "config"));
    await eventually("the GitRepository at the new commit", async () => {
      const g = await client.get(ref(GIT_REPO, "config"));
      return statusOf<{ artifact: { revision: string } }>(g).artifact?.revision ===
        `main@sha1:${sha}`
        ? true
        : undefined;
    });
    await requestReconcile(client, ref(KUSTOMIZATION, "apps"));
    const hr = await eventually(
      "the HelmRelease upgraded to 1.1.0",
      async () => {
        const h: KubeObject = await client.get(ref(HELM_RELEASE, "demo"));
        const latest = statusOf<HelmReleaseStatus>(h).history?.[0];
        return isReadyNow(h) && latest?.chartVersion === "1.1.0" ? h : undefined;
      },
      180_000,
    );
    expect(statusOf<HelmReleaseStatus>(hr).history?.[0]).toMatchObject({
      status: "deployed",
      version: 2,
    });
    expect(await releaseSecrets()).toEqual(
      new Map([
        ["sh.helm.release.v1.demo.v1", "superseded"],
        ["sh.helm.release.v1.demo.v2", "deployed"],
      ]),
    );
  });

  it("refuses a push with wrong or read-only credentials and keeps the branch as it was", async () => {
    if (!git) throw new Error("no git server");
    const before = await remoteHead(repoUrl);
    const bump = (text: string) => text.replace('version: "1.1.0"', 'version: "2.0.0"');
    await expect(
      pushEdit(
        repoUrl,
        { username: git.username, password: "wrong" },
        "apps/demo/release.yaml",
        bump,
        "Bad push",
      ),
    ).rejects.toThrow(/401|Authentication failed|could not read Username/);
    await expect(
      pushEdit(
        repoUrl,
        { username: git.readOnlyUsername, password: git.readOnlyPassword },
        "apps/demo/release.yaml",
        bump,
        "Read-only push",
      ),
    ).rejects.toThrow(/403/);
    expect(await remoteHead(repoUrl)).toBe(before);
  });
});
