// The demo app as the request tests use it: a fresh namespace with the managed demo app of
// testbed/src/demo-app.ts (its own Git repository seeded with the demo HelmRelease, the
// GitRepository + Kustomization that apply it, a write credential for Cairn, and the ManagedApp).
import type { KubeClient } from "../../src/kube/client.ts";
import type { GitAccess } from "../../testbed/src/cluster.ts";
import { installManagedDemo, type ManagedDemo } from "../../testbed/src/demo-app.ts";
import { createTestNamespace } from "./kube.ts";

export { chartVersionInGit } from "../../testbed/src/demo-app.ts";

export type DemoApp = ManagedDemo;

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
  /** Replicas of the chart's workloads (the chart's default is 1 each). */
  readonly replicas?: { readonly web?: number; readonly db?: number };
}

export async function setUpDemoApp(
  admin: KubeClient,
  git: GitAccess,
  helmRepoUrl: string,
  opts: DemoOptions,
): Promise<DemoApp> {
  const namespace = await createTestNamespace(admin, opts.prefix);
  return installManagedDemo(admin, git, helmRepoUrl, {
    namespace,
    repo: `${namespace}-config`,
    ...(opts.spec ? { spec: opts.spec } : {}),
    ...(opts.helmTimeout ? { helmTimeout: opts.helmTimeout } : {}),
    labels: opts.labels,
    ...(opts.replicas ? { replicas: opts.replicas } : {}),
  });
}
