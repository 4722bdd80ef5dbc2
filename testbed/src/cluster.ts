// The local control plane: etcd → kube-apiserver → kube-controller-manager → kube-scheduler →
// kwok → the kubelet simulator, each a child process on loopback ports, then N fake nodes that
// kwok keeps Ready.
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, writeFile, rm } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { KubeClient } from "../../src/kube/client.ts";
import { ensureBinaries, REPO_ROOT, type BinaryDirs } from "./binaries.ts";
import { createAll, installCrds, runStorageCanary, storageObjects } from "./cluster-objects.ts";
import { startGitServer, type GitServer } from "./git-server.ts";
import { packageCharts, startHelmRepo, type HelmRepo } from "./helm-repo.ts";
import {
  apiserverCommand,
  CLUSTER_NAME,
  controllerManagerCommand,
  csiSimCommand,
  etcdCommand,
  eventsUrl,
  helmControllerCommand,
  imageReflectorControllerCommand,
  notificationControllerCommand,
  kustomizeControllerCommand,
  PORT_NAMES,
  snapshotControllerCommand,
  sourceControllerCommand,
  KWOK_NODE_ANNOTATION,
  kubeletSimCommand,
  kwokCommand,
  registryCommand,
  LOOPBACK,
  schedulerCommand,
  type CommandLine,
  type Layout,
  type Ports,
} from "./flags.ts";
import { renderKubeconfig } from "./kubeconfig.ts";
import { generatePki, pkiPaths } from "./pki.ts";
import { freePort } from "./ports.ts";
import { ComponentError, isAlive, ManagedProcess, signalGroup } from "./process.ts";
import { probeOnce, waitUntilReady, type HttpProbe } from "./readiness.ts";
import { OCI_CHART_PATH, pushChart } from "./oci-push.ts";
import { ClusterState } from "./state.ts";

const CONTROL_PLANE = [
  "etcd",
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
  "kwok",
  "kubelet-sim",
] as const;
const STORAGE_AND_FLUX = [
  "csi-sim",
  "snapshot-controller",
  "registry",
  "notification-controller",
  "source-controller",
  "kustomize-controller",
  "helm-controller",
  "image-reflector-controller",
] as const;
/** Every component in start order. */
export const COMPONENTS = [...CONTROL_PLANE, ...STORAGE_AND_FLUX] as const;
export type ComponentName = (typeof COMPONENTS)[number];

/** control-plane: Kubernetes and kwok only; full: plus CSI snapshots, Flux, Git and Helm. */
export type Profile = "control-plane" | "full";

export function componentsOf(profile: Profile): readonly ComponentName[] {
  return profile === "full" ? COMPONENTS : CONTROL_PLANE;
}

/** Test credentials of the local git server (loopback only, made up per run). */
export interface GitAccess {
  readonly url: string;
  readonly root: string;
  readonly username: string;
  readonly password: string;
  readonly token: string;
  readonly readOnlyUsername: string;
  readonly readOnlyPassword: string;
}

export interface ClusterOptions {
  /** Run folder; created if missing. Default: a fresh folder under the system temp dir. */
  readonly dir?: string;
  readonly name?: string;
  readonly nodes?: number;
  /** Default "control-plane". */
  readonly profile?: Profile;
  readonly binaries?: BinaryDirs;
  readonly log?: (line: string) => void;
  readonly readyTimeoutMs?: number;
}

interface ComponentSpec {
  readonly command: (layout: Layout, ports: Ports) => CommandLine;
  /** Which entries of Ports this component binds; re-drawn if the port was taken. */
  readonly ports: readonly (keyof Ports)[];
  readonly probe: (layout: Layout, ports: Ports) => HttpProbe;
}

const healthzOk = (status: number, body: string) => status === 200 && body.trim() === "ok";
const httpOk = (status: number) => status === 200;

function componentSpecs(): Record<ComponentName, ComponentSpec> {
  const adminTls = (layout: Layout) => ({
    ca: readFileSync(layout.pki.caCert),
    cert: readFileSync(layout.pki.adminCert),
    key: readFileSync(layout.pki.adminKey),
  });
  return {
    etcd: {
      command: etcdCommand,
      ports: ["etcd", "etcdPeer"],
      probe: (_l, p) => ({
        url: `http://${LOOPBACK}:${p.etcd}/health`,
        accept: (s, b) => s === 200 && /"health":\s*"true"/.test(b),
      }),
    },
    "kube-apiserver": {
      command: apiserverCommand,
      ports: ["apiserver"],
      probe: (l, p) => ({
        url: `https://${LOOPBACK}:${p.apiserver}/readyz`,
        ...adminTls(l),
        accept: healthzOk,
      }),
    },
    "kube-controller-manager": {
      command: controllerManagerCommand,
      ports: ["controllerManager"],
      probe: (_l, p) => ({
        url: `https://${LOOPBACK}:${p.controllerManager}/healthz`,
        insecure: true,
        accept: healthzOk,
      }),
    },
    "kube-scheduler": {
      command: schedulerCommand,
      ports: ["scheduler"],
      probe: (_l, p) => ({
        url: `https://${LOOPBACK}:${p.scheduler}/healthz`,
        insecure: true,
        accept: healthzOk,
      }),
    },
    kwok: {
      command: kwokCommand,
      ports: ["kwok"],
      probe: (_l, p) => ({ url: `http://${LOOPBACK}:${p.kwok}/healthz`, accept: httpOk }),
    },
    "kubelet-sim": {
      command: kubeletSimCommand,
      ports: ["kubeletSimHealth"],
      probe: (_l, p) => ({
        url: `http://${LOOPBACK}:${p.kubeletSimHealth}/healthz`,
        accept: httpOk,
      }),
    },
    "csi-sim": {
      command: csiSimCommand,
      ports: ["csiSimHealth"],
      probe: (_l, p) => ({ url: `http://${LOOPBACK}:${p.csiSimHealth}/healthz`, accept: httpOk }),
    },
    registry: {
      command: registryCommand,
      ports: ["registry"],
      probe: (_l, p) => ({ url: `http://${LOOPBACK}:${p.registry}/v2/`, accept: httpOk }),
    },
    "snapshot-controller": {
      command: snapshotControllerCommand,
      ports: ["snapshotMetrics"],
      probe: (_l, p) => ({
        url: `http://${LOOPBACK}:${p.snapshotMetrics}/metrics`,
        accept: httpOk,
      }),
    },
    "notification-controller": {
      command: notificationControllerCommand,
      ports: [
        "notificationEvents",
        "notificationReceiver",
        "notificationMetrics",
        "notificationHealth",
      ],
      probe: (_l, p) => ({
        url: `http://${LOOPBACK}:${p.notificationHealth}/readyz`,
        accept: httpOk,
      }),
    },
    "source-controller": {
      command: sourceControllerCommand,
      ports: ["sourceMetrics", "sourceHealth", "artifacts"],
      probe: (_l, p) => ({ url: `http://${LOOPBACK}:${p.sourceHealth}/readyz`, accept: httpOk }),
    },
    "kustomize-controller": {
      command: kustomizeControllerCommand,
      ports: ["kustomizeMetrics", "kustomizeHealth"],
      probe: (_l, p) => ({ url: `http://${LOOPBACK}:${p.kustomizeHealth}/readyz`, accept: httpOk }),
    },
    "helm-controller": {
      command: helmControllerCommand,
      ports: ["helmMetrics", "helmHealth"],
      probe: (_l, p) => ({ url: `http://${LOOPBACK}:${p.helmHealth}/readyz`, accept: httpOk }),
    },
    "image-reflector-controller": {
      command: imageReflectorControllerCommand,
      ports: ["imageReflectorMetrics", "imageReflectorHealth"],
      probe: (_l, p) => ({
        url: `http://${LOOPBACK}:${p.imageReflectorHealth}/readyz`,
        accept: httpOk,
      }),
    },
  };
}

async function drawPorts(): Promise<Ports> {
  const ports = await Promise.all(
    PORT_NAMES.map(async (name) => [name, await freePort()] as const),
  );
  return Object.fromEntries(ports) as unknown as Ports;
}

const PORT_TAKEN = /address already in use|bind: address/i;

export class Cluster {
  readonly name: string;
  readonly dir: string;
  readonly kubeconfig: string;
  readonly #layout: Layout;
  #ports: Ports;
  readonly #specs = componentSpecs();
  readonly #procs = new Map<ComponentName, ManagedProcess>();
  readonly #log: (line: string) => void;
  readonly #readyTimeoutMs: number;
  readonly #nodeNames: string[] = [];
  readonly profile: Profile;
  #git: { server: GitServer; access: GitAccess } | undefined;
  #helmRepo: HelmRepo | undefined;
  readonly #startedAt = new Date();
  #stopping = false;
  readonly #onExit = () => {
    for (const p of this.#procs.values()) p.killNow();
  };

  private constructor(name: string, layout: Layout, ports: Ports, opts: ClusterOptions) {
    this.name = name;
    this.dir = layout.dir;
    this.kubeconfig = layout.kubeconfig;
    this.#layout = layout;
    this.#ports = ports;
    this.#log = opts.log ?? (() => undefined);
    this.#readyTimeoutMs = opts.readyTimeoutMs ?? 60_000;
    this.profile = opts.profile ?? "control-plane";
  }

  static async start(opts: ClusterOptions = {}): Promise<Cluster> {
    const log = opts.log ?? (() => undefined);
    const binaries = opts.binaries ?? (await ensureBinaries(opts.profile ?? "control-plane", log));
    const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), "cairn-testbed-")));
    await mkdir(dir, { recursive: true });
    await killRecordedProcesses(dir);
    const layout: Layout = {
      dir,
      pki: pkiPaths(dir),
      kubeconfig: join(dir, "admin.kubeconfig"),
      kubeBin: binaries.kube,
      kwokBin: binaries.kwok,
      snapshotBin: binaries.snapshot,
      fluxSourceBin: binaries.fluxSource,
      fluxKustomizeBin: binaries.fluxKustomize,
      fluxHelmBin: binaries.fluxHelm,
      fluxNotificationBin: binaries.fluxNotification,
      fluxImageReflectorBin: binaries.fluxImageReflector,
      registryBin: binaries.registry,
      node: process.execPath,
      repoRoot: REPO_ROOT,
    };
    const cluster = new Cluster(opts.name ?? "testbed", layout, await drawPorts(), opts);
    process.once("exit", cluster.#onExit);
    try {
      await cluster.#bringUp(opts.nodes ?? 2);
    } catch (err) {
      await cluster.stop({ removeDir: false });
      throw err;
    }
    return cluster;
  }

  get ports(): Ports {
    return this.#ports;
  }

  /** The local git server (full profile). */
  get git(): GitAccess | undefined {
    return this.#git?.access;
  }

  /** The static Helm repository serving testbed/fixtures/charts (full profile). */
  get helmRepoUrl(): string | undefined {
    return this.#helmRepo?.url;
  }

  /** The same charts as OCI artifacts: an OCI HelmRepository's spec.url (full profile). */
  get ociRepoUrl(): string | undefined {
    return this.profile === "full"
      ? `oci://${LOOPBACK}:${this.#ports.registry}/${OCI_CHART_PATH}`
      : undefined;
  }

  /** The OCI registry's host:port (full profile): an image pushed there is <registryHost>/<name>,
   *  which an ImageRepository (image-reflector-controller) scans with insecure: true. */
  get registryHost(): string | undefined {
    return this.profile === "full" ? `${LOOPBACK}:${this.#ports.registry}` : undefined;
  }

  /** notification-controller's event address, Flux's and Cairn's --events-addr (full profile). */
  get eventsUrl(): string | undefined {
    return this.profile === "full" ? eventsUrl(this.#ports) : undefined;
  }

  client(): KubeClient {
    return KubeClient.fromKubeconfigFile(this.kubeconfig);
  }

  state(): ClusterState {
    return {
      name: this.name,
      dir: this.dir,
      kubeconfig: this.kubeconfig,
      ports: Object.fromEntries(Object.entries(this.#ports)),
      profile: this.profile,
      ...(this.#git ? { git: this.#git.access } : {}),
      ...(this.#helmRepo ? { helmRepoUrl: this.#helmRepo.url } : {}),
      ...(this.ociRepoUrl ? { ociRepoUrl: this.ociRepoUrl } : {}),
      ...(this.eventsUrl ? { eventsUrl: this.eventsUrl } : {}),
      ...(this.registryHost ? { registryHost: this.registryHost } : {}),
      components: componentsOf(this.profile).map((c) => {
        const p = this.#procs.get(c);
        return { name: c, pid: p?.pid ?? -1, logFile: join(this.dir, `${c}.log`) };
      }),
      nodes: [...this.#nodeNames],
      supervisorPid: process.pid,
      startedAt: this.#startedAt.toISOString(),
    };
  }

  async #bringUp(nodes: number): Promise<void> {
    const t0 = Date.now();
    await generatePki(this.dir, { commonName: "cairn-admin", organization: "system:masters" });
    this.#log(`testbed: PKI ready in ${Date.now() - t0} ms`);
    await this.#startComponent("etcd");
    await this.#startComponent("kube-apiserver");
    await writeFile(
      this.kubeconfig,
      renderKubeconfig({
        clusterName: CLUSTER_NAME,
        server: `https://${LOOPBACK}:${this.#ports.apiserver}`,
        caFile: this.#layout.pki.caCert,
        certFile: this.#layout.pki.adminCert,
        keyFile: this.#layout.pki.adminKey,
        user: "cairn-admin",
      }),
      { mode: 0o600 },
    );
    // KCM and the scheduler do not depend on each other: start them together.
    await Promise.all([
      this.#startComponent("kube-controller-manager"),
      this.#startComponent("kube-scheduler"),
    ]);
    await this.#startComponent("kwok");
    await this.#startComponent("kubelet-sim");
    await this.#createNodes(nodes);
    // Cairn's own CRDs, from the working tree, so tests always run against the current API.
    const ours = await installCrds(this.client(), [join(REPO_ROOT, "crds")]);
    this.#log(`testbed: ${ours.length} Cairn CRDs established`);
    if (this.profile === "full") await this.#bringUpStorageAndFlux();
    await this.#writeState();
    this.#log(`testbed: cluster ready in ${Date.now() - t0} ms (${this.dir})`);
  }

  async #bringUpStorageAndFlux(): Promise<void> {
    const client = this.client();
    const layout = this.#layout;
    const t0 = Date.now();
    const crdDirs = [
      layout.snapshotBin,
      layout.fluxSourceBin,
      layout.fluxKustomizeBin,
      layout.fluxHelmBin,
      layout.fluxNotificationBin,
      layout.fluxImageReflectorBin,
    ]
      .filter((d): d is string => d !== undefined)
      .map((d) => join(d, "crds"));
    const crds = await installCrds(client, crdDirs);
    this.#log(`testbed: ${crds.length} CRDs established in ${Date.now() - t0} ms`);
    await createAll(client, storageObjects());
    await this.#startComponent("csi-sim");
    await this.#startComponent("snapshot-controller");
    await this.#startComponent("registry");
    await this.#startServers();
    // source-controller refuses a storage path that does not exist yet.
    await mkdir(join(this.dir, "artifacts"), { recursive: true });
    // First, so that the other controllers' first events reach it.
    await this.#startComponent("notification-controller");
    await Promise.all([
      this.#startComponent("source-controller"),
      this.#startComponent("kustomize-controller"),
      this.#startComponent("helm-controller"),
      this.#startComponent("image-reflector-controller"),
    ]);
    const t1 = Date.now();
    await runStorageCanary(client);
    this.#log(
      `testbed: storage canary (bind, snapshot ready, cleanup) passed in ${Date.now() - t1} ms`,
    );
  }

  async #startServers(): Promise<void> {
    const gitRoot = join(this.dir, "git");
    await mkdir(gitRoot, { recursive: true });
    const secret = () => randomBytes(12).toString("hex");
    const credentials = {
      username: "cairn",
      password: secret(),
      token: secret(),
      readOnlyUsername: "reader",
      readOnlyPassword: secret(),
    };
    const server = await startGitServer({
      root: gitRoot,
      port: this.#ports.gitServer,
      auth: {
        basic: [
          { username: credentials.username, password: credentials.password },
          { username: credentials.readOnlyUsername, password: credentials.readOnlyPassword },
        ],
        bearerTokens: [credentials.token],
        readOnlyUsers: [credentials.readOnlyUsername],
      },
    });
    this.#git = { server, access: { url: server.url, root: gitRoot, ...credentials } };
    const helmRoot = join(this.dir, "helm");
    const url = `http://${LOOPBACK}:${this.#ports.helmRepo}`;
    const charts = await packageCharts(
      join(REPO_ROOT, "testbed", "fixtures", "charts"),
      helmRoot,
      url,
    );
    this.#helmRepo = await startHelmRepo({ root: helmRoot, port: this.#ports.helmRepo });
    const registry = `http://${LOOPBACK}:${this.#ports.registry}`;
    for (const chart of charts) await pushChart(registry, chart);
    this.#log(
      `testbed: git server ${server.url}, Helm repository ${this.#helmRepo.url}, ${charts.length} charts in ${this.ociRepoUrl ?? ""}`,
    );
  }

  async #startComponent(name: ComponentName, attempts = 3): Promise<void> {
    const spec = this.#specs[name];
    for (let attempt = 1; ; attempt++) {
      const t0 = Date.now();
      const commandLine = spec.command(this.#layout, this.#ports);
      const proc = ManagedProcess.start({
        name,
        commandLine,
        logFile: join(this.dir, `${name}.log`),
        ...(commandLine.env ? { env: commandLine.env } : {}),
      });
      this.#procs.set(name, proc);
      await this.#writeState();
      try {
        await waitUntilReady(
          proc,
          () => probeOnce(spec.probe(this.#layout, this.#ports)),
          this.#readyTimeoutMs,
        );
        this.#log(`testbed: ${name} ready in ${Date.now() - t0} ms (pid ${proc.pid})`);
        void proc.exited.then(() => {
          if (!this.#stopping && this.#procs.get(name) === proc) {
            this.#log(`testbed: ${name} ${proc.describeExit()} unexpectedly\n${proc.logTail(15)}`);
          }
        });
        return;
      } catch (err) {
        await proc.stop(2_000);
        const portTaken = err instanceof ComponentError && PORT_TAKEN.test(proc.logTail(50));
        if (!portTaken || attempt >= attempts || (name === "kube-apiserver" && this.#restarting)) {
          throw err;
        }
        this.#log(`testbed: ${name}: port taken, retrying on new ports`);
        const fresh = await drawPorts();
        const next = { ...this.#ports };
        for (const key of spec.ports) next[key] = fresh[key];
        this.#ports = next;
      }
    }
  }

  #restarting = false;

  /**
   * Stops one component and starts it again on the same ports (clients keep their config); with
   * `downMs`, it stays stopped that long first: an outage of known length.
   */
  async restart(name: ComponentName, opts: { downMs?: number } = {}): Promise<void> {
    const proc = this.#procs.get(name);
    this.#restarting = true;
    try {
      this.#procs.delete(name);
      await proc?.stop();
      if (opts.downMs) await new Promise((resolve) => setTimeout(resolve, opts.downMs));
      await this.#startComponent(name, 1);
    } finally {
      this.#restarting = false;
    }
  }

  /** Components that are not running (for status and for tests that check health). */
  deadComponents(): ComponentName[] {
    return componentsOf(this.profile).filter((c) => !this.#procs.get(c)?.running);
  }

  async #createNodes(count: number): Promise<void> {
    const client = this.client();
    const t0 = Date.now();
    for (let i = 0; i < count; i++) {
      const name = `kwok-node-${i}`;
      this.#nodeNames.push(name);
      await client.create({
        apiVersion: "v1",
        kind: "Node",
        metadata: {
          name,
          annotations: { [KWOK_NODE_ANNOTATION]: "fake" },
          labels: {
            type: "kwok",
            "kubernetes.io/hostname": name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
          },
        },
        // No taints: workloads need no tolerations.
        spec: {},
      });
    }
    const deadline = Date.now() + this.#readyTimeoutMs;
    for (;;) {
      const { items } = await client.list("v1", "Node", { labelSelector: "type=kwok" });
      const ready = items.filter(
        (n) => isNodeReady(n) && this.#nodeNames.includes(n.metadata.name ?? ""),
      );
      if (ready.length === count) break;
      const kwok = this.#procs.get("kwok");
      if (kwok && !kwok.running) {
        throw new ComponentError(
          "kwok",
          `${kwok.describeExit()} while nodes were initialising`,
          kwok.logTail(),
        );
      }
      if (Date.now() > deadline) {
        throw new ComponentError(
          "kwok",
          `only ${ready.length} of ${count} nodes Ready after ${this.#readyTimeoutMs} ms`,
          kwok?.logTail() ?? "",
        );
      }
      await delay(100);
    }
    this.#log(`testbed: ${count} nodes Ready in ${Date.now() - t0} ms`);
  }

  async #writeState(): Promise<void> {
    await writeFile(join(this.dir, "cluster.json"), JSON.stringify(this.state(), null, 2));
  }

  /** Stops every component in reverse start order and, by default, removes the run folder. */
  async stop(opts: { removeDir?: boolean } = {}): Promise<void> {
    this.#stopping = true;
    for (const name of [...COMPONENTS].reverse()) {
      await this.#procs.get(name)?.stop();
      if (name === "source-controller") {
        // The servers go after the Flux controllers that read from them.
        await this.#git?.server.close();
        await this.#helmRepo?.close();
        this.#git = undefined;
        this.#helmRepo = undefined;
      }
    }
    this.#procs.clear();
    process.removeListener("exit", this.#onExit);
    if (opts.removeDir ?? true) await rm(this.dir, { recursive: true, force: true });
  }
}

function isNodeReady(node: { readonly [key: string]: unknown }): boolean {
  const conditions = (
    node["status"] as { conditions?: { type?: string; status?: string }[] } | undefined
  )?.conditions;
  return conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

/**
 * Kills the processes a previous run recorded in this folder (a crashed supervisor, say), and
 * only those: a pid is trusted only while its command line still mentions the run folder.
 */
export async function killRecordedProcesses(dir: string): Promise<number> {
  let text: string;
  try {
    text = await readFile(join(dir, "cluster.json"), "utf8");
  } catch {
    return 0;
  }
  const parsed = ClusterState.safeParse(JSON.parse(text));
  if (!parsed.success) return 0;
  let killed = 0;
  for (const c of parsed.data.components) {
    if (c.pid > 0 && isAlive(c.pid) && (await commandLineOf(c.pid)).includes(dir)) {
      signalGroup(c.pid, "SIGKILL");
      killed++;
    }
  }
  return killed;
}

async function commandLineOf(pid: number): Promise<string> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, "utf8")).replaceAll("\0", " ");
  } catch {
    return "";
  }
}
