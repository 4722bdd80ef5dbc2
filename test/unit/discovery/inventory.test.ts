import { describe, expect, it } from "vitest";
import { inventoryOf, parseInventory, parseInventoryId } from "../../../src/discovery/inventory.ts";
import { workloadRefs } from "../../../src/discovery/refs.ts";
import { captured, derive } from "../../fixtures/load.ts";

describe("parseInventoryId", () => {
  it.each([
    [
      "shop_db_apps_StatefulSet",
      { namespace: "shop", name: "db", group: "apps", kind: "StatefulSet" },
    ],
    [
      "shop_data-db-0__PersistentVolumeClaim",
      { namespace: "shop", name: "data-db-0", group: "", kind: "PersistentVolumeClaim" },
    ],
    [
      "_fast_storage.k8s.io_StorageClass",
      { namespace: "", name: "fast", group: "storage.k8s.io", kind: "StorageClass" },
    ],
    [
      "_system__controller__demo_rbac.authorization.k8s.io_ClusterRole",
      {
        namespace: "",
        name: "system:controller:demo",
        group: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
      },
    ],
    [
      "shop_system__demo__ConfigMap",
      { namespace: "shop", name: "system:demo", group: "", kind: "ConfigMap" },
    ],
    [
      "_my_role_rbac.authorization.k8s.io_ClusterRole",
      { namespace: "", name: "my_role", group: "rbac.authorization.k8s.io", kind: "ClusterRole" },
    ],
    [
      "shop_demo_helm.toolkit.fluxcd.io_HelmRelease",
      { namespace: "shop", name: "demo", group: "helm.toolkit.fluxcd.io", kind: "HelmRelease" },
    ],
  ])("parses %s", (id, expected) => {
    expect(parseInventoryId(id)).toEqual({ ok: true, id: expected });
  });

  it.each([
    ["", "fewer than three separators"],
    ["shop", "fewer than three separators"],
    ["shop_db", "fewer than three separators"],
    ["shop_db_StatefulSet", "fewer than three separators"],
    ["shop___ConfigMap", "empty name"],
    ["shop_db_apps_", "invalid kind"],
    ["shop_db_apps_Stateful-Set", "invalid kind"],
    ["Shop_db_apps_StatefulSet", "invalid namespace"],
    ["shop_db_Apps_StatefulSet", "invalid group"],
  ])("rejects %j (%s) with a typed error", (id, why) => {
    const result = parseInventoryId(id);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toMatchObject({ code: "MalformedInventoryId", id });
    expect(!result.ok && result.error.message).toContain(why);
  });
});

describe("inventories captured from Flux", () => {
  it("reads the HelmRelease inventory helm-controller 1.6 writes", () => {
    const found = inventoryOf(captured("helmrelease.json"));
    expect(found.found).toBe(true);
    if (!found.found) return;
    expect(found.inventory.errors).toEqual([]);
    expect(found.inventory.refs).toEqual([
      { apiVersion: "v1", kind: "PersistentVolumeClaim", namespace: "shop", name: "demo-uploads" },
      { apiVersion: "v1", kind: "Service", namespace: "shop", name: "demo-web" },
      { apiVersion: "v1", kind: "Service", namespace: "shop", name: "demo-db" },
      { apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "demo-web" },
      { apiVersion: "apps/v1", kind: "StatefulSet", namespace: "shop", name: "demo-db" },
    ]);
    expect(workloadRefs(found.inventory.refs)).toEqual([
      { kind: "Deployment", namespace: "shop", name: "demo-web" },
      { kind: "StatefulSet", namespace: "shop", name: "demo-db" },
    ]);
  });

  it("reads the Kustomization inventory", () => {
    const found = inventoryOf(captured("kustomization.json"));
    expect(found.found && found.inventory.refs).toEqual([
      {
        apiVersion: "helm.toolkit.fluxcd.io/v2",
        kind: "HelmRelease",
        namespace: "shop",
        name: "demo",
      },
      {
        apiVersion: "source.toolkit.fluxcd.io/v1",
        kind: "HelmRepository",
        namespace: "shop",
        name: "demo",
      },
    ]);
  });

  it("says not found when the object has no inventory (older helm-controller)", () => {
    const old = derive(captured("helmrelease.json"), (hr) => {
      delete (hr["status"] as Record<string, unknown>)["inventory"];
    });
    expect(inventoryOf(old)).toEqual({ found: false });
    expect(inventoryOf(undefined)).toEqual({ found: false });
    expect(inventoryOf({ status: { inventory: "nonsense" } })).toEqual({ found: false });
  });

  it("reports malformed entries next to the good ones", () => {
    const parsed = parseInventory([
      { id: "shop_demo-web_apps_Deployment", v: "v1" },
      { id: "garbage", v: "v1" },
    ]);
    expect(parsed.refs).toHaveLength(1);
    expect(parsed.errors).toEqual([
      expect.objectContaining({ code: "MalformedInventoryId", id: "garbage" }),
    ]);
  });

  it("keeps only apps Deployments and StatefulSets as workloads, once each", () => {
    expect(
      workloadRefs([
        { apiVersion: "apps/v1", kind: "Deployment", namespace: "a", name: "x" },
        { apiVersion: "apps/v1", kind: "Deployment", namespace: "a", name: "x" },
        { apiVersion: "example.com/v1", kind: "Deployment", namespace: "a", name: "y" },
        { apiVersion: "apps/v1", kind: "DaemonSet", namespace: "a", name: "z" },
        { apiVersion: "apps/v1", kind: "StatefulSet", namespace: "b", name: "x" },
      ]),
    ).toEqual([
      { kind: "Deployment", namespace: "a", name: "x" },
      { kind: "StatefulSet", namespace: "b", name: "x" },
    ]);
  });
});
