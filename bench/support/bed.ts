// The full test bed a bench runs on: its own, or the running one CAIRN_TESTBED_KUBECONFIG names
// (`npm run testbed -- up --name perf`), and the API server's metrics read with the admin's
// client certificate.
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { KubeClient, type KubeObject } from "../../src/kube/client.ts";
import { isKubeError } from "../../src/kube/errors.ts";
import { LocalCairn, type LocalCairnOptions } from "../../testbed/src/cairn.ts";
import { Cluster, type GitAccess } from "../../testbed/src/cluster.ts";
import { httpGet } from "../../testbed/src/readiness.ts";
import { ClusterState } from "../../testbed/src/state.ts";

export interface BenchBed {
  readonly kubeconfig: string;
  readonly admin: KubeClient;
  readonly git: GitAccess;
  readonly helmRepoUrl: string;
  /** The API server's /metrics text. */
  readonly apiMetrics: () => Promise<string>;
  /** Stops the bed if the bench started it. */
  readonly stop: () => Promise<void>;
}

export async function fullBed(log: (line: string) => void): Promise<BenchBed> {
  const reuse = process.env["CAIRN_TESTBED_KUBECONFIG"];
  let cluster: Cluster | undefined;
  let kubeconfig: string;
  let dir: string;
  let git: GitAccess;
  let helmRepoUrl: string;
  if (reuse) {
    kubeconfig = reuse;
    dir = dirname(reuse);
    const state = ClusterState.parse(JSON.parse(await readFile(join(dir, "cluster.json"), "utf8")));
    if (!state.git || !state.helmRepoUrl) throw new Error(`${reuse}: not a full test bed`);
    git = state.git;
    helmRepoUrl = state.helmRepoUrl;
  } else {
    log("starting a full test bed …");
    cluster = await Cluster.start({ profile: "full", log });
    kubeconfig = cluster.kubeconfig;
    dir = cluster.dir;
    if (!cluster.git || !cluster.helmRepoUrl)
      throw new Error("the full test bed has no git server");
    git = cluster.git;
    helmRepoUrl = cluster.helmRepoUrl;
  }
  const admin = KubeClient.fromKubeconfigFile(kubeconfig);
  const tls = {
    ca: await readFile(join(dir, "ca.crt")),
    cert: await readFile(join(dir, "admin.crt")),
    key: await readFile(join(dir, "admin.key")),
  };
  return {
    kubeconfig,
    admin,
    git,
    helmRepoUrl,
    apiMetrics: async () =>
      (await httpGet({ url: `${admin.server}/metrics`, ...tls, accept: () => true }, 10_000)).body,
    stop: async () => {
      await cluster?.stop();
    },
  };
}

/** The controller as it ships, on the bed, in the namespace `cairn<suffix>`. */
export async function benchController(
  bed: BenchBed,
  opts: Omit<LocalCairnOptions, "admin" | "clusterKubeconfig"> & { readonly suffix: string },
): Promise<LocalCairn> {
  // A run just before this one on the same bed deleted the controller's namespace.
  await namespaceGone(bed.admin, `cairn${opts.suffix}`);
  return LocalCairn.prepare({ admin: bed.admin, clusterKubeconfig: bed.kubeconfig, ...opts });
}

/** Everything a bench made, best effort (also after an error or Ctrl-C): the controller and its
 *  namespace and RBAC, the bench's namespace, its cluster-scoped objects, and the bed if the
 *  bench started it. */
export async function tearDown(
  bed: BenchBed,
  cairn: LocalCairn,
  namespace: string,
  clusterObjects: readonly KubeObject[],
): Promise<void> {
  await cairn.cleanup().catch(() => undefined);
  await bed.admin
    .delete({ apiVersion: "v1", kind: "Namespace", name: namespace })
    .catch(() => undefined);
  for (const obj of clusterObjects)
    await bed.admin
      .delete({ apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name ?? "" })
      .catch(() => undefined);
  await bed.stop();
}

/** A namespace a previous run on the same bed deleted must be gone before it is made again
 *  (the API refuses new objects in a namespace being terminated); one that stays is reused. */
async function namespaceGone(admin: KubeClient, name: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      const ns = await admin.get({ apiVersion: "v1", kind: "Namespace", name });
      if (!ns.metadata["deletionTimestamp"]) return;
    } catch (err) {
      if (isKubeError(err, "NotFound")) return;
      throw err;
    }
    if (Date.now() > deadline) throw new Error(`namespace ${name} still there after 2 minutes`);
    await delay(1_000);
  }
}

/** A FlowSchema matching only the controller's ServiceAccount, so that the API server counts
 *  its requests apart (apiserver_request_total has no user label). */
export function controllerFlowSchema(
  name: string,
  namespace: string,
  serviceAccount: string,
): KubeObject {
  return {
    apiVersion: "flowcontrol.apiserver.k8s.io/v1",
    kind: "FlowSchema",
    metadata: { name },
    spec: {
      priorityLevelConfiguration: { name: "workload-high" },
      matchingPrecedence: 150,
      distinguisherMethod: { type: "ByUser" },
      rules: [
        {
          subjects: [
            { kind: "ServiceAccount", serviceAccount: { namespace, name: serviceAccount } },
          ],
          resourceRules: [
            {
              verbs: ["*"],
              apiGroups: ["*"],
              resources: ["*"],
              namespaces: ["*"],
              clusterScope: true,
            },
          ],
          nonResourceRules: [{ verbs: ["*"], nonResourceURLs: ["*"] }],
        },
      ],
    },
  };
}

/** The requests the API server dispatched under one FlowSchema, from its /metrics text. */
export function dispatchedUnder(metrics: string, flowSchema: string): number {
  let sum = 0;
  for (const line of metrics.split("\n"))
    if (
      line.startsWith("apiserver_flowcontrol_dispatched_requests_total{") &&
      line.includes(`flow_schema="${flowSchema}"`)
    )
      sum += Number(line.split(" ").at(-1));
  return sum;
}
