// Invariants of the kustomize base in deploy/: what the controller needs to start, the pod
// security it promises, and least-privilege RBAC. A server-side dry run against a real API
// server belongs in the integration tests; these need nothing but the files.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config.ts";
import type { KubeObject } from "../../../src/kube/client.ts";
import { loadKustomizeBase, readKustomization, readObjects } from "../../support/manifests.ts";

const DEPLOY = join(import.meta.dirname, "../../../deploy");
const NAMESPACE = "cairn-system";

const objects = loadKustomizeBase(DEPLOY);

function only(kind: string, name?: string): KubeObject {
  const found = objects.filter(
    (o) => o.kind === kind && (name === undefined || o.metadata.name === name),
  );
  expect(found, `exactly one ${kind}${name ? ` ${name}` : ""}`).toHaveLength(1);
  return found[0] as KubeObject;
}

interface Container {
  readonly name: string;
  readonly image: string;
  readonly args?: string[];
  readonly env?: {
    name: string;
    value?: string;
    valueFrom?: { fieldRef?: { fieldPath: string } };
  }[];
  readonly ports?: { name: string; containerPort: number }[];
  readonly livenessProbe?: { httpGet?: { path: string; port: string | number } };
  readonly readinessProbe?: { httpGet?: { path: string; port: string | number } };
  readonly resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  readonly securityContext?: Record<string, unknown>;
  readonly volumeMounts?: { name: string; mountPath: string }[];
}

interface PodSpec {
  readonly serviceAccountName?: string;
  readonly terminationGracePeriodSeconds?: number;
  readonly securityContext?: Record<string, unknown>;
  readonly containers: Container[];
  readonly volumes?: { name: string; emptyDir?: Record<string, unknown> }[];
}

interface Rule {
  readonly apiGroups?: string[];
  readonly resources?: string[];
  readonly resourceNames?: string[];
  readonly verbs: string[];
  readonly nonResourceURLs?: string[];
}

const deployment = only("Deployment", "cairn-controller");
const spec = deployment["spec"] as {
  replicas: number;
  selector: { matchLabels: Record<string, string> };
  template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
};
const pod = spec.template.spec;
const container = pod.containers[0] as Container;

function rules(kind: "Role" | "ClusterRole", name: string): Rule[] {
  return only(kind, name)["rules"] as Rule[];
}

/** "group/resource verb" for every grant, so a rule's shape does not matter. */
function grants(ruleList: readonly Rule[]): string[] {
  return ruleList.flatMap((r) =>
    (r.apiGroups ?? []).flatMap((g) =>
      (r.resources ?? []).flatMap((res) =>
        r.verbs.map(
          (v) =>
            `${g === "" ? "core" : g}/${res} ${v}${r.resourceNames ? ` (${r.resourceNames.join(",")})` : ""}`,
        ),
      ),
    ),
  );
}

describe("deploy/ kustomize base", () => {
  it("lists every manifest in the folder in kustomization.yaml, and nothing missing", () => {
    const files = readdirSync(DEPLOY)
      .filter((f) => /\.ya?ml$/.test(f) && f !== "kustomization.yaml")
      .sort();
    expect([...readKustomization(DEPLOY).resources].sort()).toEqual(files);
  });

  it("holds the objects Cairn needs, all in its namespace unless cluster-scoped", () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name ?? ""}`)).toEqual([
      "Namespace/cairn-system",
      "ServiceAccount/cairn-controller",
      "Role/cairn-leader-election",
      "ClusterRole/cairn-controller",
      "ClusterRole/cairn-edit",
      "ClusterRole/cairn-view",
      "RoleBinding/cairn-leader-election",
      "ClusterRoleBinding/cairn-controller",
      "Service/cairn-controller-metrics",
      "Deployment/cairn-controller",
      "ValidatingAdmissionPolicy/cairn-approved-by",
      "ValidatingAdmissionPolicyBinding/cairn-approved-by",
    ]);
    for (const o of objects) {
      const clusterScoped = [
        "Namespace",
        "ClusterRole",
        "ClusterRoleBinding",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
      ].includes(o.kind);
      expect(o.metadata.namespace, `${o.kind}/${o.metadata.name ?? ""}`).toBe(
        clusterScoped ? undefined : NAMESPACE,
      );
    }
  });

  it("runs one replica with leader election on, with arguments the controller accepts", () => {
    expect(spec.replicas).toBe(1);
    const args = container.args ?? [];
    expect(args).toContain("--leader-elect=true");
    const result = loadConfig(
      args,
      { POD_NAME: "cairn-controller-abc", POD_NAMESPACE: NAMESPACE },
      {
        hostname: "unused",
      },
    );
    if (!result.ok) throw new Error(result.message);
    expect(result.config).toMatchObject({
      leaderElect: true,
      namespace: NAMESPACE,
      podName: "cairn-controller-abc",
      // Every interface inside the pod: fine in a cluster, where only the Service and the
      // kubelet can reach the pod's ports.
      metricsAddr: { host: "0.0.0.0", port: 8080 },
      healthAddr: { host: "0.0.0.0", port: 8081 },
    });
  });

  it("gives the pod its name and namespace through the downward API", () => {
    const env = Object.fromEntries(
      (container.env ?? []).map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath]),
    );
    expect(env).toMatchObject({ POD_NAME: "metadata.name", POD_NAMESPACE: "metadata.namespace" });
  });

  it("probes /healthz and /readyz on the port the health server binds", () => {
    const result = loadConfig(container.args ?? [], {}, { hostname: "x" });
    if (!result.ok) throw new Error(result.message);
    const ports = Object.fromEntries((container.ports ?? []).map((p) => [p.name, p.containerPort]));
    expect(ports).toEqual({
      metrics: result.config.metricsAddr.port,
      health: result.config.healthAddr.port,
    });
    expect(container.livenessProbe?.httpGet).toEqual({ path: "/healthz", port: "health" });
    expect(container.readinessProbe?.httpGet).toEqual({ path: "/readyz", port: "health" });
  });

  it("runs non-root, read-only, without privileges or capabilities, under RuntimeDefault seccomp", () => {
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 65532,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 65532,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(container.securityContext).not.toHaveProperty("capabilities.add");
    expect(container.securityContext).not.toHaveProperty("privileged", true);
  });

  it("mounts an emptyDir at /tmp, the only writable place (HOME and git's files)", () => {
    const mount = container.volumeMounts?.find((m) => m.mountPath === "/tmp");
    expect(mount).toBeDefined();
    const volume = pod.volumes?.find((v) => v.name === mount?.name);
    expect(volume?.emptyDir).toBeDefined();
  });

  it("sets resource requests and limits", () => {
    const quantity = /^\d+(\.\d+)?(m|Mi|Gi)?$/;
    expect(container.resources?.requests?.["cpu"]).toMatch(quantity);
    expect(container.resources?.requests?.["memory"]).toMatch(quantity);
    expect(container.resources?.limits?.["memory"]).toMatch(quantity);
  });

  it("gives SIGTERM more time than the controller's own shutdown bound", () => {
    const result = loadConfig(container.args ?? [], {}, { hostname: "x" });
    if (!result.ok) throw new Error(result.message);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(result.config.shutdownTimeoutSeconds);
  });

  it("runs a pinned image, never latest", () => {
    expect(container.image).toMatch(/^[^:@]+(:[\w.-]+|@sha256:[0-9a-f]{64})$/);
    expect(container.image).not.toMatch(/:latest$/);
    for (const image of readKustomization(DEPLOY).images) {
      expect(image.newTag ?? image.digest).toBeDefined();
      expect(image.newTag).not.toBe("latest");
    }
  });

  it("uses one ServiceAccount, which exists and which every binding names", () => {
    const account = only("ServiceAccount");
    expect(pod.serviceAccountName).toBe(account.metadata.name);
    for (const binding of objects.filter((o) => o.kind.endsWith("RoleBinding"))) {
      expect(binding["subjects"]).toEqual([
        { kind: "ServiceAccount", name: account.metadata.name, namespace: NAMESPACE },
      ]);
      const ref = binding["roleRef"] as { kind: string; name: string };
      expect(objects.some((o) => o.kind === ref.kind && o.metadata.name === ref.name)).toBe(true);
    }
  });

  it("selects its own pods with the Deployment and the metrics Service", () => {
    const labels = spec.template.metadata.labels;
    expect(labels).toMatchObject(spec.selector.matchLabels);
    const service = only("Service")["spec"] as {
      selector: Record<string, string>;
      ports: { name: string; port: number; targetPort: string | number }[];
    };
    expect(labels).toMatchObject(service.selector);
    expect(service.ports).toEqual([
      { name: "metrics", port: 8080, targetPort: "metrics", protocol: "TCP" },
    ]);
  });

  it("references no Service IP or other fixed address", () => {
    const service = only("Service")["spec"] as Record<string, unknown>;
    for (const field of ["clusterIP", "clusterIPs", "externalIPs", "loadBalancerIP"]) {
      expect(service).not.toHaveProperty(field);
    }
    for (const file of readKustomization(DEPLOY).resources) {
      const text = readFileSync(join(DEPLOY, file), "utf8");
      const ips = text.match(/\b\d{1,3}(\.\d{1,3}){3}\b/g) ?? [];
      expect(
        ips.filter((ip) => ip !== "0.0.0.0"),
        file,
      ).toEqual([]);
    }
  });
});

describe("deploy/ RBAC", () => {
  const roles = objects.filter((o) => o.kind === "Role" || o.kind === "ClusterRole");

  it("never uses a wildcard for verbs, resources or API groups", () => {
    for (const role of roles) {
      for (const rule of role["rules"] as Rule[]) {
        const where = `${role.kind}/${role.metadata.name ?? ""}`;
        expect(rule.verbs, where).not.toContain("*");
        expect(rule.resources ?? [], where).not.toContain("*");
        expect(rule.apiGroups ?? [], where).not.toContain("*");
        expect(
          (rule.resources ?? []).filter((r) => r.includes("*")),
          where,
        ).toEqual([]);
        expect(rule.nonResourceURLs, where).toBeUndefined();
      }
    }
  });

  it("never lets anything write, watch or delete Secrets", () => {
    for (const role of roles) {
      for (const rule of role["rules"] as Rule[]) {
        if (!(rule.apiGroups ?? []).includes("") || !(rule.resources ?? []).includes("secrets"))
          continue;
        expect(rule.verbs.sort()).toEqual(["get", "list"]);
      }
    }
  });

  it("grants the controller exactly the rules it needs", () => {
    expect(grants(rules("ClusterRole", "cairn-controller")).sort()).toEqual(
      [
        ...["get", "list", "watch", "patch", "update"].map((v) => `cairn.dev/managedapps ${v}`),
        // delete: finished requests beyond a ManagedApp's spec.requestHistory are pruned;
        // create: automatic upgrades (versionPolicy.autoUpdate).
        ...["get", "list", "watch", "create", "patch", "update", "delete"].map(
          (v) => `cairn.dev/upgraderequests ${v}`,
        ),
        ...["get", "list", "watch", "create", "patch", "update", "delete"].map(
          (v) => `cairn.dev/rollbackrequests ${v}`,
        ),
        ...["managedapps", "upgraderequests", "rollbackrequests"].flatMap((r) => [
          ...["get", "patch", "update"].map((v) => `cairn.dev/${r}/status ${v}`),
          `cairn.dev/${r}/finalizers update`,
        ]),
        ...["get", "list", "watch", "patch"].flatMap((v) => [
          `kustomize.toolkit.fluxcd.io/kustomizations ${v}`,
          `helm.toolkit.fluxcd.io/helmreleases ${v}`,
          `source.toolkit.fluxcd.io/gitrepositories ${v}`,
          `apps/deployments ${v}`,
          `apps/statefulsets ${v}`,
        ]),
        ...["get", "patch", "update"].flatMap((v) => [
          `apps/deployments/scale ${v}`,
          `apps/statefulsets/scale ${v}`,
        ]),
        ...["get", "list", "watch"].flatMap((v) => [
          `apps/replicasets ${v}`,
          `core/pods ${v}`,
          `core/persistentvolumes ${v}`,
          `snapshot.storage.k8s.io/volumesnapshotcontents ${v}`,
          `snapshot.storage.k8s.io/volumesnapshotclasses ${v}`,
          `storage.k8s.io/storageclasses ${v}`,
          `autoscaling/horizontalpodautoscalers ${v}`,
          `source.toolkit.fluxcd.io/helmrepositories ${v}`,
          // OCIRepositories of spec.chartRef: the update check's informer.
          `source.toolkit.fluxcd.io/ocirepositories ${v}`,
        ]),
        ...["get", "list", "watch", "create", "delete"].flatMap((v) => [
          `core/persistentvolumeclaims ${v}`,
          `snapshot.storage.k8s.io/volumesnapshots ${v}`,
        ]),
        "core/secrets get",
        "core/secrets list",
        // The impact preview: valuesFrom ConfigMaps, the request's diff ConfigMap, the chart's repository.
        ...["get", "create", "patch"].map((v) => `core/configmaps ${v}`),
        "source.toolkit.fluxcd.io/helmrepositories get",
        // An image-versioned app's ImagePolicy (versionPolicy.image.policyRef).
        "image.toolkit.fluxcd.io/imagepolicies get",
        // The HelmChart whose generation Flux puts into the chart's version.
        "source.toolkit.fluxcd.io/helmcharts get",
        // The preview's live objects and their owners: common app kinds, by name.
        "core/services get",
        "core/serviceaccounts get",
        "networking.k8s.io/ingresses get",
        ...["create", "patch", "update"].map((v) => `events.k8s.io/events ${v}`),
        ...["get", "create", "update", "patch", "delete"].map(
          (v) => `coordination.k8s.io/leases ${v}`,
        ),
      ].sort(),
    );
  });

  it("lets the controller hold its leader Lease, by name, in its own namespace", () => {
    const result = loadConfig([], {}, { hostname: "x" });
    if (!result.ok) throw new Error(result.message);
    expect(grants(rules("Role", "cairn-leader-election")).sort()).toEqual(
      [
        "coordination.k8s.io/leases create",
        ...["get", "update", "patch"].map(
          (v) => `coordination.k8s.io/leases ${v} (${result.config.leaseName})`,
        ),
      ].sort(),
    );
  });

  it("offers aggregated view and edit roles for people, without status writes", () => {
    const view = only("ClusterRole", "cairn-view");
    const edit = only("ClusterRole", "cairn-edit");
    expect(view.metadata.labels).toMatchObject({
      "rbac.authorization.k8s.io/aggregate-to-view": "true",
    });
    expect(edit.metadata.labels).toMatchObject({
      "rbac.authorization.k8s.io/aggregate-to-edit": "true",
    });
    const viewVerbs = new Set((view["rules"] as Rule[]).flatMap((r) => r.verbs));
    expect([...viewVerbs].sort()).toEqual(["get", "list", "watch"]);
    for (const rule of edit["rules"] as Rule[]) {
      expect((rule.resources ?? []).filter((r) => r.includes("/"))).toEqual([]);
      expect(rule.apiGroups).toEqual(["cairn.dev"]);
    }
  });
});

describe("readObjects", () => {
  it("reads each deploy file as well-formed Kubernetes objects", () => {
    for (const file of readKustomization(DEPLOY).resources) {
      expect(readObjects(join(DEPLOY, file)).length, file).toBeGreaterThan(0);
    }
  });
});
