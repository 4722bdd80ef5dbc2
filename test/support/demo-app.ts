// The demo app as the request tests use it: a namespace, its own Git repository seeded with the
// demo HelmRelease (a StatefulSet with a volumeClaimTemplate and a Deployment with a PVC), the
// GitRepository + Kustomization that apply it, a write credential for Cairn, and the ManagedApp.
import type { KubeClient } from "../../src/kube/client.ts";
import type { GitAccess } from "../../testbed/src/cluster.ts";
import { demoFluxObjects, DEMO_RELEASE_PATH, seedDemoRepo } from "../../testbed/src/demo-app.ts";
import { commitFiles, readFileAt } from "../../testbed/src/git-fixtures.ts";
import { gitWriteSecret } from "./controller.ts";
import { createTestNamespace } from "./kube.ts";

export interface DemoApp {
  readonly namespace: string;
  readonly repo: string;
  readonly repoUrl: string;
}

export interface DemoOptions {
  readonly prefix: string;
  /** Merged over the defaults (snapshots on, write credential, short health timeout). */
  readonly spec?: Record<string, unknown>;
  /**
   * Helm's own wait timeout for the release; a broken chart then fails in seconds instead of
   * helm-controller's default 5 minutes.
   */
  readonly helmTimeout?: string;
  /** Labels of the ManagedApp: the test controller's selector (TestController.labels). */
  readonly labels: Readonly<Record<string, string>>;
}

export async function setUpDemoApp(
  admin: KubeClient,
  git: GitAccess,
  helmRepoUrl: string,
  opts: DemoOptions,
): Promise<DemoApp> {
  const namespace = await createTestNamespace(admin, opts.prefix);
  const repo = `${namespace}-config`;
  await seedDemoRepo(git.root, repo, helmRepoUrl);
  if (opts.helmTimeout) {
    const release = await readFileAt(git.root, repo, DEMO_RELEASE_PATH);
    await commitFiles(
      git.root,
      repo,
      {
        [DEMO_RELEASE_PATH]: release.replace(
          "  interval: 1m\n  chart:",
          `  interval: 1m\n  timeout: ${opts.helmTimeout}\n  chart:`,
        ),
      },
      "Shorter Helm timeout",
    );
  }
  const repoUrl = `${git.url}/${repo}.git`;
  for (const obj of demoFluxObjects(namespace, repoUrl)) await admin.create(obj);
  await admin.create(gitWriteSecret(namespace, "git-write", git.username, git.password));
  await admin.create({
    apiVersion: "cairn.dev/v1alpha1",
    kind: "ManagedApp",
    metadata: { name: "demo", namespace, labels: { ...opts.labels } },
    spec: {
      gitPath: DEMO_RELEASE_PATH,
      kustomizationRef: { name: "apps" },
      helmReleaseRef: { name: "demo" },
      volumeSnapshots: { enabled: true },
      git: { secretRef: { name: "git-write" } },
      timeouts: { health: "45s" },
      ...opts.spec,
    },
  });
  return { namespace, repo, repoUrl };
}

/** The chart version the demo release file holds on main. */
export async function chartVersionInGit(git: GitAccess, repo: string): Promise<string | undefined> {
  return /version: "([^"]+)"/.exec(await readFileAt(git.root, repo, DEMO_RELEASE_PATH))?.[1];
}
