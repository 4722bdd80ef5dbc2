// classifyKustomization / classifyHelmRelease on captured objects, changed into the states the
// real controllers write during a reconcile. kustomize-controller (v1.9) starts every reconcile,
// also the periodic one of an unchanged revision, with Ready=Unknown "Reconciliation in progress"
// and Reconciling=True "Fetching manifests for revision <r> with a timeout of <t>"; it sets
// lastAttemptedRevision once the artifact is fetched ("Building manifests for revision …"),
// lastAppliedRevision and Ready=True only on success, and puts the outcome first in status.history.
import { describe, expect, it } from "vitest";
import {
  classifyHelmRelease,
  classifyKustomization,
  HelmRelease,
  helmReleaseStatus,
  Kustomization,
  kustomizationStatus,
} from "../../../src/health/flux.ts";
import { captured, derive } from "../../fixtures/load.ts";

const ks = (change: (k: Kustomization) => void = () => undefined) =>
  derive(Kustomization.parse(captured("kustomization.json")), change);
const hr = (file: string, change: (h: HelmRelease) => void = () => undefined) =>
  derive(HelmRelease.parse(captured(file)), change);

const APPLIED = "main@sha1:4c0eebdc27f45a2525309830c5efacc057050b17";
const NEXT = "main@sha1:9d1e0b7a2a8f4c7b1e3d5f6a7b8c9d0e1f2a3b4c";

/** The conditions kustomize-controller writes at the start of a reconcile of `revision`. */
function reconciling(
  k: Kustomization,
  revision: string,
  step: "Fetching" | "Building" | "Detecting drift" | "Running health checks" = "Fetching",
) {
  const generation = k.metadata.generation;
  const verb = step === "Fetching" || step === "Building" ? `${step} manifests` : step;
  k.status.conditions = [
    {
      type: "Ready",
      status: "Unknown",
      reason: "Progressing",
      message: "Reconciliation in progress",
      observedGeneration: generation,
    },
    {
      type: "Reconciling",
      status: "True",
      reason: "Progressing",
      message: `${verb} for revision ${revision} with a timeout of 2m0s`,
      observedGeneration: generation,
    },
  ];
  if (step !== "Fetching") k.status.lastAttemptedRevision = revision;
}

describe("classifyKustomization", () => {
  it("the captured Ready Kustomization is settled", () => {
    expect(classifyKustomization(ks()).phase).toBe("settled");
  });

  it.each(["Fetching", "Building", "Detecting drift", "Running health checks"] as const)(
    "a routine reconcile of the applied revision (%s) is settled, not a health change",
    (step) => {
      const k = ks((x) => reconciling(x, APPLIED, step));
      expect(classifyKustomization(k)).toEqual({
        phase: "settled",
        reason: "ReconcilingUnchanged",
        message: `Kustomization is reconciling revision ${APPLIED} again, which it applied successfully before`,
      });
      expect(kustomizationStatus(k).status).toBe("Current");
    },
  );

  it("a new revision being fetched is progressing at once", () => {
    const k = ks((x) => reconciling(x, NEXT));
    expect(classifyKustomization(k)).toMatchObject({ phase: "progressing", reason: "Progressing" });
    expect(kustomizationStatus(k).status).toBe("InProgress");
  });

  it("a new revision being built or applied is progressing", () => {
    const k = ks((x) => reconciling(x, NEXT, "Building"));
    expect(classifyKustomization(k).phase).toBe("progressing");
  });

  it("a retry of the applied revision after a failed attempt is progressing", () => {
    const k = ks((x) => {
      reconciling(x, APPLIED);
      const last = x.status.history?.[0];
      if (last) last.lastReconciledStatus = "HealthCheckFailed";
    });
    expect(classifyKustomization(k).phase).toBe("progressing");
  });

  it("a retry after a failed new revision is progressing", () => {
    const k = ks((x) => {
      reconciling(x, NEXT);
      x.status.lastAttemptedRevision = NEXT;
    });
    expect(classifyKustomization(k).phase).toBe("progressing");
  });

  it("a reconcile that names no revision is not taken for routine", () => {
    const k = ks((x) => {
      reconciling(x, APPLIED);
      const c = x.status.conditions?.find((c) => c.type === "Reconciling");
      if (c) c.message = "Reconciliation in progress";
    });
    expect(classifyKustomization(k).phase).toBe("progressing");
  });

  it("a new generation is progressing even if the revision is unchanged", () => {
    const k = ks((x) => {
      reconciling(x, APPLIED);
      x.metadata.generation = 2;
    });
    expect(classifyKustomization(k)).toMatchObject({
      phase: "progressing",
      reason: "GenerationNotObserved",
    });
  });

  it("a first reconcile that keeps failing says why while its generation is not observed", () => {
    // kustomize-controller 1.9 under load: the build failed and is retried; it leaves
    // status.observedGeneration at -1 and writes Ready=False for generation 1.
    const k = ks((x) => {
      x.status.observedGeneration = -1;
      x.status.conditions = [
        {
          type: "Reconciling",
          status: "True",
          reason: "ProgressingWithRetry",
          message: `Building manifests for revision ${APPLIED} with a timeout of 2m0s`,
          observedGeneration: x.metadata.generation,
        },
        {
          type: "Ready",
          status: "False",
          reason: "BuildFailed",
          message: "kustomize build failed: must build at directory",
          observedGeneration: x.metadata.generation,
        },
      ];
    });
    const state = classifyKustomization(k);
    expect(state).toMatchObject({ phase: "progressing", reason: "BuildFailed" });
    expect(state.message).toContain("kustomize build failed");
  });

  it("a Ready=False left from an older generation does not stand for the new one", () => {
    const k = ks((x) => {
      x.status.observedGeneration = -1;
      x.metadata.generation = 2;
      x.status.conditions = [
        {
          type: "Ready",
          status: "False",
          reason: "BuildFailed",
          message: "old",
          observedGeneration: 1,
        },
      ];
    });
    expect(classifyKustomization(k)).toMatchObject({
      phase: "progressing",
      reason: "GenerationNotObserved",
    });
  });

  it("a failure shows at once", () => {
    const k = ks((x) => {
      x.status.conditions = [
        {
          type: "Ready",
          status: "False",
          reason: "HealthCheckFailed",
          message: "timeout waiting for: [Deployment/shop/demo-web status: 'InProgress']",
          observedGeneration: 1,
        },
      ];
    });
    expect(classifyKustomization(k)).toMatchObject({
      phase: "failed",
      reason: "HealthCheckFailed",
    });
    expect(kustomizationStatus(k).status).toBe("Failed");
  });

  it("a stall shows at once, also while Ready=Unknown", () => {
    const k = ks((x) => {
      reconciling(x, APPLIED);
      x.status.conditions?.push({
        type: "Stalled",
        status: "True",
        reason: "InvalidCELExpression",
        message: "terminal error",
        observedGeneration: 1,
      });
    });
    expect(classifyKustomization(k)).toMatchObject({ phase: "stalled", reason: "Stalled" });
    expect(kustomizationStatus(k).status).toBe("Failed");
  });

  it("suspended is progressing (not settled)", () => {
    expect(classifyKustomization(ks((x) => (x.spec.suspend = true))).phase).toBe("progressing");
  });
});

describe("classifyHelmRelease", () => {
  /** Ready=Unknown and Reconciling=True at the observed generation, nothing else changed. */
  const inFlight = (x: HelmRelease) => {
    const generation = x.metadata.generation;
    x.status.conditions = [
      {
        type: "Reconciling",
        status: "True",
        reason: "Progressing",
        observedGeneration: generation,
      },
      { type: "Ready", status: "Unknown", reason: "Progressing", observedGeneration: generation },
    ];
  };

  it("the captured deployed release is settled", () => {
    expect(classifyHelmRelease(hr("helmrelease.json")).phase).toBe("settled");
  });

  it("reconciling again the chart and values it runs is settled", () => {
    const h = hr("helmrelease.json", inFlight);
    expect(classifyHelmRelease(h)).toMatchObject({
      phase: "settled",
      reason: "ReconcilingUnchanged",
    });
    expect(helmReleaseStatus(h, "1.1.0").status).toBe("Current");
  });

  it("new values (config digest) in flight are progressing", () => {
    const h = hr("helmrelease.json", (x) => {
      inFlight(x);
      x.status.lastAttemptedConfigDigest = "sha256:0000";
    });
    expect(classifyHelmRelease(h).phase).toBe("progressing");
  });

  it("the captured upgrade in flight is progressing, also once its generation is observed", () => {
    expect(classifyHelmRelease(hr("helmrelease-upgrading.json")).phase).toBe("progressing");
    const h = hr("helmrelease-upgrading.json", (x) => (x.status.observedGeneration = 3));
    expect(classifyHelmRelease(h)).toMatchObject({ phase: "progressing", reason: "Progressing" });
  });

  it("the captured failed upgrade is stalled", () => {
    expect(classifyHelmRelease(hr("helmrelease-failed.json"))).toMatchObject({
      phase: "stalled",
      reason: "Stalled",
    });
  });

  it("a failed newest release is never settled, whatever is attempted", () => {
    const h = hr("helmrelease-failed.json", (x) => {
      inFlight(x);
      x.status.lastAttemptedRevision = "2.0.0";
    });
    expect(classifyHelmRelease(h).phase).toBe("progressing");
  });
});
