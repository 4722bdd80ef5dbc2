// Cairn's controller (src/main.ts) as a local process against a test-bed cluster, installed the
// way deploy/ ships it: its Namespace, ServiceAccount and least-privilege RBAC are applied from
// the kustomize base, and the process talks to the API with a token of that ServiceAccount, so
// what it may do here is what it may do in a real cluster. Tests, the demo and a kept demo
// cluster's supervisor run it through this class.
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import type { KubeClient, KubeObject } from "../../src/kube/client.ts";
import { REPO_ROOT } from "./binaries.ts";
import { loadKustomizeBase } from "./kustomize.ts";
import { eventually } from "./poll.ts";
import { freePort } from "./ports.ts";
import { ManagedProcess } from "./process.ts";
import { httpGet } from "./readiness.ts";
import { apiEndpoint, serviceAccountToken } from "./service-account.ts";

const RBAC_KINDS = [
  "Namespace",
  "ServiceAccount",
  "ClusterRole",
  "ClusterRoleBinding",
  "Role",
  "RoleBinding",
];

/**
 * deploy/'s object with the suffix applied: the namespace becomes controllerNs, and the
 * ServiceAccount and cluster-scoped RBAC get the suffix so that installs never share objects.
 */
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

export interface LocalCairnOptions {
  readonly admin: KubeClient;
  /** The cluster's admin kubeconfig: its server and CA file are reused with Cairn's token. */
  readonly clusterKubeconfig: string;
  /**
   * Makes the RBAC objects' names unique, e.g. "-upgrade" installs into namespace
   * cairn-upgrade. "" (the default) installs deploy/ as shipped, into its own namespace.
   */
  readonly suffix?: string;
  /** Folder for the kubeconfig, logs and Git cache; default a fresh temporary folder. */
  readonly work?: string;
  /**
   * Act only on the ManagedApps with these labels, and on their requests
   * (--watch-label-selector): controllers sharing one cluster then never touch each other's
   * apps. Default: every app.
   */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * More requirements for --watch-label-selector after those of labels, in the flag's syntax
   * (e.g. "sharding.cairn.dev/key notin (b)"): a shard of a sharded install.
   */
  readonly selector?: string;
  /**
   * Run leader election as a deployed controller does (its Lease in the controller's namespace,
   * identity "<namespace>-0"); default off, so that a restarted process starts at once. Lease
   * timings, if any, go in extraArgs.
   */
  readonly leaderElect?: boolean;
  readonly extraArgs?: readonly string[];
}

export class LocalCairn {
  readonly namespace: string;
  /** The labels this controller selects ManagedApps by; empty: all of them. */
  readonly labels: Readonly<Record<string, string>>;
  readonly serviceAccount: string;
  readonly work: string;
  readonly kubeconfig: string;
  readonly #admin: KubeClient;
  readonly #rbac: KubeObject[];
  readonly #leaderElect: boolean;
  readonly #args: readonly string[];
  readonly #moreSelector: string;
  readonly #baseArgs: readonly string[];
  readonly #replica: number;
  #proc: ManagedProcess | undefined;
  #starts = 0;
  readonly #onExit = () => this.#proc?.killNow();
  healthPort = 0;
  metricsPort = 0;

  private constructor(
    admin: KubeClient,
    work: string,
    kubeconfig: string,
    ns: string,
    serviceAccount: string,
    rbac: KubeObject[],
    labels: Readonly<Record<string, string>>,
    moreSelector: string,
    leaderElect: boolean,
    args: readonly string[],
    replica = 0,
  ) {
    this.#admin = admin;
    this.#leaderElect = leaderElect;
    this.#args = args;
    this.#moreSelector = moreSelector;
    this.#replica = replica;
    this.work = work;
    this.kubeconfig = kubeconfig;
    this.namespace = ns;
    this.serviceAccount = serviceAccount;
    this.#rbac = rbac;
    this.labels = labels;
    const selector = [...Object.entries(labels).map(([k, v]) => `${k}=${v}`), moreSelector]
      .filter((r) => r !== "")
      .join(",");
    this.#baseArgs = [
      ...(leaderElect ? [] : ["--leader-elect=false"]),
      ...(selector ? [`--watch-label-selector=${selector}`] : []),
      ...args,
    ];
  }

  /** Applies deploy/'s Namespace, ServiceAccount and RBAC; writes a kubeconfig with its token. */
  static async prepare(opts: LocalCairnOptions): Promise<LocalCairn> {
    const suffix = opts.suffix ?? "";
    const base = loadKustomizeBase(join(REPO_ROOT, "deploy"));
    const shippedNs = base.find((o) => o.kind === "Namespace")?.metadata.name ?? "cairn-system";
    const ns = suffix === "" ? shippedNs : `cairn${suffix}`;
    const work = opts.work ?? (await mkdtemp(join(tmpdir(), `cairn${suffix}-`)));
    await mkdir(work, { recursive: true });
    const rbac = base.filter((o) => RBAC_KINDS.includes(o.kind)).map((o) => renamed(o, suffix, ns));
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
    return new LocalCairn(
      opts.admin,
      work,
      kubeconfig,
      ns,
      sa,
      rbac,
      opts.labels ?? {},
      opts.selector ?? "",
      opts.leaderElect ?? false,
      opts.extraArgs ?? [],
    );
  }

  get process(): ManagedProcess | undefined {
    return this.#proc;
  }

  /**
   * Another process of this install, as a Deployment's next replica: the same ServiceAccount,
   * RBAC, flags and Lease, its own identity ("<namespace>-<index>"), work folder and Git cache.
   * Stop it with stop(); cleanup() of the first one removes what they share.
   */
  async replica(index: number): Promise<LocalCairn> {
    const work = join(this.work, `replica-${index}`);
    await mkdir(work, { recursive: true });
    return new LocalCairn(
      this.#admin,
      work,
      this.kubeconfig,
      this.namespace,
      this.serviceAccount,
      this.#rbac,
      this.labels,
      this.#moreSelector,
      this.#leaderElect,
      this.#args,
      index,
    );
  }

  /** The log of the latest start. */
  get logFile(): string {
    return join(this.work, `cairn-${this.#starts}.log`);
  }

  /** The identity it runs leader election under (--pod-name). */
  get identity(): string {
    return `${this.namespace}-${this.#replica}`;
  }

  /**
   * Starts the controller (with extra flags, e.g. a failpoint) and waits until it runs its
   * controllers, or, with `standby`, until it stands by for a Lease another replica holds.
   */
  async start(
    extraArgs: readonly string[] = [],
    opts: { readonly standby?: boolean } = {},
  ): Promise<void> {
    this.healthPort = await freePort();
    this.metricsPort = await freePort();
    this.#starts++;
    this.#proc = ManagedProcess.start({
      name: "cairn",
      logFile: this.logFile,
      commandLine: {
        command: process.execPath,
        args: [
          join(REPO_ROOT, "src/main.ts"),
          `--kubeconfig=${this.kubeconfig}`,
          `--namespace=${this.namespace}`,
          `--pod-name=${this.identity}`,
          `--health-addr=127.0.0.1:${this.healthPort}`,
          `--metrics-addr=127.0.0.1:${this.metricsPort}`,
          `--git-cache-dir=${join(this.work, "git-cache")}`,
          ...this.#baseArgs,
          ...extraArgs,
        ],
      },
    });
    process.removeListener("exit", this.#onExit);
    process.once("exit", this.#onExit);
    const proc = this.#proc;
    await eventually(
      "the controller running its controllers",
      async () => {
        if (!proc.running) return true;
        const res = await httpGet({
          url: `http://127.0.0.1:${this.healthPort}/readyz`,
          accept: () => true,
        }).catch(() => undefined);
        const wanted = opts.standby ? /standing by for the lease/ : /controllers running/;
        return res?.status === 200 && wanted.test(res.body) ? true : undefined;
      },
      { timeoutMs: 60_000 },
    );
    // A process that exited already (a failpoint at once) is the caller's to judge: see process.
  }

  /** Waits for the process to exit by itself (a failpoint), failing with its log if it does not. */
  async exited(timeoutMs = 120_000): Promise<void> {
    const proc = this.#proc;
    await eventually(
      "the controller to exit",
      () => Promise.resolve(proc && !proc.running ? true : undefined),
      { timeoutMs },
    );
  }

  logTail(lines?: number): string {
    return this.#proc?.logTail(lines) ?? "";
  }

  async metrics(): Promise<string> {
    return (
      await httpGet({ url: `http://127.0.0.1:${this.metricsPort}/metrics`, accept: () => true })
    ).body;
  }

  async stop(): Promise<void> {
    await this.#proc?.stop();
    this.#proc = undefined;
    process.removeListener("exit", this.#onExit);
  }

  /** Stops the process, deletes what prepare applied and removes the work folder. */
  async cleanup(opts: { removeWork?: boolean } = {}): Promise<void> {
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
    if (opts.removeWork ?? true) await rm(this.work, { recursive: true, force: true });
  }
}
