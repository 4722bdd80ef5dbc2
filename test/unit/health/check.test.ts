import { describe, expect, it } from "vitest";
import { selectRelease } from "../../../src/helm/select.ts";
import { checkHealth, type HealthInput } from "../../../src/health/check.ts";
import type { KubeObject } from "../../../src/kube/client.ts";
import { captured, capturedList, derive } from "../../fixtures/load.ts";

const EXPECTED_WORKLOADS = [
  { kind: "StatefulSet", namespace: "shop", name: "demo-db", replicas: 1 },
  { kind: "Deployment", namespace: "shop", name: "demo-web", replicas: 1 },
] as const;

/** The demo app as captured at a moment ("" after the upgrade to 1.1.0, "-2.0.0-failed" …). */
function app(suffix = "", overrides: Partial<HealthInput> = {}): HealthInput {
  return {
    kustomization: { found: true, object: captured("kustomization.json") },
    helmRelease: { found: true, object: captured("helmrelease.json") },
    helmReleaseState: selectRelease([
      captured("helm-secret-v1.json"),
      captured("helm-secret-v2.json"),
    ]),
    workloads: [captured(`statefulset${suffix}.json`), captured(`deployment${suffix}.json`)],
    replicaSets: capturedList(`replicasets${suffix}.json`),
    pods: capturedList(`pods${suffix}.json`),
    pvcs: capturedList(`pvcs${suffix}.json`),
    expected: {
      replicasByWorkload: EXPECTED_WORKLOADS,
      chartVersion: "1.1.0",
      pvcs: [
        { namespace: "shop", name: "data-demo-db-0" },
        { namespace: "shop", name: "demo-uploads" },
      ],
    },
    ...overrides,
  };
}

function webPodIndex(pods: readonly KubeObject[]): number {
  return pods.findIndex((p) => p.metadata.name?.startsWith("demo-web-"));
}

/** The captured pods with the web pod unready and its container waiting for the given reason. */
function podsWithWebWaiting(reason: string, message: string): KubeObject[] {
  const pods = capturedList("pods.json");
  const i = webPodIndex(pods);
  pods[i] = derive(pods[i] as KubeObject, (p) => {
    const status = p["status"] as {
      conditions: { type: string; status: string }[];
      containerStatuses: { ready: boolean; state: object }[];
    };
    for (const c of status.conditions)
      if (c.type === "Ready" || c.type === "ContainersReady") c.status = "False";
    const container = status.containerStatuses[0];
    if (container) {
      container.ready = false;
      container.state = { waiting: { reason, message } };
    }
  });
  return pods;
}

function deploymentWith(
  change: (spec: Record<string, unknown>, status: Record<string, unknown>) => void,
) {
  return derive(captured("deployment.json"), (d) =>
    change(d["spec"] as Record<string, unknown>, d["status"] as Record<string, unknown>),
  );
}

describe("checkHealth on the captured demo app", () => {
  it("is healthy after the upgrade to 1.1.0", () => {
    expect(checkHealth(app())).toEqual({
      healthy: true,
      status: "Current",
      reason: "Healthy",
      message: "the Kustomization, the HelmRelease, 2 workloads, 2 PVCs are healthy",
    });
  });

  it("names the stalled HelmRelease after the broken 2.0.0", () => {
    const result = checkHealth(
      app("-2.0.0-failed", {
        helmRelease: { found: true, object: captured("helmrelease-failed.json") },
        expected: { ...app().expected, chartVersion: "2.0.0" },
      }),
    );
    expect(result).toMatchObject({
      healthy: false,
      status: "Failed",
      reason: "HelmReleaseStalled",
      object: { kind: "HelmRelease", namespace: "shop", name: "demo" },
    });
    expect(result.message).toBe(
      "HelmRelease shop/demo: RetriesExceeded: Failed to upgrade after 1 attempt(s)",
    );
  });

  it("names the HelmRelease while it is still at the old chart version", () => {
    const result = checkHealth(
      app("", { helmRelease: { found: true, object: captured("helmrelease-1.0.0.json") } }),
    );
    expect(result).toMatchObject({ healthy: false, reason: "HelmReleaseChartVersionMismatch" });
  });

  it("reports a release stuck in pending-upgrade even when the HelmRelease looks Ready", () => {
    const result = checkHealth(
      app("", {
        helmReleaseState: selectRelease([
          captured("helm-secret-v2.json"),
          captured("helm-secret-v3-pending.json"),
        ]),
      }),
    );
    expect(result).toMatchObject({ healthy: false, status: "Failed", reason: "ReleasePending" });
    expect(result.message).toMatch(
      /^Helm release: shop\/demo revision 3 \(demo 2\.0\.0\) is pending-upgrade/,
    );
  });

  it("names the first unready workload and its pod's reason while the broken chart rolls out", () => {
    // Flux objects as if they had not noticed yet, to reach the workload checks.
    const result = checkHealth(app("-2.0.0-failed"));
    expect(result).toMatchObject({
      healthy: false,
      status: "InProgress",
      reason: "WorkloadNotReady",
      object: { kind: "StatefulSet", namespace: "shop", name: "demo-db" },
    });
    expect(result.message).toMatch(
      /^StatefulSet shop\/demo-db: 0 of 1 replicas ready; pod shop\/demo-db-0: Unschedulable \(0\/2 nodes are available/,
    );
  });

  it("names a pod's CreateContainerConfigError when a Secret it needs is gone", () => {
    const pods = podsWithWebWaiting(
      "CreateContainerConfigError",
      'secret "demo-credentials" not found',
    );
    const workloads = [
      captured("statefulset.json"),
      deploymentWith((_spec, status) => {
        status["readyReplicas"] = 0;
        status["availableReplicas"] = 0;
      }),
    ];
    const result = checkHealth(app("", { pods, workloads }));
    expect(result).toMatchObject({
      healthy: false,
      reason: "WorkloadNotReady",
      object: { kind: "Deployment", name: "demo-web" },
    });
    expect(result.message).toContain(
      'container web: CreateContainerConfigError (secret "demo-credentials" not found)',
    );
  });

  it("catches an unready pod before the Deployment's status says so", () => {
    const pods = podsWithWebWaiting("CrashLoopBackOff", "back-off 10s restarting failed container");
    const result = checkHealth(app("", { pods }));
    expect(result).toMatchObject({
      healthy: false,
      reason: "PodNotReady",
      object: { kind: "Pod", namespace: "shop" },
    });
    expect(result.message).toMatch(
      /^Deployment shop\/demo-web: pod shop\/demo-web-\S+: container web: CrashLoopBackOff/,
    );
  });

  it("judges only the app's pods, found through owner references", () => {
    const stranger = derive(
      podsWithWebWaiting("ImagePullBackOff", "nope")[
        webPodIndex(capturedList("pods.json"))
      ] as KubeObject,
      (p) => {
        Object.assign(p.metadata, { name: "demo-web-lookalike", uid: "x", ownerReferences: [] });
      },
    );
    expect(checkHealth(app("", { pods: [...capturedList("pods.json"), stranger] })).healthy).toBe(
      true,
    );
  });

  it("recovers when the pod is ready again", () => {
    expect(checkHealth(app("", { pods: capturedList("pods.json") })).healthy).toBe(true);
  });
});

describe("checkHealth: Cairn's replica rules", () => {
  it("reports a planned workload that does not exist", () => {
    const result = checkHealth(app("", { workloads: [captured("statefulset.json")] }));
    expect(result).toMatchObject({
      healthy: false,
      reason: "WorkloadMissing",
      message: "Deployment shop/demo-web not found",
      object: { kind: "Deployment", namespace: "shop", name: "demo-web" },
    });
  });

  it("is not healthy with a workload left at 0 replicas", () => {
    const atZero = deploymentWith((spec, status) => {
      spec["replicas"] = 0;
      Object.assign(status, {
        replicas: 0,
        updatedReplicas: 0,
        readyReplicas: 0,
        availableReplicas: 0,
      });
    });
    const result = checkHealth(
      app("", { workloads: [captured("statefulset.json"), atZero], pods: [] }),
    );
    expect(result).toMatchObject({
      healthy: false,
      reason: "ScaledToZero",
      message: "Deployment shop/demo-web is scaled to 0 replicas",
    });
  });

  it("is not healthy at 0 even when 0 was recorded, unless the app is meant to be stopped", () => {
    const atZero = deploymentWith((spec, status) => {
      spec["replicas"] = 0;
      Object.assign(status, {
        replicas: 0,
        updatedReplicas: 0,
        readyReplicas: 0,
        availableReplicas: 0,
      });
    });
    const input = app("", {
      workloads: [captured("statefulset.json"), atZero],
      pods: capturedList("pods.json").filter((p) => !p.metadata.name?.startsWith("demo-web-")),
    });
    const zeroRecorded = {
      ...input.expected,
      replicasByWorkload: [EXPECTED_WORKLOADS[0], { ...EXPECTED_WORKLOADS[1], replicas: 0 }],
    };
    expect(checkHealth({ ...input, expected: zeroRecorded }).healthy).toBe(false);
    expect(checkHealth({ ...input, expected: { ...zeroRecorded, stopped: true } }).healthy).toBe(
      true,
    );
  });

  it("when stopped, waits until the pods are gone", () => {
    const stopping = deploymentWith((spec, status) => {
      spec["replicas"] = 0;
      Object.assign(status, { replicas: 1 });
    });
    const result = checkHealth(
      app("", {
        workloads: [captured("statefulset.json"), stopping],
        expected: { ...app().expected, stopped: true },
      }),
    );
    expect(result).toMatchObject({ healthy: false, status: "InProgress", reason: "PodsRemaining" });
  });

  it("wants the recorded replica count, not just any rolled-out state", () => {
    const result = checkHealth(
      app("", {
        expected: {
          ...app().expected,
          replicasByWorkload: [{ ...EXPECTED_WORKLOADS[0], replicas: 3 }],
        },
      }),
    );
    expect(result).toMatchObject({
      healthy: false,
      reason: "ReplicasMismatch",
      message: "StatefulSet shop/demo-db wants 1 replicas, 3 were recorded",
    });
  });
});

describe("checkHealth: Flux objects and PVCs", () => {
  it("reports a missing Kustomization", () => {
    const result = checkHealth(
      app("", { kustomization: { found: false, namespace: "shop", name: "apps" } }),
    );
    expect(result).toMatchObject({
      healthy: false,
      reason: "KustomizationMissing",
      message: "Kustomization shop/apps not found",
    });
  });

  it("reports a missing HelmRelease", () => {
    const result = checkHealth(
      app("", { helmRelease: { found: false, namespace: "shop", name: "demo" } }),
    );
    expect(result).toMatchObject({ healthy: false, reason: "HelmReleaseMissing" });
  });

  it("works for an app without a HelmRelease", () => {
    const input = app("");
    const result = checkHealth({
      ...input,
      helmRelease: undefined,
      helmReleaseState: undefined,
      expected: { ...input.expected, chartVersion: undefined },
    });
    expect(result).toMatchObject({
      healthy: true,
      message: "the Kustomization, 2 workloads, 2 PVCs are healthy",
    });
  });

  it("checks the Kustomization before anything else", () => {
    const suspended = derive(
      captured("kustomization.json"),
      (k) => ((k["spec"] as { suspend: boolean }).suspend = true),
    );
    const result = checkHealth(
      app("-2.0.0-failed", { kustomization: { found: true, object: suspended } }),
    );
    expect(result).toMatchObject({
      healthy: false,
      reason: "KustomizationSuspended",
      object: { kind: "Kustomization", name: "apps" },
    });
  });

  it("wants every planned PVC present and Bound", () => {
    const pvcs = capturedList("pvcs.json");
    const pending = pvcs.map((p) =>
      p.metadata.name === "demo-uploads"
        ? derive(p, (x) => ((x["status"] as { phase: string }).phase = "Pending"))
        : p,
    );
    expect(checkHealth(app("", { pvcs: pending }))).toMatchObject({
      healthy: false,
      reason: "PvcNotBound",
      message: "PersistentVolumeClaim shop/demo-uploads: the claim is Pending",
    });
    expect(checkHealth(app("", { pvcs: pvcs.slice(0, 1) }))).toMatchObject({
      healthy: false,
      reason: "PvcMissing",
    });
  });

  it("turns an object it cannot read into a result, not an exception", () => {
    const result = checkHealth(
      app("", {
        workloads: [
          {
            kind: "Deployment",
            metadata: { name: "broken", namespace: "shop" },
            spec: { replicas: "many" },
          },
        ],
      }),
    );
    expect(result).toMatchObject({ healthy: false, status: "Failed", reason: "InvalidObject" });
    expect(result.message).toMatch(/^Deployment shop\/broken cannot be read: spec\.replicas/);
    expect(checkHealth(app("", { kustomization: { found: true, object: null } }))).toMatchObject({
      reason: "InvalidObject",
    });
  });
});
