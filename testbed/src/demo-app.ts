// The demo app as Flux deploys it on the test bed: a Git repository holding a HelmRepository and
// a HelmRelease of the demo chart, and the GitRepository + Kustomization that apply it.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { KubeObject } from "../../src/kube/client.ts";
import { REPO_ROOT } from "./binaries.ts";
import { commitFiles, createBareRepo } from "./git-fixtures.ts";

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
