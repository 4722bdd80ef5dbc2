// The Helm chart under the real helm CLI (built from helm.sh/helm/v4 at helm-controller's
// version, testbed component "helm"): lint, render with the defaults and with every optional
// value, the schema refusing bad values, the NOTES, and a server-side dry-run apply of what it
// renders on the test bed (with prometheus-operator's CRDs for the monitoring objects). The
// shipped alert rules go through promtool (`check rules` and the unit tests in
// charts/cairn/files/prometheus-rules.test.yaml).
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { loadConfig } from "../../../src/config.ts";
import { matches, parseLabelSelector } from "../../../src/runtime/label-selector.ts";
import type { KubeClient, KubeObject, ObjectRef } from "../../../src/kube/client.ts";
import { isKubeError } from "../../../src/kube/errors.ts";
import { ensureTools } from "../../../testbed/src/binaries.ts";
import { loadKustomizeBase } from "../../support/manifests.ts";
import {
  createTestNamespace,
  deleteNamespace,
  eventually,
  testClient,
} from "../../support/kube.ts";

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, "../../..");
const CHART = join(ROOT, "charts/cairn");
const FILES = join(CHART, "files");
const DIGEST = `sha256:${"0123456789abcdef".repeat(4)}`;

/** Every optional value set, each to something recognisable in the render. */
const FULL_VALUES = {
  image: { repository: "registry.example.com/cairn", digest: DIGEST },
  imagePullSecrets: ["regcred"],
  extraArgs: ["--suspended-warning-after=2h"],
  extraEnv: [{ name: "HTTPS_PROXY", value: "http://proxy.example:3128" }],
  priorityClassName: "system-cluster-critical",
  podLabels: { team: "platform" },
  serviceAccount: { annotations: { "example.com/role": "cairn" } },
  topologySpreadConstraints: [
    {
      maxSkew: 1,
      topologyKey: "kubernetes.io/hostname",
      whenUnsatisfiable: "ScheduleAnyway",
      labelSelector: { matchLabels: { "app.kubernetes.io/name": "cairn" } },
    },
  ],
  watchLabelSelector: "team=a,tier!=test",
  eventsAddr: "http://notification-controller.flux-system.svc.cluster.local./",
  maxAutoUpgrades: 3,
  podSecurityContext: { runAsNonRoot: true, runAsUser: 1001, fsGroup: 1001 },
  securityContext: {
    runAsNonRoot: true,
    runAsUser: 1001,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"] },
  },
  metrics: {
    serviceMonitor: { enabled: true, labels: { release: "prometheus" } },
    podMonitor: { enabled: true, interval: "1m" },
  },
  prometheusRule: { enabled: true, labels: { release: "prometheus" } },
  grafanaDashboard: { enabled: true },
};

let helm = "";
let promtool = "";
let monitoringCrds = "";

async function helmRun(args: readonly string[]): Promise<string> {
  // No cluster access: template and lint work offline; HOME-less caches go to a temp folder.
  const { stdout } = await run(helm, [...args], {
    env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "/tmp" },
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

async function render(
  values: Record<string, unknown> = {},
  release = "cairn",
  namespace = "cairn-system",
): Promise<KubeObject[]> {
  const text = await helmRun([
    "template",
    release,
    CHART,
    "--namespace",
    namespace,
    ...valuesArgs(values),
  ]);
  return parseAllDocuments(text)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null);
}

/** Values go in as one JSON document through --set-json per top-level key. */
function valuesArgs(values: Record<string, unknown>): string[] {
  return Object.entries(values).flatMap(([k, v]) => ["--set-json", `${k}=${JSON.stringify(v)}`]);
}

/** helm's error for values the schema or a template refuses. */
async function renderError(values: Record<string, unknown>): Promise<string> {
  try {
    await helmRun(["template", "cairn", CHART, ...valuesArgs(values)]);
  } catch (err) {
    return String((err as { stderr?: unknown }).stderr ?? err);
  }
  throw new Error(`helm rendered ${JSON.stringify(values)} without an error`);
}

function one(objects: readonly KubeObject[], kind: string): KubeObject {
  const found = objects.filter((o) => o.kind === kind);
  if (found.length !== 1 || !found[0]) throw new Error(`${found.length} ${kind}s rendered`);
  return found[0];
}

interface PodSpec {
  securityContext?: unknown;
  containers: Record<string, unknown>[];
  volumes?: unknown;
  [key: string]: unknown;
}
const podOf = (deployment: KubeObject) =>
  (deployment["spec"] as { template: { metadata: { labels: unknown }; spec: PodSpec } }).template;

beforeAll(async () => {
  const dirs = await ensureTools(["helm", "promtool", "prometheusOperator"]);
  helm = join(dirs.helm, "helm");
  promtool = join(dirs.promtool, "promtool");
  monitoringCrds = join(dirs.prometheusOperator, "crds");
}, 3_600_000);

describe("helm lint", () => {
  it("passes, strictly, with the defaults and with every optional value", async () => {
    expect(await helmRun(["lint", "--strict", CHART])).toContain("0 chart(s) failed");
    expect(await helmRun(["lint", "--strict", CHART, ...valuesArgs(FULL_VALUES)])).toContain(
      "0 chart(s) failed",
    );
  });
});

describe("helm template with the defaults", () => {
  let objects: KubeObject[] = [];
  const deploy = loadKustomizeBase(join(ROOT, "deploy"));
  const fromDeploy = (kind: string) => one(deploy, kind);
  beforeAll(async () => {
    objects = await render();
  });

  it("renders deploy/'s objects (but its Namespace) and no monitoring objects", () => {
    const kinds = (list: readonly KubeObject[]) =>
      list.map((o) => `${o.kind}/${o.metadata.name ?? ""}`).sort();
    expect(kinds(objects)).toEqual(kinds(deploy.filter((o) => o.kind !== "Namespace")));
  });

  it("runs the pod exactly as deploy/ does", () => {
    const chart = podOf(one(objects, "Deployment")).spec;
    const shipped = podOf(fromDeploy("Deployment")).spec;
    expect(chart.securityContext).toEqual(shipped.securityContext);
    expect(chart.volumes).toEqual(shipped.volumes);
    for (const field of [
      "securityContext",
      "env",
      "ports",
      "livenessProbe",
      "readinessProbe",
      "volumeMounts",
      "resources",
    ]) {
      expect(chart.containers[0]?.[field], field).toEqual(shipped.containers[0]?.[field]);
    }
    expect(chart.containers[0]?.["image"]).toBe("cairn:0.1.0");
    for (const absent of [
      "imagePullSecrets",
      "priorityClassName",
      "topologySpreadConstraints",
      "nodeSelector",
      "tolerations",
      "affinity",
    ]) {
      expect(chart, absent).not.toHaveProperty(absent);
    }
  });

  it("grants deploy/'s RBAC rules", () => {
    const rules = (list: readonly KubeObject[]) =>
      Object.fromEntries(
        list
          .filter((o) => o.kind === "ClusterRole" || o.kind === "Role")
          .map((o) => [`${o.kind}/${o.metadata.name ?? ""}`, o["rules"]]),
      );
    expect(rules(objects)).toEqual(rules(deploy));
  });

  it("passes arguments the controller accepts", () => {
    const args = podOf(one(objects, "Deployment")).spec.containers[0]?.["args"] as string[];
    const result = loadConfig(args, {}, { hostname: "x" });
    if (!result.ok) throw new Error(result.message);
    expect(result.config.watchLabelSelector).toBeUndefined();
    expect(result.config.eventsAddr).toBeUndefined();
  });
});

describe("a chart version with build metadata", () => {
  it("still gives valid labels: Flux appends a digest to a chart from an OCIRepository", async () => {
    // helm-controller releases a chart from an OCIRepository as <version>+<digest>; a label may
    // not hold "+", so helm.sh/chart writes it as "_", as `helm create` does.
    const dir = await mkdtemp(join(tmpdir(), "cairn-chart-meta-"));
    try {
      await helmRun(["package", CHART, "--version", "0.1.0+0123456789ab", "-d", dir]);
      const text = await helmRun(["template", "cairn", join(dir, "cairn-0.1.0+0123456789ab.tgz")]);
      const objects = parseAllDocuments(text)
        .map((d) => d.toJS() as KubeObject | null)
        .filter((o): o is KubeObject => o !== null);
      const charts = objects.map((o) => o.metadata.labels?.["helm.sh/chart"]);
      expect(charts.length).toBeGreaterThan(0);
      for (const chart of charts) expect(chart).toBe("cairn-0.1.0_0123456789ab");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("helm template with every optional value", () => {
  let objects: KubeObject[] = [];
  beforeAll(async () => {
    objects = await render(FULL_VALUES);
  });

  it("puts each value in its place", () => {
    const template = podOf(one(objects, "Deployment"));
    const pod = template.spec;
    const container = pod.containers[0] ?? {};
    expect(template.metadata.labels).toMatchObject({
      team: "platform",
      "app.kubernetes.io/name": "cairn",
    });
    expect(container["image"]).toBe(`registry.example.com/cairn@${DIGEST}`);
    expect(pod["imagePullSecrets"]).toEqual([{ name: "regcred" }]);
    expect(pod["priorityClassName"]).toBe("system-cluster-critical");
    expect(pod["topologySpreadConstraints"]).toEqual(FULL_VALUES.topologySpreadConstraints);
    // Helm merges a map value over the default: the keys set win, the others stay.
    expect(pod.securityContext).toEqual({
      ...FULL_VALUES.podSecurityContext,
      runAsGroup: 65532,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(container["securityContext"]).toMatchObject(FULL_VALUES.securityContext);
    expect(container["env"]).toEqual(expect.arrayContaining(FULL_VALUES.extraEnv));
    expect(one(objects, "ServiceAccount").metadata.annotations).toEqual(
      FULL_VALUES.serviceAccount.annotations,
    );
  });

  it("drops a security context key set to null", async () => {
    const [deployment] = (
      await render({ podSecurityContext: { fsGroup: null, seccompProfile: null } })
    ).filter((o) => o.kind === "Deployment");
    if (!deployment) throw new Error("no Deployment rendered");
    expect(podOf(deployment).spec.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
    });
  });

  it("passes the watch selector, the events address, the automatic-upgrade limit and the extra arguments, which the controller accepts", () => {
    const args = podOf(one(objects, "Deployment")).spec.containers[0]?.["args"] as string[];
    expect(args).toContain("--watch-label-selector=team=a,tier!=test");
    expect(args.at(-1)).toBe("--suspended-warning-after=2h");
    const result = loadConfig(args, {}, { hostname: "x" });
    if (!result.ok) throw new Error(result.message);
    expect(result.config.watchLabelSelector).toBe("team=a,tier!=test");
    expect(result.config.suspendedWarningAfterMs).toBe(2 * 3_600_000);
    expect(result.config.eventsAddr).toBe(
      "http://notification-controller.flux-system.svc.cluster.local./",
    );
    expect(result.config.maxAutoUpgrades).toBe(3);
  });

  it("renders the ServiceMonitor, the PodMonitor, the PrometheusRule and the dashboard", () => {
    const selector = { "app.kubernetes.io/name": "cairn", "app.kubernetes.io/instance": "cairn" };
    const sm = one(objects, "ServiceMonitor");
    expect(sm.metadata.labels).toMatchObject({ release: "prometheus" });
    expect(sm["spec"]).toMatchObject({
      selector: { matchLabels: selector },
      endpoints: [{ port: "metrics", path: "/metrics", honorLabels: true, interval: "30s" }],
    });
    expect(one(objects, "PodMonitor")["spec"]).toMatchObject({
      selector: { matchLabels: selector },
      podMetricsEndpoints: [{ port: "metrics", honorLabels: true, interval: "1m" }],
    });
    // The Service the ServiceMonitor selects carries those labels and the port name.
    const service = one(objects, "Service");
    expect(service.metadata.labels).toMatchObject(selector);
    expect(service["spec"]).toMatchObject({ ports: [{ name: "metrics" }] });
    expect(one(objects, "PrometheusRule")["spec"]).toEqual(
      parse(readFileSync(join(FILES, "prometheus-rules.yaml"), "utf8")),
    );
    const dashboard = one(objects, "ConfigMap");
    expect(dashboard.metadata.labels).toMatchObject({ grafana_dashboard: "1" });
    expect(JSON.parse((dashboard["data"] as Record<string, string>)["cairn.json"] ?? "")).toEqual(
      JSON.parse(readFileSync(join(FILES, "grafana-dashboard.json"), "utf8")),
    );
  });
});

describe("V8's heap limit follows the memory limit", () => {
  const nodeOptions = async (values: Record<string, unknown>) => {
    const env = podOf(one(await render(values), "Deployment")).spec.containers[0]?.["env"] as
      { name: string; value?: string }[] | undefined;
    return (env ?? []).filter((e) => e.name === "NODE_OPTIONS").map((e) => e.value);
  };

  it("is three quarters of the limit in Mi, Gi, M or G, with a 4 MiB young generation", async () => {
    expect(await nodeOptions({})).toEqual(["--max-old-space-size=384 --max-semi-space-size=4"]);
    expect(await nodeOptions({ resources: { limits: { memory: "1Gi" } } })).toEqual([
      "--max-old-space-size=768 --max-semi-space-size=4",
    ]);
    expect(await nodeOptions({ resources: { limits: { memory: "1000M" } } })).toEqual([
      "--max-old-space-size=714 --max-semi-space-size=4",
    ]);
  });

  it("is left to Node without a memory limit (but the young generation), and to the user's own NODE_OPTIONS", async () => {
    expect(await nodeOptions({ resources: { limits: { memory: null } } })).toEqual([
      "--max-semi-space-size=4",
    ]);
    expect(
      await nodeOptions({ extraEnv: [{ name: "NODE_OPTIONS", value: "--max-old-space-size=99" }] }),
    ).toEqual(["--max-old-space-size=99"]);
  });
});

describe("helm template with shards", () => {
  const KEY = "sharding.cairn.dev/key";
  const SHARDS = { sharding: { key: KEY, shards: ["one", "two"] } };
  let objects: KubeObject[] = [];
  beforeAll(async () => {
    objects = await render({ ...SHARDS, watchLabelSelector: "team=a" });
  });
  const deployments = () => objects.filter((o) => o.kind === "Deployment");
  const argsOf = (d: KubeObject) => podOf(d).spec.containers[0]?.["args"] as string[];
  const configOf = (d: KubeObject) => {
    const result = loadConfig(argsOf(d), {}, { hostname: "x" });
    if (!result.ok) throw new Error(result.message);
    return result.config;
  };

  it("renders one controller per shard besides the main one, each with its own Lease", () => {
    const byName = Object.fromEntries(
      deployments().map((d) => [d.metadata.name ?? "", configOf(d)] as const),
    );
    expect(Object.keys(byName).sort()).toEqual([
      "cairn-controller",
      "cairn-controller-one",
      "cairn-controller-two",
    ]);
    expect(byName["cairn-controller"]).toMatchObject({
      leaseName: "cairn-controller",
      watchLabelSelector: `team=a,${KEY} notin (one,two)`,
    });
    expect(byName["cairn-controller-one"]).toMatchObject({
      leaseName: "cairn-controller-one",
      watchLabelSelector: `team=a,${KEY}=one`,
    });
    expect(byName["cairn-controller-two"]).toMatchObject({
      leaseName: "cairn-controller-two",
      watchLabelSelector: `team=a,${KEY}=two`,
    });
  });

  it("gives every app of the selected team to exactly one controller", () => {
    const selectors = deployments().map((d) => {
      const parsed = parseLabelSelector(configOf(d).watchLabelSelector ?? "");
      if (!parsed.ok) throw new Error(parsed.message);
      return [d.metadata.name, parsed.requirements] as const;
    });
    const owners = (labels: Record<string, string>) =>
      selectors.filter(([, r]) => matches(r, labels)).map(([name]) => name);
    expect(owners({ team: "a" })).toEqual(["cairn-controller"]);
    expect(owners({ team: "a", [KEY]: "one" })).toEqual(["cairn-controller-one"]);
    expect(owners({ team: "a", [KEY]: "two" })).toEqual(["cairn-controller-two"]);
    // A shard name nobody runs stays with the main controller instead of with nobody.
    expect(owners({ team: "a", [KEY]: "typo" })).toEqual(["cairn-controller"]);
    expect(owners({ team: "b", [KEY]: "one" })).toEqual([]);
  });

  it("keeps the pods of each Deployment out of the others' selectors", () => {
    for (const d of deployments()) {
      const selector = (d["spec"] as { selector: { matchLabels: Record<string, string> } }).selector
        .matchLabels;
      const selected = deployments().filter((other) =>
        Object.entries(selector).every(
          ([k, v]) => (podOf(other).metadata.labels as Record<string, string>)[k] === v,
        ),
      );
      expect(selected.map((o) => o.metadata.name)).toEqual([d.metadata.name]);
    }
  });

  it("lets each shard hold its Lease and exposes its metrics", () => {
    const roles = objects.filter((o) => o.kind === "Role");
    const leaseNames = roles.flatMap((r) =>
      (r["rules"] as { resourceNames?: string[] }[]).flatMap((rule) => rule.resourceNames ?? []),
    );
    expect(leaseNames.sort()).toEqual([
      "cairn-controller",
      "cairn-controller-one",
      "cairn-controller-two",
    ]);
    const bindings = objects.filter((o) => o.kind === "RoleBinding");
    expect(bindings.map((b) => (b["roleRef"] as { name: string }).name).sort()).toEqual(
      roles.map((r) => r.metadata.name).sort(),
    );
    const services = objects.filter((o) => o.kind === "Service");
    for (const d of deployments()) {
      const labels = podOf(d).metadata.labels as Record<string, string>;
      const serving = services.filter((s) =>
        Object.entries((s["spec"] as { selector: Record<string, string> }).selector).every(
          ([k, v]) => labels[k] === v,
        ),
      );
      expect(serving.map((s) => s.metadata.name)).toEqual([`${d.metadata.name ?? ""}-metrics`]);
    }
  });

  it("passes helm lint", async () => {
    expect(await helmRun(["lint", "--strict", CHART, ...valuesArgs(SHARDS)])).toContain(
      "0 chart(s) failed",
    );
  });
});

describe("values.schema.json and the templates refuse bad values at render", () => {
  it.each([
    [{ unknownValue: 1 }, "additional properties 'unknownValue' not allowed"],
    [{ image: { repository: "cairn", tgs: "1" } }, "additional properties 'tgs' not allowed"],
    [{ image: { repository: "cairn", tag: "latest" } }, "/image/tag"],
    [{ image: { repository: "cairn", digest: "abc" } }, "/image/digest"],
    [{ logLevel: "loud" }, "/logLevel"],
    [{ metrics: { port: 0 } }, "/metrics/port"],
    [{ extraArgs: ["watch-label-selector=x"] }, "/extraArgs/0"],
    [{ eventsAddr: "notification-controller:9090" }, "/eventsAddr"],
    [{ maxAutoUpgrades: -1 }, "/maxAutoUpgrades"],
    [{ extraEnv: [{ value: "x" }] }, "/extraEnv/0"],
    [{ podLabels: { team: 1 } }, "/podLabels/team"],
    [{ sharding: { shards: ["One"] } }, "/sharding/shards/0"],
    [{ sharding: { shards: ["a", "a"] } }, "/sharding/shards"],
    [{ sharding: { key: "not a key" } }, "/sharding/key"],
    [
      { metrics: { serviceMonitor: { enabled: true, interval: "soon" } } },
      "/metrics/serviceMonitor/interval",
    ],
    [{ imagePullSecrets: [{ name: "regcred" }] }, "/imagePullSecrets/0"],
    [
      { replicas: 2, leaderElection: { enabled: false } },
      "replicas > 1 needs leaderElection.enabled",
    ],
    [
      { metrics: { service: { enabled: false }, serviceMonitor: { enabled: true } } },
      "metrics.serviceMonitor.enabled needs metrics.service.enabled",
    ],
  ])("%j", async (values, message) => {
    expect(await renderError(values)).toContain(message);
  });
});

describe("NOTES.txt", () => {
  it("says where Cairn runs, what it watches and where its metrics are", async () => {
    const out = await helmRun([
      "install",
      "cairn",
      CHART,
      "--namespace",
      "cairn-system",
      "--dry-run=client",
      ...valuesArgs({ watchLabelSelector: "team=a" }),
    ]);
    const notes = out.slice(out.indexOf("NOTES:"));
    expect(notes).toContain("kubectl -n cairn-system rollout status deployment/cairn-controller");
    expect(notes).toContain("with the labels team=a");
    expect(notes).toContain("service/cairn-controller-metrics, port 8080");
  });

  it("names the shards' Deployments and the label that puts an app in one", async () => {
    const out = await helmRun([
      "install",
      "cairn",
      CHART,
      "--namespace",
      "cairn-system",
      "--dry-run=client",
      ...valuesArgs({ sharding: { key: "sharding.cairn.dev/key", shards: ["one", "two"] } }),
    ]);
    const notes = out.slice(out.indexOf("NOTES:"));
    expect(notes).toContain(
      "Shards: deployment/cairn-controller-one, deployment/cairn-controller-two.",
    );
    expect(notes).toContain("Label a ManagedApp sharding.cairn.dev/key=<shard> to put it in one");
  });
});

describe("server-side dry run of the render on the test bed", () => {
  let admin: KubeClient;
  let namespace = "";
  const createdCrds: ObjectRef[] = [];

  beforeAll(async () => {
    admin = testClient();
    namespace = await createTestNamespace(admin, "chart");
    for (const file of readdirSync(monitoringCrds)) {
      const [crd] = parseAllDocuments(readFileSync(join(monitoringCrds, file), "utf8")).map(
        (d) => d.toJS() as KubeObject,
      );
      if (!crd) continue;
      const ref = { apiVersion: crd.apiVersion, kind: crd.kind, name: crd.metadata.name ?? "" };
      let existed = true;
      try {
        await admin.get(ref);
      } catch (err) {
        if (!isKubeError(err, "NotFound")) throw err;
        existed = false;
      }
      if (!existed) {
        await admin.create(crd);
        createdCrds.push(ref);
      }
      await eventually(`${ref.name} to be established`, async () => {
        const got = await admin.get(ref);
        const status = got["status"] as
          { conditions?: { type: string; status: string }[] } | undefined;
        const conditions = status?.conditions;
        return conditions?.some((c) => c.type === "Established" && c.status === "True")
          ? true
          : undefined;
      });
    }
  });

  afterAll(async () => {
    if (namespace) await deleteNamespace(admin, namespace);
    for (const ref of createdCrds) {
      try {
        await admin.delete(ref);
      } catch (err) {
        if (!isKubeError(err, "NotFound")) throw err;
      }
    }
  });

  it.each([
    ["the defaults", {}],
    ["every optional value", FULL_VALUES],
    ["two shards", { ...FULL_VALUES, sharding: { shards: ["one", "two"] } }],
  ])("the API accepts every object rendered with %s", async (_, values) => {
    // A release name of its own keeps the cluster-scoped names apart from other tests'.
    const release = `chart-${randomBytes(3).toString("hex")}`;
    const objects = await render(values, release, namespace);
    expect(objects.length).toBeGreaterThan(8);
    for (const obj of objects) {
      const result = await admin.apply(obj, { dryRun: true });
      expect(result, `${obj.kind}/${obj.metadata.name ?? ""}`).toMatchObject({
        kind: obj.kind,
        metadata: { name: obj.metadata.name },
      });
    }
  });
});

describe("promtool on charts/cairn/files/prometheus-rules.yaml", () => {
  it("checks the rules", async () => {
    const { stdout } = await run(promtool, [
      "check",
      "rules",
      join(FILES, "prometheus-rules.yaml"),
    ]);
    expect(stdout).toMatch(/SUCCESS: \d+ rules found/);
  });

  it("passes the rules' unit tests: failures page, refusals and dry runs do not", async () => {
    const { stdout } = await run(promtool, ["test", "rules", "prometheus-rules.test.yaml"], {
      cwd: FILES,
    });
    expect(stdout).toContain("SUCCESS");
  });

  it("refuses a rule file with a broken expression (the check can fail)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "cairn-rules-"));
    const file = join(dir, "broken.yaml");
    await writeFile(
      file,
      "groups:\n  - name: x\n    rules:\n      - alert: X\n        expr: sum((cairn_leader)\n",
    );
    try {
      const failure = await run(promtool, ["check", "rules", file]).then(
        () => "",
        (err: unknown) => String((err as { stderr?: unknown }).stderr ?? err),
      );
      expect(failure).toContain("FAILED");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
