import { selectRelease } from "../../../src/helm/select.ts";
import { captured } from "../../fixtures/load.ts";
import { describe, expect, it } from "vitest";
import { ManagedApp } from "../../../src/api/index.ts";
import { evaluate } from "../../../src/controllers/managedapp/evaluate.ts";
import { refsOf } from "../../../src/discovery/app-refs.ts";
import type { KubeObject } from "../../../src/kube/client.ts";

const none = () => ({ deployments: [], statefulSets: [], replicaSets: [], pods: [], pvcs: [] });

function app(spec: Record<string, unknown>) {
  return ManagedApp.parse({
    apiVersion: "cairn.dev/v1alpha1",
    kind: "ManagedApp",
    metadata: { name: "demo", namespace: "shop", generation: 1 },
    spec: { gitPath: "apps/demo/release.yaml", kustomizationRef: { name: "apps" }, ...spec },
  });
}

const ready = (kind: string, name: string, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion:
    kind === "Kustomization" ? "kustomize.toolkit.fluxcd.io/v1" : "helm.toolkit.fluxcd.io/v2",
  kind,
  metadata: { name, namespace: "shop", generation: 2 },
  spec: { chart: { spec: { version: "1.1.0" } } },
  status: {
    observedGeneration: 2,
    conditions: [
      { type: "Ready", status: "True", reason: "Succeeded", message: "ok", observedGeneration: 2 },
    ],
    ...extra,
  },
});

describe("ManagedApp evaluation", () => {
  it("resolves references in the app's namespace by default", () => {
    expect(refsOf(app({ helmReleaseRef: { name: "demo" } }))).toEqual({
      kustomization: { namespace: "shop", name: "apps" },
      helmRelease: { namespace: "shop", name: "demo" },
    });
  });

  it("denies a cross-namespace reference unless the controller allows it, naming the field", () => {
    const input = {
      app: app({ kustomizationRef: { name: "apps", namespace: "flux-system" } }),
      kustomization: undefined,
      helmRelease: undefined,
      objects: none,
    };
    const denied = evaluate({ ...input, allowCrossNamespaceRefs: false });
    expect(denied.ready).toMatchObject({ status: "False", reason: "ReferenceDenied" });
    expect(denied.ready.message).toContain("spec.kustomizationRef.namespace");
    const allowed = evaluate({ ...input, allowCrossNamespaceRefs: true });
    expect(allowed.ready).toMatchObject({ status: "False", reason: "ReferenceNotFound" });
    expect(allowed.ready.message).toBe("Kustomization flux-system/apps not found");
  });

  it("reports a missing HelmRelease", () => {
    const r = evaluate({
      app: app({ helmReleaseRef: { name: "db" } }),
      allowCrossNamespaceRefs: false,
      kustomization: ready("Kustomization", "apps"),
      helmRelease: undefined,
      objects: none,
    });
    expect(r.ready).toEqual({
      status: "False",
      reason: "ReferenceNotFound",
      message: "HelmRelease shop/db not found",
    });
  });

  it("discovers workloads from the HelmRelease inventory and names a missing one", () => {
    const hr = ready("HelmRelease", "demo", {
      history: [{ chartName: "demo", chartVersion: "1.1.0", status: "deployed", version: 2 }],
      inventory: { entries: [{ id: "shop_demo-db_apps_StatefulSet", v: "v1" }] },
    });
    const r = evaluate({
      app: app({ helmReleaseRef: { name: "demo" } }),
      allowCrossNamespaceRefs: false,
      kustomization: ready("Kustomization", "apps"),
      helmRelease: hr,
      releaseStorage: {
        kind: "read",
        location: { name: "demo", namespace: "shop", storageNamespace: "shop" },
        selection: selectRelease([
          captured("helm-secret-v1.json"),
          captured("helm-secret-v2.json"),
        ]),
      },
      objects: none,
    });
    expect(r.discovery).toEqual({
      pvcs: [],
      workloads: [
        {
          kind: "StatefulSet",
          namespace: "shop",
          name: "demo-db",
          reason: "listed in the HelmRelease inventory",
        },
      ],
      source: { kind: "HelmRelease", namespace: "shop", name: "demo" },
      via: "Inventory",
    });
    expect(r.ready.status).toBe("False");
    expect(r.ready.message).toContain("demo-db");
  });
});
