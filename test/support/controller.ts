// The real controller process (src/main.ts) for e2e tests, running under the RBAC Cairn ships
// (deploy/, renamed with a suffix so that test files never share or delete each other's), with
// a token of its own ServiceAccount: what the controller may do in a test is what it may do in a
// cluster. Also restarts (for leader and crash tests) and the test app's Git write credential.
// The implementation is the harness's (testbed/src/cairn.ts), which the demo runs as well.
import type { KubeClient } from "../../src/kube/client.ts";
import { LocalCairn } from "../../testbed/src/cairn.ts";

export { gitWriteSecret } from "../../testbed/src/demo-app.ts";

export interface ControllerOptions {
  readonly admin: KubeClient;
  /** The test cluster's admin kubeconfig (inject("kubeconfig")). */
  readonly clusterKubeconfig: string;
  /** Makes the RBAC objects' names unique to the test file, e.g. "-upgrade". */
  readonly suffix: string;
  readonly extraArgs?: readonly string[];
  /** Leader election on, as deployed (LocalCairnOptions.leaderElect). */
  readonly leaderElect?: boolean;
}

export const TestController = {
  /**
   * Installs the renamed RBAC and writes a kubeconfig with the ServiceAccount's token. The
   * controller selects ManagedApps by the label cairn.dev/test=<its namespace> (labels): test
   * files run at the same time on one cluster, each with its own controller, and each must act
   * only on its own apps. Put the labels on every ManagedApp the test creates.
   */
  prepare: (opts: ControllerOptions): Promise<LocalCairn> =>
    LocalCairn.prepare({ ...opts, labels: { "cairn.dev/test": `cairn${opts.suffix}` } }),
};
export type TestController = LocalCairn;
