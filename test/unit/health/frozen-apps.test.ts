import { describe, expect, it } from "vitest";
import type { FluxObjectRef } from "../../../src/api/index.ts";
import { fluxKey, frozenApps } from "../../../src/health/frozen-apps.ts";
import type { KubeObject } from "../../../src/kube/client.ts";

const ks = (ns: string): FluxObjectRef => ({ kind: "Kustomization", namespace: ns, name: "apps" });
const hr = (ns: string): FluxObjectRef => ({ kind: "HelmRelease", namespace: ns, name: "demo" });

function rollback(
  ns: string,
  name: string,
  reason: string,
  suspended: FluxObjectRef[],
): KubeObject {
  return {
    apiVersion: "cairn.dev/v1alpha1",
    kind: "RollbackRequest",
    metadata: { name, namespace: ns, labels: { "cairn.dev/managed-app": "demo" } },
    status: {
      conditions: [
        {
          type: "Complete",
          status: reason === "Succeeded" ? "True" : "False",
          reason,
          message: "",
          lastTransitionTime: "2026-01-01T00:00:00Z",
        },
      ],
      suspended,
    },
  };
}

describe("frozen apps", () => {
  it("counts each app once while an object a RestoreIncomplete rollback suspended stays suspended", () => {
    const stillSuspended = new Set([fluxKey(ks("a")), fluxKey(hr("b"))]);
    const frozen = frozenApps(
      [
        rollback("a", "r1", "RestoreIncomplete", [ks("a"), hr("a")]),
        // A retry that failed the same way: the same app, counted once.
        rollback("a", "r2", "RestoreIncomplete", [ks("a")]),
        rollback("b", "r3", "RestoreIncomplete", [ks("b"), hr("b")]),
        // Thawed by hand: no longer frozen, but still watched.
        rollback("c", "r4", "RestoreIncomplete", [ks("c")]),
        // Other endings never freeze an app.
        rollback("d", "r5", "DeadlineExceeded", [ks("d")]),
        rollback("e", "r6", "Succeeded", [ks("e")]),
      ],
      (f) => stillSuspended.has(fluxKey(f)),
    );
    expect([...frozen.apps].sort()).toEqual(["a/demo", "b/demo"]);
    expect([...frozen.objects].sort()).toEqual([
      "HelmRelease/a/demo",
      "HelmRelease/b/demo",
      "Kustomization/a/apps",
      "Kustomization/b/apps",
      "Kustomization/c/apps",
    ]);
  });

  it("is empty without any RestoreIncomplete rollback", () => {
    const frozen = frozenApps([rollback("a", "r", "Succeeded", [ks("a")])], () => true);
    expect(frozen.apps.size).toBe(0);
    expect(frozen.objects.size).toBe(0);
  });
});
