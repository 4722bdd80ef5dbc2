// The Helm chart must render what deploy/ holds. Helm is not available to unit tests, so the
// templates are read with their template actions stubbed out: enough to compare the parts that
// carry no templating (RBAC rules) with deploy/, and to check that every value a template reads
// is declared in values.yaml. test/integration/deploy/chart.test.ts renders it with real helm.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { loadConfig } from "../../../src/config.ts";
import type { KubeObject } from "../../../src/kube/client.ts";
import { loadKustomizeBase } from "../../support/manifests.ts";

const ROOT = join(import.meta.dirname, "../../..");
const CHART = join(ROOT, "charts/cairn");
const TEMPLATES = join(CHART, "templates");

const chart = parse(readFileSync(join(CHART, "Chart.yaml"), "utf8")) as Record<string, unknown>;
const values = parse(readFileSync(join(CHART, "values.yaml"), "utf8")) as Record<string, unknown>;
const deploy = loadKustomizeBase(join(ROOT, "deploy"));

function lookup(path: string): unknown {
  let at: unknown = values;
  for (const step of path.split(".")) {
    if (at === null || typeof at !== "object" || !(step in at)) return undefined;
    at = (at as Record<string, unknown>)[step];
  }
  return at;
}

/**
 * A template with each action replaced: a line holding only actions goes, `{{ .Values.x }}`
 * becomes the value (quoted when piped to `quote`), anything else becomes STUB. Both branches
 * of an `if` stay, so this suits templates whose conditionals wrap whole objects.
 */
function stubRender(file: string): KubeObject[] {
  const text = readFileSync(join(TEMPLATES, file), "utf8")
    .split("\n")
    .filter((line) => !/^\s*(\{\{[^}]*\}\}\s*)+$/.test(line))
    .join("\n")
    .replace(/\{\{-?\s*([^}]*?)\s*-?\}\}/g, (_all, action: string) => {
      const direct = /^\.Values\.([\w.]+)(\s*\|\s*quote)?$/.exec(action);
      if (!direct?.[1]) return "STUB";
      const value = lookup(direct[1]);
      return direct[2] ? JSON.stringify(String(value)) : String(value);
    });
  return parseAllDocuments(text)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null);
}

function fromDeploy(kind: string, name: string): KubeObject {
  const found = deploy.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`deploy/ has no ${kind}/${name}`);
  return found;
}

function fromChart(file: string, kind: string): KubeObject[] {
  return stubRender(file).filter((o) => o.kind === kind);
}

describe("charts/cairn", () => {
  it("is a v2 chart versioned with the controller", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    expect(chart).toMatchObject({ apiVersion: "v2", name: "cairn", type: "application" });
    expect(chart["version"]).toBe(pkg.version);
    expect(chart["appVersion"]).toBe(pkg.version);
  });

  it("declares the documented values", () => {
    for (const path of [
      "image.repository",
      "image.tag",
      "image.pullPolicy",
      "replicas",
      "resources.requests",
      "resources.limits",
      "leaderElection.enabled",
      "metrics.port",
      "metrics.service.enabled",
      "allowCrossNamespaceRefs",
      "logLevel",
    ]) {
      expect(lookup(path), path).not.toBeUndefined();
    }
  });

  it("declares every value a template reads", () => {
    for (const file of readdirSync(TEMPLATES)) {
      const text = readFileSync(join(TEMPLATES, file), "utf8");
      for (const match of text.matchAll(/\.Values\.([\w.]+)/g)) {
        expect(lookup(match[1] ?? ""), `${file}: .Values.${match[1] ?? ""}`).not.toBeUndefined();
      }
    }
  });

  it("defaults to the controller's own defaults and to deploy/'s settings", () => {
    const result = loadConfig([], {}, { hostname: "x" });
    if (!result.ok) throw new Error(result.message);
    const c = result.config;
    expect(values).toMatchObject({
      replicas: 1,
      logLevel: c.logLevel,
      workers: c.workers,
      allowCrossNamespaceRefs: c.allowCrossNamespaceRefs,
      shutdownTimeoutSeconds: c.shutdownTimeoutSeconds,
      maxAutoUpgrades: c.maxAutoUpgrades,
      leaderElection: {
        enabled: c.leaderElect,
        leaseName: c.leaseName,
        leaseDurationSeconds: c.leaseDurationSeconds,
        renewDeadlineSeconds: c.renewDeadlineSeconds,
        retryPeriodSeconds: c.retryPeriodSeconds,
      },
      metrics: { port: c.metricsAddr.port },
      health: { port: c.healthAddr.port },
    });
    const container = (
      fromDeploy("Deployment", "cairn-controller")["spec"] as {
        template: { spec: { containers: { resources: unknown }[] } };
      }
    ).template.spec.containers[0];
    expect(values["resources"]).toEqual(container?.resources);
    expect(lookup("image.tag")).not.toBe("latest");
  });

  it("grants the controller exactly the rules deploy/ grants", () => {
    const [role] = fromChart("clusterrole.yaml", "ClusterRole");
    expect(role?.["rules"]).toEqual(fromDeploy("ClusterRole", "cairn-controller")["rules"]);
    const [binding] = fromChart("clusterrole.yaml", "ClusterRoleBinding");
    expect(binding?.["roleRef"]).toMatchObject({ kind: "ClusterRole" });
  });

  it("gives the leader-election Role the deploy/ rules, for the configured Lease name", () => {
    const [role] = fromChart("leader-election.yaml", "Role");
    expect(role?.["rules"]).toEqual(fromDeploy("Role", "cairn-leader-election")["rules"]);
  });

  it("offers the same aggregated user roles as deploy/", () => {
    const roles = fromChart("user-roles.yaml", "ClusterRole");
    expect(roles.map((r) => r["rules"])).toEqual([
      fromDeploy("ClusterRole", "cairn-view")["rules"],
      fromDeploy("ClusterRole", "cairn-edit")["rules"],
    ]);
    expect(roles[0]?.metadata.labels).toMatchObject({
      "rbac.authorization.k8s.io/aggregate-to-view": "true",
    });
    expect(roles[1]?.metadata.labels).toMatchObject({
      "rbac.authorization.k8s.io/aggregate-to-edit": "true",
    });
  });

  it("defaults the security contexts to deploy/'s", () => {
    const pod = (
      fromDeploy("Deployment", "cairn-controller")["spec"] as {
        template: {
          spec: { securityContext: unknown; containers: { securityContext: unknown }[] };
        };
      }
    ).template.spec;
    expect(values["podSecurityContext"]).toEqual(pod.securityContext);
    expect(values["securityContext"]).toEqual(pod.containers[0]?.securityContext);
  });

  // The rendered pod and its arguments are compared with deploy/ under the real helm CLI in
  // test/integration/deploy/chart.test.ts.

  it("carries every CRD of crds/, byte for byte, and nothing else", () => {
    // crds/kustomization.yaml makes the folder a kustomize base; it is no CRD.
    const source = readdirSync(join(ROOT, "crds")).filter(
      (f) => f.endsWith(".yaml") && f !== "kustomization.yaml",
    );
    const carried = readdirSync(join(CHART, "crds"));
    expect(carried.sort()).toEqual(source.sort());
    for (const file of carried) {
      const copy = readFileSync(join(CHART, "crds", file), "utf8");
      expect(copy === readFileSync(join(ROOT, "crds", file), "utf8"), file).toBe(true);
    }
  });
});
