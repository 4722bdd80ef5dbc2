// The demo app as Flux deploys it on the test bed: a Git repository holding a HelmRepository and
// a HelmRelease of the demo chart, the GitRepository + Kustomization that apply it, and (for
// the request tests and the demo) a Git write credential and the ManagedApp that Cairn manages.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { KubeClient, KubeObject } from "../../src/kube/client.ts";
import { isKubeError } from "../../src/kube/errors.ts";
import { REPO_ROOT } from "./binaries.ts";
import type { GitAccess } from "./cluster.ts";
import { commitFiles, createBareRepo, readFileAt } from "./git-fixtures.ts";
import { eventually } from "./poll.ts";

export const DEMO_RELEASE_PATH = "apps/demo/release.yaml";

/** Creates `<gitRoot>/<repo>.git` with the demo release pointing at the given Helm repository. */
export async function seedDemoRepo(
  gitRoot: string,
  repo: string,
  helmRepoUrl: string,
): Promise<void> {
  await createBareRepo(gitRoot, repo);
  const release = await readFile(
    join(REPO_ROOT, "testbed/fixtures/repos/demo-app", DEMO_RELEASE_PATH),
    "utf8",
  );
  await commitFiles(
    gitRoot,
    repo,
    { [DEMO_RELEASE_PATH]: release.replaceAll("{{HELM_URL}}", helmRepoUrl) },
    "Add demo",
  );
}

/** GitRepository `config` and Kustomization `apps` that apply the demo folder into namespace. */
export function demoFluxObjects(namespace: string, repoUrl: string): KubeObject[] {
  return [
    {
      apiVersion: "source.toolkit.fluxcd.io/v1",
      kind: "GitRepository",
      metadata: { name: "config", namespace },
      spec: { url: repoUrl, ref: { branch: "main" }, interval: "1m" },
    },
    {
      apiVersion: "kustomize.toolkit.fluxcd.io/v1",
      kind: "Kustomization",
      metadata: { name: "apps", namespace },
      spec: {
        sourceRef: { kind: "GitRepository", name: "config" },
        path: "./apps/demo",
        prune: true,
        targetNamespace: namespace,
        interval: "1m",
        timeout: "2m",
      },
    },
  ];
}

/**
 * The file of a HelmRelease `demo` that takes its chart from OCIRepository `chartName` through
 * spec.chartRef, as Flux documents it: the OCIRepository at `tag` of `url` (plain HTTP), its Helm
 * chart layer copied. `values` are the lines below the HelmRelease's `values:`, indented by four.
 */
export function ociChartRelease(
  chartName: string,
  url: string,
  tag: string,
  values: readonly string[],
): string {
  return [
    "apiVersion: source.toolkit.fluxcd.io/v1",
    "kind: OCIRepository",
    "metadata:",
    `  name: ${chartName}`,
    "spec:",
    "  interval: 1m",
    `  url: "${url}"`,
    "  insecure: true",
    "  ref:",
    `    tag: "${tag}"`,
    "  layerSelector:",
    "    mediaType: application/vnd.cncf.helm.chart.content.v1.tar+gzip",
    "    operation: copy",
    "---",
    "apiVersion: helm.toolkit.fluxcd.io/v2",
    "kind: HelmRelease",
    "metadata:",
    "  name: demo",
    "spec:",
    "  interval: 1m",
    "  chartRef:",
    "    kind: OCIRepository",
    `    name: ${chartName}`,
    "  values:",
    ...values,
    "",
  ].join("\n");
}

/** A Secret with the test Git server's write credential, as a GitRepository secretRef expects it. */
export function gitWriteSecret(
  namespace: string,
  name: string,
  username: string,
  password: string,
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace },
    stringData: { username, password },
  };
}

/** Creates a namespace and waits until it is ready for pods (KCM created its default ServiceAccount). */
export async function createNamespace(client: KubeClient, name: string): Promise<void> {
  await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
  await eventually(`ServiceAccount ${name}/default`, async () => {
    try {
      return await client.get({
        apiVersion: "v1",
        kind: "ServiceAccount",
        namespace: name,
        name: "default",
      });
    } catch (err) {
      if (isKubeError(err, "NotFound")) return undefined;
      throw err;
    }
  });
}

export interface ManagedDemoOptions {
  /** An existing namespace; the app, its Flux objects and the credential go there. */
  readonly namespace: string;
  /** The bare repository to create on the Git server. */
  readonly repo: string;
  /** Merged over the defaults (snapshots on, write credential, short health timeout). */
  readonly spec?: Record<string, unknown>;
  /**
   * Helm's own wait timeout for the release; a broken chart then fails in seconds instead of
   * helm-controller's default 5 minutes.
   */
  readonly helmTimeout?: string;
  /** Labels of the ManagedApp, e.g. the selector of the controller that is to manage it. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Replicas of the chart's workloads (the chart's default is 1 each). */
  readonly replicas?: { readonly web?: number; readonly db?: number };
  /**
   * The release file (DEMO_RELEASE_PATH) to seed instead of the demo release from the Helm
   * repository, e.g. ociChartRelease's.
   */
  readonly release?: string;
}

export interface ManagedDemo {
  readonly namespace: string;
  readonly repo: string;
  readonly repoUrl: string;
}

/**
 * The demo app under Cairn: its own Git repository seeded with the demo HelmRelease (a
 * StatefulSet with a volumeClaimTemplate and a Deployment with a PVC), the GitRepository and
 * Kustomization that apply it, a write credential for Cairn, and the ManagedApp `demo`.
 */
export async function installManagedDemo(
  admin: KubeClient,
  git: GitAccess,
  helmRepoUrl: string,
  opts: ManagedDemoOptions,
): Promise<ManagedDemo> {
  const { namespace, repo } = opts;
  if (opts.release === undefined) await seedDemoRepo(git.root, repo, helmRepoUrl);
  else {
    await createBareRepo(git.root, repo);
    await commitFiles(git.root, repo, { [DEMO_RELEASE_PATH]: opts.release }, "Add demo");
  }
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
  const replicas = (["web", "db"] as const).flatMap((name) => {
    const n = opts.replicas?.[name];
    return n === undefined ? [] : [[name, n] as const];
  });
  if (replicas.length > 0) {
    // The release's values end the file; each workload's replicas go after them.
    const release = await readFileAt(git.root, repo, DEMO_RELEASE_PATH);
    const values = replicas.map(([name, n]) => `    ${name}:\n      replicas: ${String(n)}\n`);
    await commitFiles(
      git.root,
      repo,
      { [DEMO_RELEASE_PATH]: `${release.trimEnd()}\n${values.join("")}` },
      "More replicas",
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
