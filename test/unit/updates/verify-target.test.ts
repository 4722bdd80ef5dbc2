import { describe, expect, it } from "vitest";
import { verifyChartTarget, type SourceVersions } from "../../../src/updates/verify-target.ts";

const repo: SourceVersions = {
  kind: "read",
  source: "HelmRepository shop/charts (http://charts.example/)",
  chart: "demo",
  versions: ["1.0.0", "1.1.0", "2.0.0", "v3.0.0"],
};
const verify = (
  target: string,
  current: string | undefined,
  allowDowngrade = false,
  source: SourceVersions = repo,
) => verifyChartTarget({ target, current, source, allowDowngrade });

describe("verifyChartTarget", () => {
  it("passes a version the source has, naming the source", () => {
    expect(verify("1.1.0", "1.0.0")).toEqual([
      {
        name: "TargetExists",
        passed: true,
        message: "chart demo 1.1.0 is in HelmRepository shop/charts (http://charts.example/)",
      },
    ]);
    expect(verify("3.0.0", "1.0.0")[0]?.passed).toBe(true);
  });

  it("refuses a version the source does not have, naming the source", () => {
    expect(verify("9.9.9", "1.0.0")).toEqual([
      {
        name: "TargetExists",
        passed: false,
        message:
          "chart demo has no version 9.9.9 in HelmRepository shop/charts (http://charts.example/)",
      },
    ]);
  });

  it("refuses a downgrade unless the request allows it", () => {
    expect(verify("1.0.0", "1.1.0")).toEqual([
      expect.objectContaining({ name: "TargetExists", passed: true }),
      {
        name: "Downgrade",
        passed: false,
        message:
          "1.0.0 is older than the running 1.1.0; set spec.allowDowngrade: true on the request to downgrade",
      },
    ]);
    expect(verify("1.0.0", "1.1.0", true)[1]).toMatchObject({ name: "Downgrade", passed: true });
    // The same version again, or an unknown current version, is no downgrade.
    expect(verify("1.1.0", "1.1.0")).toHaveLength(1);
    expect(verify("1.0.0", undefined)).toHaveLength(1);
  });

  it("refuses when the source cannot be read, and passes unverified sources it does not read", () => {
    expect(
      verify("1.1.0", "1.0.0", false, {
        kind: "unreadable",
        message: "HelmRepository shop/charts not found",
      }),
    ).toEqual([
      {
        name: "TargetExists",
        passed: false,
        message: "chart 1.1.0 cannot be verified: HelmRepository shop/charts not found",
      },
    ]);
    expect(
      verify("1.1.0", "1.0.0", false, { kind: "unsupported", message: "an OCI repository" })[0],
    ).toEqual({
      name: "TargetExists",
      passed: true,
      message: "chart 1.1.0 not verified: an OCI repository",
    });
  });

  it("words an image's tags as tags of the image", () => {
    const registry: SourceVersions = {
      kind: "read",
      source: "the registry (https://ghcr.io/org/web)",
      chart: "ghcr.io/org/web",
      versions: ["1.0.0", "1.1.0"],
      image: true,
    };
    expect(verify("1.1.0", "1.0.0", false, registry)).toEqual([
      {
        name: "TargetExists",
        passed: true,
        message: "image ghcr.io/org/web:1.1.0 is in the registry (https://ghcr.io/org/web)",
      },
    ]);
    expect(verify("9.9.9", "1.0.0", false, registry)[0]).toEqual({
      name: "TargetExists",
      passed: false,
      message: "image ghcr.io/org/web has no tag 9.9.9 in the registry (https://ghcr.io/org/web)",
    });
    expect(
      verify("1.1.0", "1.0.0", false, { kind: "unreadable", message: "HTTP 401", image: true })[0],
    ).toEqual({
      name: "TargetExists",
      passed: false,
      message: "tag 1.1.0 cannot be verified: HTTP 401",
    });
  });
});
