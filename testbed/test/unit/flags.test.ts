import { describe, expect, it } from "vitest";
import {
  apiserverCommand,
  controllerManagerCommand,
  csiSimCommand,
  etcdCommand,
  helmControllerCommand,
  imageReflectorControllerCommand,
  kustomizeControllerCommand,
  notificationControllerCommand,
  snapshotControllerCommand,
  sourceControllerCommand,
  KWOK_POD_READY_STAGE,
  KWOK_STAGES,
  kubeletSimCommand,
  kwokCommand,
  registryCommand,
  schedulerCommand,
  type Layout,
  type Ports,
} from "../../src/flags.ts";
import { pkiPaths } from "../../src/pki.ts";

const layout: Layout = {
  dir: "/run/tb",
  pki: pkiPaths("/run/tb"),
  kubeconfig: "/run/tb/admin.kubeconfig",
  kubeBin: "/cache/kube",
  kwokBin: "/cache/kwok",
  snapshotBin: "/cache/snap",
  fluxSourceBin: "/cache/src",
  fluxKustomizeBin: "/cache/kus",
  fluxHelmBin: "/cache/helm",
  fluxNotificationBin: "/cache/notif",
  fluxImageReflectorBin: "/cache/image",
  registryBin: "/cache/registry",
  node: "/usr/bin/node",
  repoRoot: "/repo",
};
const ports: Ports = {
  etcd: 2001,
  etcdPeer: 2002,
  apiserver: 6443,
  controllerManager: 10257,
  scheduler: 10259,
  kwok: 10250,
  kubeletSimHealth: 3012,
  csiSimHealth: 3001,
  snapshotMetrics: 3002,
  sourceMetrics: 3003,
  sourceHealth: 3004,
  artifacts: 3005,
  kustomizeMetrics: 3006,
  kustomizeHealth: 3007,
  helmMetrics: 3008,
  helmHealth: 3009,
  notificationEvents: 3014,
  notificationReceiver: 3015,
  notificationMetrics: 3016,
  notificationHealth: 3017,
  imageReflectorMetrics: 3018,
  imageReflectorHealth: 3019,
  gitServer: 3010,
  helmRepo: 3011,
  registry: 3013,
};
const all = [
  etcdCommand(layout, ports),
  apiserverCommand(layout, ports),
  controllerManagerCommand(layout, ports),
  schedulerCommand(layout, ports),
  kwokCommand(layout, ports),
  kubeletSimCommand(layout, ports),
  csiSimCommand(layout, ports),
  snapshotControllerCommand(layout, ports),
  sourceControllerCommand(layout, ports),
  kustomizeControllerCommand(layout, ports),
  helmControllerCommand(layout, ports),
  notificationControllerCommand(layout, ports),
  imageReflectorControllerCommand(layout, ports),
  registryCommand(layout, ports),
];

function flag(args: readonly string[], name: string): string | undefined {
  const prefix = `--${name}=`;
  return args.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

describe("component flags", () => {
  it("never names an address other than loopback", () => {
    for (const { args } of all) {
      for (const arg of args) {
        for (const ip of arg.match(/\b\d{1,3}(\.\d{1,3}){3}\b/g) ?? []) {
          // CIDRs for the allocators are not addresses anything binds or dials.
          if (/(cidr|ip-range)=/.test(arg)) continue;
          expect(ip, arg).toBe("127.0.0.1");
        }
      }
    }
  });

  it("binds every serving component to 127.0.0.1 on its own port", () => {
    const [etcd, api, kcm, sched, kwok] = all.map((c) => c.args);
    expect(flag(etcd ?? [], "listen-client-urls")).toBe("http://127.0.0.1:2001");
    expect(flag(etcd ?? [], "listen-peer-urls")).toBe("http://127.0.0.1:2002");
    expect(flag(api ?? [], "bind-address")).toBe("127.0.0.1");
    expect(flag(api ?? [], "secure-port")).toBe("6443");
    expect(flag(api ?? [], "advertise-address")).toBe("127.0.0.1");
    expect(flag(kcm ?? [], "secure-port")).toBe("10257");
    expect(flag(sched ?? [], "secure-port")).toBe("10259");
    expect(flag(kwok ?? [], "server-address")).toBe("127.0.0.1:10250");
    expect(flag(kwok ?? [], "node-ip")).toBe("127.0.0.1");
  });

  it("keeps the API server off the lease endpoint reconciler and on RBAC", () => {
    const api = apiserverCommand(layout, ports).args;
    expect(flag(api, "endpoint-reconciler-type")).toBe("none");
    expect(flag(api, "authorization-mode")).toBe("RBAC");
    expect(flag(api, "etcd-servers")).toBe("http://127.0.0.1:2001");
    expect(flag(api, "service-account-issuer")).toBe("https://127.0.0.1:6443");
    expect(flag(api, "client-ca-file")).toBe("/run/tb/ca.crt");
  });

  it("runs every default controller without leader election", () => {
    const kcm = controllerManagerCommand(layout, ports).args;
    expect(flag(kcm, "controllers")).toBe("*");
    expect(flag(kcm, "leader-elect")).toBe("false");
    expect(flag(kcm, "service-account-private-key-file")).toBe("/run/tb/sa.key");
    expect(flag(schedulerCommand(layout, ports).args, "leader-elect")).toBe("false");
  });

  it("gives kwok every stage the harness needs, pod-delete included, and the gated pod-ready", () => {
    const config = flag(kwokCommand(layout, ports).args, "config")?.split(",") ?? [];
    expect(config).toEqual([
      ...KWOK_STAGES.map((s) => `/cache/kwok/stages/${s}`),
      "/repo/testbed/src/kubelet-sim/kwok-pod-ready.yaml",
    ]);
    expect(KWOK_STAGES).toContain("pod-delete.yaml");
    // kwok's own pod-ready would start a pod the kubelet simulator holds.
    expect(KWOK_STAGES).not.toContain("pod-ready.yaml");
    expect(KWOK_POD_READY_STAGE).toBe("testbed/src/kubelet-sim/kwok-pod-ready.yaml");
    expect(flag(kwokCommand(layout, ports).args, "manage-all-nodes")).toBe("false");
  });

  it("serves the OCI registry on loopback with the committed config and a run-local store", () => {
    const registry = registryCommand(layout, ports);
    expect(registry.args).toEqual(["serve", "/repo/testbed/fixtures/registry/config.yml"]);
    expect(registry.env).toEqual({
      REGISTRY_HTTP_ADDR: "127.0.0.1:3013",
      REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: "/run/tb/registry",
    });
  });

  it("runs binaries from the cache folders", () => {
    expect(all.map((c) => c.command)).toEqual([
      "/cache/kube/etcd",
      "/cache/kube/kube-apiserver",
      "/cache/kube/kube-controller-manager",
      "/cache/kube/kube-scheduler",
      "/cache/kwok/kwok",
      "/usr/bin/node",
      "/usr/bin/node",
      "/cache/snap/snapshot-controller",
      "/cache/src/source-controller",
      "/cache/kus/kustomize-controller",
      "/cache/helm/helm-controller",
      "/cache/notif/notification-controller",
      "/cache/image/image-reflector-controller",
      "/cache/registry/registry",
    ]);
  });

  it("keeps Flux and the snapshot controller on loopback, one instance, all namespaces", () => {
    const source = sourceControllerCommand(layout, ports).args;
    expect(flag(source, "storage-addr")).toBe("127.0.0.1:3005");
    expect(flag(source, "storage-adv-addr")).toBe("127.0.0.1:3005");
    expect(flag(source, "storage-path")).toBe("/run/tb/artifacts");
    for (const cmd of [
      sourceControllerCommand,
      kustomizeControllerCommand,
      helmControllerCommand,
      notificationControllerCommand,
      imageReflectorControllerCommand,
    ]) {
      const args = cmd(layout, ports).args;
      expect(flag(args, "metrics-addr")).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(flag(args, "health-addr")).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(flag(args, "enable-leader-election")).toBe("false");
      expect(flag(args, "watch-all-namespaces")).toBe("true");
    }
    // notification-controller takes events where the others post them.
    const notification = notificationControllerCommand(layout, ports).args;
    expect(flag(notification, "events-addr")).toBe("127.0.0.1:3014");
    expect(flag(notification, "receiverAddr")).toBe("127.0.0.1:3015");
    for (const cmd of [
      sourceControllerCommand,
      kustomizeControllerCommand,
      helmControllerCommand,
      imageReflectorControllerCommand,
    ])
      expect(flag(cmd(layout, ports).args, "events-addr")).toBe("http://127.0.0.1:3014/");
    // image-reflector-controller keeps its tag database (Badger) in the run folder.
    const image = imageReflectorControllerCommand(layout, ports);
    expect(flag(image.args, "metrics-addr")).toBe("127.0.0.1:3018");
    expect(flag(image.args, "health-addr")).toBe("127.0.0.1:3019");
    expect(flag(image.args, "storage-path")).toBe("/run/tb/image-reflector");
    expect(image.env).toEqual({ KUBECONFIG: "/run/tb/admin.kubeconfig" });
    const snapshot = snapshotControllerCommand(layout, ports).args;
    expect(flag(snapshot, "http-endpoint")).toBe("127.0.0.1:3002");
    expect(flag(snapshot, "leader-election")).toBe("false");
    expect(flag(csiSimCommand(layout, ports).args, "health-addr")).toBe("127.0.0.1:3001");
  });

  it("says which binaries are missing for the full profile", () => {
    expect(() => sourceControllerCommand({ ...layout, fluxSourceBin: undefined }, ports)).toThrow(
      /source-controller binaries were not built/,
    );
    expect(() =>
      imageReflectorControllerCommand({ ...layout, fluxImageReflectorBin: undefined }, ports),
    ).toThrow(/image-reflector-controller binaries were not built/);
  });
});
