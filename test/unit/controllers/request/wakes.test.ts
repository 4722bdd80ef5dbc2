import { describe, expect, it } from "vitest";
import { wakes } from "../../../../src/controllers/request/world.ts";
import type { KubeObject } from "../../../../src/kube/client.ts";
import type { ChangeEvent } from "../../../../src/runtime/informer.ts";

function request(step: string | undefined, extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: "cairn.dev/v1alpha1",
    kind: "UpgradeRequest",
    metadata: { namespace: "shop", name: "up-1", resourceVersion: "1", ...extra },
    status: {
      ...(step ? { step: { name: step, startedAt: "2026-11-25T10:00:00Z" } } : {}),
      plan: {
        volumes: [{ namespace: "shop", name: "data-db-0", snapshot: "data-db-0-abc" }],
      },
    },
  };
}

function obj(kind: string, name: string, generation = 1): KubeObject {
  return { apiVersion: "v1", kind, metadata: { namespace: "shop", name, generation } };
}

const updated = (object: KubeObject, old = object): ChangeEvent => ({
  type: "updated",
  key: `shop/${object.metadata.name ?? ""}`,
  object,
  old,
  resync: false,
});

describe("wakes", () => {
  it("wakes a step only for the kinds it waits on", () => {
    const pod = updated(obj("Pod", "db-0"));
    expect(wakes(request("ScaleDown"), "Pod", pod)).toBe(true);
    expect(wakes(request("AwaitFlux"), "Pod", pod)).toBe(false);
    const hr = updated(obj("HelmRelease", "db"));
    expect(wakes(request("AwaitFlux"), "HelmRelease", hr)).toBe(true);
    expect(wakes(request("Resume"), "HelmRelease", hr)).toBe(true);
    expect(wakes(request("Snapshot"), "HelmRelease", hr)).toBe(false);
  });

  it("wakes no step that acts at once, nor a request between steps", () => {
    const k = updated(obj("Kustomization", "apps"));
    for (const step of ["Suspend", "Commit", "ScaleUp", "Finish", undefined])
      expect(wakes(request(step), "Kustomization", k)).toBe(false);
  });

  it("wakes for the request's own PVCs and snapshots only", () => {
    expect(
      wakes(request("Snapshot"), "VolumeSnapshot", updated(obj("VolumeSnapshot", "data-db-0-abc"))),
    ).toBe(true);
    expect(
      wakes(request("Snapshot"), "VolumeSnapshot", updated(obj("VolumeSnapshot", "other-xyz"))),
    ).toBe(false);
    const own = updated(obj("PersistentVolumeClaim", "data-db-0"));
    const other = updated(obj("PersistentVolumeClaim", "data-other-0"));
    expect(wakes(request("HealthCheck"), "PersistentVolumeClaim", own)).toBe(true);
    expect(wakes(request("HealthCheck"), "PersistentVolumeClaim", other)).toBe(false);
  });

  it("wakes Plan and Admit when another request moves (the app's lock)", () => {
    const other = updated(obj("UpgradeRequest", "up-0"));
    expect(wakes(request("Admit"), "UpgradeRequest", other)).toBe(true);
    expect(wakes(request("Plan"), "RollbackRequest", other)).toBe(true);
    expect(wakes(request("AwaitFlux"), "UpgradeRequest", other)).toBe(false);
  });

  it("wakes for the ManagedApp's spec, never its status", () => {
    const before = obj("ManagedApp", "db", 1);
    expect(
      wakes(request("AwaitFlux"), "ManagedApp", updated(obj("ManagedApp", "db", 1), before)),
    ).toBe(false);
    expect(
      wakes(request("AwaitFlux"), "ManagedApp", updated(obj("ManagedApp", "db", 2), before)),
    ).toBe(true);
  });

  it("wakes a request being deleted for anything its cleanup may wait on", () => {
    const deleting = request("Commit", { deletionTimestamp: "2026-11-25T10:01:00Z" });
    expect(wakes(deleting, "Pod", updated(obj("Pod", "db-0")))).toBe(true);
  });
});
