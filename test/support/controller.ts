// The real controller process (src/main.ts) for e2e tests, running under the RBAC Cairn ships
// (deploy/, renamed with a suffix so that test files never share or delete each other's), with
// a token of its own ServiceAccount: what the controller may do in a test is what it may do in a
// cluster. Also restarts (for leader and crash tests) and the test app's Git write credential.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import type { KubeClient, KubeObject } from "../../src/kube/client.ts";
import { REPO_ROOT } from "../../testbed/src/binaries.ts";
import { freePort } from "../../testbed/src/ports.ts";
import { ManagedProcess } from "../../testbed/src/process.ts";
import { httpGet } from "../../testbed/src/readiness.ts";
import { eventually } from "./kube.ts";
import { loadKustomizeBase } from "./manifests.ts";
import { apiEndpoint, serviceAccountToken } from "./service-account.ts";

const RBAC_KINDS = [
  "Namespace",
  "ServiceAccount",
  "ClusterRole",
  "ClusterRoleBinding",
  "Role",
  "RoleBinding",
];

function renamed(obj: KubeObject, suffix: string, controllerNs: string): KubeObject {
  const copy = structuredClone(obj) as KubeObject & Record<string, unknown>;
  const meta = copy.metadata as Record<string, unknown>;
  if (copy.kind === "Namespace") meta["name"] = controllerNs;
  else {
    if (copy.kind.startsWith("Cluster")) meta["name"] = `${String(meta["name"])}${suffix}`;
    if (meta["namespace"]) meta["namespace"] = controllerNs;
  }
  if (copy.kind === "ServiceAccount") meta["name"] = `${String(meta["name"])}${suffix}`;
  const roleRef = copy["roleRef"] as { kind: string; name: string } | undefined;
  if (roleRef?.kind === "ClusterRole") roleRef.name = `${roleRef.name}${suffix}`;
  for (const s of (copy["subjects"] as
    { kind: string; name: string; namespace?: string }[] | undefined) ?? []) {
    if (s.kind === "ServiceAccount") {
      s.name = `${s.name}${suffix}`;
      s.namespace = controllerNs;
    }
  }
  return copy;
}

export interface ControllerOptions {
  readonly admin: KubeClient;
  /** The test cluster's admin kubeconfig (inject("kubeconfig")). */
  readonly clusterKubeconfig: string;
  /** Makes the RBAC objects' names unique to the test file, e.g. "-upgrade". */
  readonly suffix: string;
  readonly extraArgs?: readonly string[];
}

export class TestController {
  readonly namespace: string;
  /**
   * The label this controller selects ManagedApps by (--watch-label-selector): test files run
   * at the same time on one cluster, each with its own controller, and each must act only on
   * its own apps. Put it on every ManagedApp the test creates.
   */
  readonly labels: Readonly<Record<string, string>>;
  readonly work: string;
  readonly kubeconfig: string;
  readonly #admin: KubeClient;
  readonly #rbac: KubeObject[];
  readonly #baseArgs: readonly string[];
  #proc: ManagedProcess | undefined;
  #starts = 0;
  healthPort = 0;
  metricsPort = 0;

  private constructor(
    admin: KubeClient,
    work: string,
    kubeconfig: string,
    ns: string,
    rbac: KubeObject[],
    args: readonly string[],
  ) {
    this.#admin = admin;
    this.work = work;
    this.kubeconfig = kubeconfig;
    this.namespace = ns;
    this.#rbac = rbac;
    this.#baseArgs = args;
    this.labels = { "cairn.dev/test": ns };
  }

  /** Installs the renamed RBAC and writes a kubeconfig with the ServiceAccount's token. */
  static async prepare(opts: ControllerOptions): Promise<TestController> {
    const ns = `cairn${opts.suffix}`;
    const work = await mkdtemp(join(tmpdir(), `cairn${opts.suffix}-`));
    const rbac = loadKustomizeBase(join(REPO_ROOT, "deploy"))
      .filter((o) => RBAC_KINDS.includes(o.kind))
      .map((o) => renamed(o, opts.suffix, ns));
    for (const obj of rbac) await opts.admin.apply(obj, { force: true });
    const sa = rbac.find((o) => o.kind === "ServiceAccount")?.metadata.name ?? "";
    const token = await serviceAccountToken(opts.admin, ns, sa, `${sa}-token`);
    const { server, caFile } = apiEndpoint(opts.clusterKubeconfig);
    const kubeconfig = join(work, "cairn.kubeconfig");
    await writeFile(
      kubeconfig,
      stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "tb", cluster: { server, "certificate-authority": caFile } }],
        users: [{ name: "cairn", user: { token } }],
        contexts: [{ name: "tb", context: { cluster: "tb", user: "cairn" } }],
        "current-context": "tb",
      }),
      { mode: 0o600 },
    );
    return new TestController(opts.admin, work, kubeconfig, ns, rbac, opts.extraArgs ?? []);
  }

  get process(): ManagedProcess | undefined {
    return this.#proc;
  }

  /** Starts the controller (with extra flags, e.g. a failpoint) and waits until it runs its controllers. */
  async start(extraArgs: readonly string[] = []): Promise<void> {
    this.healthPort = await freePort();
    this.metricsPort = await freePort();
    this.#starts++;
    this.#proc = ManagedProcess.start({
      name: "cairn",
      logFile: join(this.work, `cairn-${this.#starts}.log`),
      commandLine: {
        command: process.execPath,
        args: [
          join(REPO_ROOT, "src/main.ts"),
          `--kubeconfig=${this.kubeconfig}`,
          `--namespace=${this.namespace}`,
          `--pod-name=${this.namespace}-0`,
          `--health-addr=127.0.0.1:${this.healthPort}`,
          `--metrics-addr=127.0.0.1:${this.metricsPort}`,
          `--git-cache-dir=${join(this.work, "git-cache")}`,
          "--leader-elect=false",
          `--watch-label-selector=cairn.dev/test=${this.namespace}`,
          ...this.#baseArgs,
          ...extraArgs,
        ],
      },
    });
    const proc = this.#proc;
    await eventually(
      "the controller running its controllers",
      async () => {
        if (!proc.running) return true;
        const res = await httpGet({
          url: `http://127.0.0.1:${this.healthPort}/readyz`,
          accept: () => true,
        }).catch(() => undefined);
        return res?.status === 200 && /controllers running/.test(res.body) ? true : undefined;
      },
      60_000,
    );
  }

  /** Waits for the process to exit by itself (a failpoint), failing with its log if it does not. */
  async exited(timeoutMs = 120_000): Promise<void> {
    const proc = this.#proc;
    await eventually(
      "the controller to exit",
      () => Promise.resolve(proc && !proc.running ? true : undefined),
      timeoutMs,
    );
  }

  logTail(): string {
    return this.#proc?.logTail() ?? "";
  }

  async metrics(): Promise<string> {
    return (
      await httpGet({ url: `http://127.0.0.1:${this.metricsPort}/metrics`, accept: () => true })
    ).body;
  }

  async stop(): Promise<void> {
    await this.#proc?.stop();
    this.#proc = undefined;
  }

  async cleanup(): Promise<void> {
    await this.stop();
    for (const obj of [...this.#rbac].reverse()) {
      await this.#admin
        .delete({
          apiVersion: obj.apiVersion,
          kind: obj.kind,
          name: obj.metadata.name ?? "",
          namespace: obj.metadata.namespace,
        })
        .catch(() => undefined);
    }
    await rm(this.work, { recursive: true, force: true });
  }
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
