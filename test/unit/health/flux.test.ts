import { describe, expect, it } from "vitest";
import {
  HelmRelease,
  helmReleaseStatus,
  releasedAs,
  Kustomization,
  kustomizationStatus,
} from "../../../src/health/flux.ts";
import { captured, derive } from "../../fixtures/load.ts";

const hr = (file: string, change: (h: HelmRelease) => void = () => undefined) =>
  derive(HelmRelease.parse(captured(file)), change);
const ks = (file: string, change: (k: Kustomization) => void = () => undefined) =>
  derive(Kustomization.parse(captured(file)), change);

function condition(
  obj: { status: { conditions?: { type: string }[] | null | undefined } },
  type: string,
) {
  const c = obj.status.conditions?.find((x) => x.type === type);
  if (!c) throw new Error(`no ${type} condition`);
  return c as { type: string; status: string; reason?: string; observedGeneration?: number };
}

describe("kustomizationStatus", () => {
  it.each(["kustomization.json", "kustomization-1.0.0.json"])("captured %s is Current", (file) => {
    expect(kustomizationStatus(ks(file)).status).toBe("Current");
  });

  it("does not trust Ready=True for an older generation", () => {
    const k = ks("kustomization.json", (x) => (x.metadata.generation = 2));
    expect(kustomizationStatus(k)).toMatchObject({
      status: "InProgress",
      reason: "GenerationNotObserved",
    });
  });

  it("does not trust a Ready condition observed for an older generation", () => {
    const k = ks("kustomization.json", (x) => {
      x.metadata.generation = 2;
      x.status.observedGeneration = 2;
    });
    expect(kustomizationStatus(k)).toMatchObject({
      status: "InProgress",
      message: "Kustomization Ready condition is for generation 1, not 2",
    });
  });

  it("is Failed when Ready=False and nothing reconciles", () => {
    const k = ks("kustomization.json", (x) => {
      Object.assign(condition(x, "Ready"), {
        status: "False",
        reason: "HealthCheckFailed",
        message: "timeout",
      });
    });
    expect(kustomizationStatus(k)).toEqual({
      status: "Failed",
      reason: "HealthCheckFailed",
      message: "HealthCheckFailed: timeout",
    });
  });

  it("is InProgress while Ready=Unknown", () => {
    const k = ks("kustomization.json", (x) => {
      Object.assign(condition(x, "Ready"), { status: "Unknown", reason: "Progressing" });
    });
    expect(kustomizationStatus(k)).toMatchObject({ status: "InProgress", reason: "Progressing" });
  });

  it("is not Current while suspended", () => {
    const k = ks("kustomization.json", (x) => (x.spec.suspend = true));
    expect(kustomizationStatus(k)).toMatchObject({ status: "InProgress", reason: "Suspended" });
  });
});

describe("helmReleaseStatus", () => {
  it("captured after the upgrade: Current at 1.1.0", () => {
    expect(helmReleaseStatus(hr("helmrelease.json"), "1.1.0")).toEqual({
      status: "Current",
      reason: "Current",
      message: "demo 1.1.0 deployed",
    });
  });

  it("captured before the upgrade, expected at 1.1.0: not there yet", () => {
    expect(helmReleaseStatus(hr("helmrelease-1.0.0.json"), "1.1.0")).toMatchObject({
      status: "InProgress",
      reason: "ChartVersionMismatch",
      message: "the newest release is demo 1.0.0, expected 1.1.0",
    });
  });

  it("compares as source-controller: a constraint, build metadata ignored", () => {
    expect(releasedAs("1.1.0+1", "1.1.0")).toBe(true);
    expect(releasedAs("1.1.0+19f0cffdab8e", "1.1.0")).toBe(true);
    expect(releasedAs("1.0.0+1", "*")).toBe(true);
    expect(releasedAs("1.2.0-rc.1", "*")).toBe(true);
    expect(releasedAs("1.1.4", "1.1.x")).toBe(true);
    expect(releasedAs("1.0.0", "1.1.0")).toBe(false);
    expect(releasedAs("1.1.0+1", "1.1.1")).toBe(false);
    expect(releasedAs("not-semver", "1.0.0")).toBe(false);
  });

  it("captured mid-upgrade (status.observedGeneration behind, Ready=Unknown): InProgress", () => {
    expect(helmReleaseStatus(hr("helmrelease-upgrading.json"), "2.0.0")).toMatchObject({
      status: "InProgress",
      reason: "GenerationNotObserved",
    });
  });

  it("mid-upgrade with the generation observed: InProgress from Ready=Unknown", () => {
    const h = hr("helmrelease-upgrading.json", (x) => (x.status.observedGeneration = 3));
    expect(helmReleaseStatus(h, "2.0.0")).toMatchObject({
      status: "InProgress",
      reason: "Progressing",
    });
  });

  it("captured after the failed upgrade: Failed, Stalled", () => {
    const s = helmReleaseStatus(hr("helmrelease-failed.json"), "2.0.0");
    expect(s).toMatchObject({ status: "Failed", reason: "Stalled" });
    expect(s.message).toBe("RetriesExceeded: Failed to upgrade after 1 attempt(s)");
  });

  it("after a failed attempt that is not stalled: Failed from Ready=False", () => {
    const h = hr("helmrelease-failed.json", (x) => {
      x.status.conditions = x.status.conditions?.filter((c) => c.type !== "Stalled");
    });
    expect(helmReleaseStatus(h, "2.0.0")).toMatchObject({
      status: "Failed",
      reason: "UpgradeFailed",
    });
  });

  it("Remediated makes it Failed even when Ready says True", () => {
    const h = hr("helmrelease.json", (x) => {
      x.status.conditions?.push({
        type: "Remediated",
        status: "True",
        reason: "RollbackSucceeded",
        message: "Helm rollback to previous release shop/demo.v1 succeeded",
        observedGeneration: 2,
      });
    });
    expect(helmReleaseStatus(h, "1.1.0")).toMatchObject({ status: "Failed", reason: "Remediated" });
  });

  it("ignores a Remediated condition left from an older generation", () => {
    const h = hr("helmrelease.json", (x) => {
      x.status.conditions?.push({
        type: "Remediated",
        status: "True",
        reason: "RollbackSucceeded",
        observedGeneration: 1,
      });
    });
    expect(helmReleaseStatus(h, "1.1.0").status).toBe("Current");
  });

  it("wants the newest history entry deployed", () => {
    const h = hr("helmrelease.json", (x) => {
      const first = x.status.history?.[0];
      if (first) first.status = "failed";
    });
    expect(helmReleaseStatus(h)).toMatchObject({ status: "Failed", reason: "ReleaseNotDeployed" });
  });

  it("without history: InProgress", () => {
    const h = hr("helmrelease.json", (x) => (x.status.history = []));
    expect(helmReleaseStatus(h)).toMatchObject({ status: "InProgress", reason: "NoHistory" });
  });

  it("checks no version when none is expected", () => {
    expect(helmReleaseStatus(hr("helmrelease-1.0.0.json")).status).toBe("Current");
  });
});
