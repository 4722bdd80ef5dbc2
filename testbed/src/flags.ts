// Command lines of the control-plane components, as pure functions of ports and paths, so that
// the loopback rule and the flags that matter are unit-tested without starting anything.
import { join } from "node:path";
import type { Pki } from "./pki.ts";

export const LOOPBACK = "127.0.0.1";
export const CLUSTER_NAME = "cairn-testbed";
/** Only the API server's allocator uses these ranges; nothing ever dials an address in them. */
export const SERVICE_CIDR = "10.0.0.0/24";
export const POD_CIDR = "10.244.0.0/16";
export const KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node";
/** The OCI registry's configuration, relative to the repository root. */
export const REGISTRY_CONFIG = "testbed/fixtures/registry/config.yml";

export interface Ports {
  readonly etcd: number;
  readonly etcdPeer: number;
  readonly apiserver: number;
  readonly controllerManager: number;
  readonly scheduler: number;
  readonly kwok: number;
  readonly kubeletSimHealth: number;
  readonly csiSimHealth: number;
  readonly snapshotMetrics: number;
  readonly sourceMetrics: number;
  readonly sourceHealth: number;
  readonly artifacts: number;
  readonly kustomizeMetrics: number;
  readonly kustomizeHealth: number;
  readonly helmMetrics: number;
  readonly helmHealth: number;
  /** notification-controller's event intake (Flux's --events-addr points here). */
  readonly notificationEvents: number;
  readonly notificationReceiver: number;
  readonly notificationMetrics: number;
  readonly notificationHealth: number;
  readonly imageReflectorMetrics: number;
  readonly imageReflectorHealth: number;
  readonly gitServer: number;
  readonly helmRepo: number;
  readonly registry: number;
}

export const PORT_NAMES = [
  "etcd",
  "etcdPeer",
  "apiserver",
  "controllerManager",
  "scheduler",
  "kwok",
  "kubeletSimHealth",
  "csiSimHealth",
  "snapshotMetrics",
  "sourceMetrics",
  "sourceHealth",
  "artifacts",
  "kustomizeMetrics",
  "kustomizeHealth",
  "helmMetrics",
  "helmHealth",
  "notificationEvents",
  "notificationReceiver",
  "notificationMetrics",
  "notificationHealth",
  "imageReflectorMetrics",
  "imageReflectorHealth",
  "gitServer",
  "helmRepo",
  "registry",
] as const satisfies readonly (keyof Ports)[];

export interface Layout {
  /** The run folder: logs, data, PKI, kubeconfig. */
  readonly dir: string;
  readonly pki: Pki;
  readonly kubeconfig: string;
  /** Folder holding kube-apiserver, kube-controller-manager, kube-scheduler and etcd. */
  readonly kubeBin: string;
  /** Folder holding kwok and its stages/. */
  readonly kwokBin: string;
  /** Folders of the storage and Flux components (full profile only). */
  readonly snapshotBin?: string | undefined;
  readonly fluxSourceBin?: string | undefined;
  readonly fluxKustomizeBin?: string | undefined;
  readonly fluxHelmBin?: string | undefined;
  readonly fluxNotificationBin?: string | undefined;
  readonly fluxImageReflectorBin?: string | undefined;
  /** Folder holding the OCI registry (full profile only). */
  readonly registryBin?: string | undefined;
  /** Node binary and repository root, to run the CSI simulator. */
  readonly node: string;
  readonly repoRoot: string;
}

function required(dir: string | undefined, what: string): string {
  if (!dir) throw new Error(`the ${what} binaries were not built (full profile needs them)`);
  return dir;
}

export interface CommandLine {
  readonly command: string;
  readonly args: readonly string[];
  /** Added to the harness's environment. */
  readonly env?: Readonly<Record<string, string>>;
}

export function etcdCommand(layout: Layout, ports: Ports): CommandLine {
  const client = `http://${LOOPBACK}:${ports.etcd}`;
  const peer = `http://${LOOPBACK}:${ports.etcdPeer}`;
  return {
    command: join(layout.kubeBin, "etcd"),
    args: [
      "--name=tb",
      `--data-dir=${join(layout.dir, "etcd")}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=tb=${peer}`,
      // Tests only: losing the last writes on a host crash costs nothing here, fsync costs seconds.
      "--unsafe-no-fsync=true",
      "--auto-compaction-retention=1",
      "--quota-backend-bytes=2147483648",
      "--log-level=warn",
    ],
  };
}

export function apiserverCommand(layout: Layout, ports: Ports): CommandLine {
  const { pki } = layout;
  return {
    command: join(layout.kubeBin, "kube-apiserver"),
    args: [
      `--etcd-servers=http://${LOOPBACK}:${ports.etcd}`,
      `--bind-address=${LOOPBACK}`,
      `--secure-port=${ports.apiserver}`,
      // Without it the API server picks the default-route interface, and refuses to start
      // when there is none.
      `--advertise-address=${LOOPBACK}`,
      // The kubernetes Service may not have loopback endpoints; with "none" it has none, which
      // is fine because nothing may dial a Service IP here anyway.
      "--endpoint-reconciler-type=none",
      `--tls-cert-file=${pki.apiserverCert}`,
      `--tls-private-key-file=${pki.apiserverKey}`,
      `--client-ca-file=${pki.caCert}`,
      "--authorization-mode=RBAC",
      "--allow-privileged=true",
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      `--service-account-issuer=https://${LOOPBACK}:${ports.apiserver}`,
      `--service-account-key-file=${pki.saPub}`,
      `--service-account-signing-key-file=${pki.saKey}`,
      `--cert-dir=${join(layout.dir, "apiserver-certs")}`,
      "--profiling=false",
    ],
  };
}

/** Flags shared by the controller manager and the scheduler: delegated authn/authz through the
 *  admin kubeconfig, loopback serving, no leader election (one instance per cluster). */
function componentServingArgs(layout: Layout, port: number, name: string): string[] {
  return [
    `--kubeconfig=${layout.kubeconfig}`,
    `--authentication-kubeconfig=${layout.kubeconfig}`,
    `--authorization-kubeconfig=${layout.kubeconfig}`,
    `--bind-address=${LOOPBACK}`,
    `--secure-port=${port}`,
    `--cert-dir=${join(layout.dir, `${name}-certs`)}`,
    "--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics",
    "--leader-elect=false",
  ];
}

export function controllerManagerCommand(layout: Layout, ports: Ports): CommandLine {
  return {
    command: join(layout.kubeBin, "kube-controller-manager"),
    args: [
      ...componentServingArgs(layout, ports.controllerManager, "kube-controller-manager"),
      // Every default controller: GC, node lifecycle, PV binder, PVC/PV protection, namespaces…
      "--controllers=*",
      "--use-service-account-credentials=false",
      `--service-account-private-key-file=${layout.pki.saKey}`,
      `--root-ca-file=${layout.pki.caCert}`,
      `--cluster-name=${CLUSTER_NAME}`,
      `--cluster-cidr=${POD_CIDR}`,
      // kwok assigns pod IPs itself; KCM's IPAM would only fight it.
      "--allocate-node-cidrs=false",
    ],
  };
}

export function schedulerCommand(layout: Layout, ports: Ports): CommandLine {
  return {
    command: join(layout.kubeBin, "kube-scheduler"),
    args: componentServingArgs(layout, ports.scheduler, "kube-scheduler"),
  };
}

/** The kwok stages the harness needs, as kwok ships them; without pod-delete, terminating pods
 *  never go away. pod-ready is the bed's own (KWOK_POD_READY_STAGE). */
export const KWOK_STAGES = [
  "node-initialize.yaml",
  "node-heartbeat-with-lease.yaml",
  "pod-complete.yaml",
  "pod-delete.yaml",
] as const;
/** kwok's pod-ready stage gated on the kubelet simulator: a pod whose Secrets or ConfigMaps are
 *  missing is never started (relative to the repository root). */
export const KWOK_POD_READY_STAGE = "testbed/src/kubelet-sim/kwok-pod-ready.yaml";

export function kwokCommand(layout: Layout, ports: Ports): CommandLine {
  const stages = [
    ...KWOK_STAGES.map((s) => join(layout.kwokBin, "stages", s)),
    join(layout.repoRoot, KWOK_POD_READY_STAGE),
  ];
  return {
    command: join(layout.kwokBin, "kwok"),
    args: [
      `--kubeconfig=${layout.kubeconfig}`,
      "--manage-all-nodes=false",
      `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
      `--cidr=${POD_CIDR}`,
      `--node-ip=${LOOPBACK}`,
      "--node-lease-duration-seconds=40",
      `--server-address=${LOOPBACK}:${ports.kwok}`,
      `--node-port=${ports.kwok}`,
      `--config=${stages.join(",")}`,
    ],
  };
}

export function kubeletSimCommand(layout: Layout, ports: Ports): CommandLine {
  return {
    command: layout.node,
    args: [
      join(layout.repoRoot, "testbed", "src", "kubelet-sim", "main.ts"),
      `--kubeconfig=${layout.kubeconfig}`,
      `--health-addr=${LOOPBACK}:${ports.kubeletSimHealth}`,
    ],
  };
}

/** The registry's settings that vary per run come from the environment, over the committed
 *  config (distribution maps REGISTRY_<SECTION>_<KEY> onto its configuration). */
export function registryCommand(layout: Layout, ports: Ports): CommandLine {
  return {
    env: {
      REGISTRY_HTTP_ADDR: `${LOOPBACK}:${ports.registry}`,
      REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: join(layout.dir, "registry"),
    },
    command: join(required(layout.registryBin, "registry"), "registry"),
    args: ["serve", join(layout.repoRoot, REGISTRY_CONFIG)],
  };
}

export function csiSimCommand(layout: Layout, ports: Ports): CommandLine {
  return {
    command: layout.node,
    args: [
      join(layout.repoRoot, "testbed", "src", "csi-sim", "main.ts"),
      `--kubeconfig=${layout.kubeconfig}`,
      `--root=${join(layout.dir, "csi")}`,
      `--health-addr=${LOOPBACK}:${ports.csiSimHealth}`,
    ],
  };
}

export function snapshotControllerCommand(layout: Layout, ports: Ports): CommandLine {
  return {
    command: join(required(layout.snapshotBin, "snapshot-controller"), "snapshot-controller"),
    args: [
      `--kubeconfig=${layout.kubeconfig}`,
      "--leader-election=false",
      `--http-endpoint=${LOOPBACK}:${ports.snapshotMetrics}`,
      "--worker-threads=4",
    ],
  };
}

/** Where Flux's controllers (and Cairn, with --events-addr) post their events. */
export function eventsUrl(ports: Pick<Ports, "notificationEvents">): string {
  return `http://${LOOPBACK}:${ports.notificationEvents}/`;
}

/** Flags every Flux controller gets: loopback metrics and health, all namespaces, one instance.
 *  They read KUBECONFIG from the environment (controller-runtime has no flag for it). */
function fluxArgs(metrics: number, health: number): string[] {
  return [
    `--metrics-addr=${LOOPBACK}:${metrics}`,
    `--health-addr=${LOOPBACK}:${health}`,
    "--watch-all-namespaces=true",
    "--enable-leader-election=false",
    "--log-encoding=json",
  ];
}

/** A Flux controller's flags plus --events-addr: its events reach notification-controller, as in
 *  a cluster where Flux is installed whole. */
function fluxReportingArgs(ports: Ports, metrics: number, health: number): string[] {
  return [...fluxArgs(metrics, health), `--events-addr=${eventsUrl(ports)}`];
}

export function notificationControllerCommand(layout: Layout, ports: Ports): CommandLine {
  return {
    env: { KUBECONFIG: layout.kubeconfig },
    command: join(
      required(layout.fluxNotificationBin, "notification-controller"),
      "notification-controller",
    ),
    args: [
      ...fluxArgs(ports.notificationMetrics, ports.notificationHealth),
      `--events-addr=${LOOPBACK}:${ports.notificationEvents}`,
      `--receiverAddr=${LOOPBACK}:${ports.notificationReceiver}`,
    ],
  };
}

export function sourceControllerCommand(layout: Layout, ports: Ports): CommandLine {
  return {
    env: { KUBECONFIG: layout.kubeconfig },
    command: join(required(layout.fluxSourceBin, "source-controller"), "source-controller"),
    args: [
      ...fluxReportingArgs(ports, ports.sourceMetrics, ports.sourceHealth),
      `--storage-path=${join(layout.dir, "artifacts")}`,
      `--storage-addr=${LOOPBACK}:${ports.artifacts}`,
      // Other controllers download from the advertised address: it must be loopback too.
      `--storage-adv-addr=${LOOPBACK}:${ports.artifacts}`,
    ],
  };
}

export function kustomizeControllerCommand(layout: Layout, ports: Ports): CommandLine {
  return {
    env: { KUBECONFIG: layout.kubeconfig },
    command: join(
      required(layout.fluxKustomizeBin, "kustomize-controller"),
      "kustomize-controller",
    ),
    args: [
      ...fluxReportingArgs(ports, ports.kustomizeMetrics, ports.kustomizeHealth),
      "--no-remote-bases=true",
    ],
  };
}

export function helmControllerCommand(layout: Layout, ports: Ports): CommandLine {
  return {
    env: { KUBECONFIG: layout.kubeconfig },
    command: join(required(layout.fluxHelmBin, "helm-controller"), "helm-controller"),
    args: fluxReportingArgs(ports, ports.helmMetrics, ports.helmHealth),
  };
}

/** image-reflector-controller: lists the tags of an ImageRepository's image and gives each
 *  ImagePolicy its status.latestRef. Its tag database (Badger) lives in the run folder. */
export function imageReflectorControllerCommand(layout: Layout, ports: Ports): CommandLine {
  return {
    env: { KUBECONFIG: layout.kubeconfig },
    command: join(
      required(layout.fluxImageReflectorBin, "image-reflector-controller"),
      "image-reflector-controller",
    ),
    args: [
      ...fluxReportingArgs(ports, ports.imageReflectorMetrics, ports.imageReflectorHealth),
      `--storage-path=${join(layout.dir, "image-reflector")}`,
    ],
  };
}
