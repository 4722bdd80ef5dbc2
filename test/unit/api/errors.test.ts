import { describe, expect, it } from "vitest";
import { z } from "zod";
import { describeZodError, fieldPath, parseWithMessage } from "../../../src/api/errors.ts";
import { ManagedApp, ManagedAppSpec } from "../../../src/api/managedapp.ts";
import { UpgradeRequestSpec } from "../../../src/api/upgraderequest.ts";
import { loadExample, withValue } from "./invalid-objects.ts";

const minimal = { gitPath: "apps/a.yaml", kustomizationRef: { name: "apps" } };

function messageOf(schema: z.ZodType, input: unknown, prefix = ""): string {
  const parsed = parseWithMessage(schema, input, prefix);
  return parsed.success ? "(valid)" : parsed.message;
}

describe("fieldPath", () => {
  it.each([
    [["spec", "volumeSnapshots", "pvcs", 0, "name"], "", "spec.volumeSnapshots.pvcs[0].name"],
    [
      ["retentionPolicy", "maxCount"],
      "spec.volumeSnapshots",
      "spec.volumeSnapshots.retentionPolicy.maxCount",
    ],
    [["labels", "app.kubernetes.io/name"], "metadata", "metadata.labels[app.kubernetes.io/name]"],
    [[0, "tag"], "images", "images[0].tag"],
    [[], "", "(root)"],
    [[], "spec", "spec"],
  ] as const)("%j under %j is %s", (path, prefix, expected) => {
    expect(fieldPath(path, prefix)).toBe(expected);
  });
});

describe("parseWithMessage and describeZodError", () => {
  it("name the field and say what is wrong with a number below its minimum", () => {
    const spec = { ...minimal, volumeSnapshots: { retentionPolicy: { maxCount: -1 } } };
    expect(messageOf(ManagedAppSpec, spec, "spec")).toBe(
      "spec.volumeSnapshots.retentionPolicy.maxCount: must be ≥ 0",
    );
  });

  it("say required for a missing field, also without the reported input", () => {
    expect(messageOf(ManagedAppSpec, { kustomizationRef: { name: "apps" } }, "spec")).toBe(
      "spec.gitPath: required",
    );
    const error = ManagedAppSpec.safeParse({ gitPath: "a.yaml" }).error;
    expect(error).toBeDefined();
    if (error) expect(describeZodError(error, "spec")).toBe("spec.kustomizationRef: required");
  });

  it("list the allowed values of an enum", () => {
    expect(
      messageOf(ManagedAppSpec, { ...minimal, suspendRef: { kind: "Bucket", name: "x" } }, "spec"),
    ).toBe('spec.suspendRef.kind: must be one of "Kustomization", "HelmRelease"');
  });

  it("name a version constraint the semver package cannot parse", () => {
    expect(
      messageOf(ManagedAppSpec, { ...minimal, versionPolicy: { constraint: "one.two" } }, "spec"),
    ).toBe(
      'spec.versionPolicy.constraint: "one.two" is not a semver range (e.g. ">=1.2.0 <2.0.0", "1.x", "~1.4")',
    );
  });

  it("explain a pattern in words", () => {
    expect(
      messageOf(ManagedAppSpec, { ...minimal, healthCheck: { timeout: "5 minutes" } }, "spec"),
    ).toBe('spec.healthCheck.timeout: must be a duration such as "90s", "5m" or "1h30m"');
  });

  it("report a wrong type, lengths and item counts", () => {
    expect(
      messageOf(UpgradeRequestSpec, { managedAppRef: { name: "a" }, dryRun: "yes" }, "spec"),
    ).toBe("spec.dryRun: must be a boolean");
    expect(messageOf(ManagedAppSpec, { ...minimal, gitPath: "" }, "spec")).toBe(
      "spec.gitPath: must not be empty",
    );
    const images = Array.from({ length: 33 }, (_, i) => ({ name: `app-${i}`, tag: "1" }));
    expect(
      messageOf(
        UpgradeRequestSpec,
        { managedAppRef: { name: "a" }, targetVersion: { images } },
        "spec",
      ),
    ).toBe("spec.targetVersion.images: must have at most 32 items");
  });

  it("join several problems with '; ', each with its own path", () => {
    const bad = withValue(
      withValue(loadExample("ManagedApp"), "spec.gitPath", undefined),
      "spec.timeouts.health",
      "soon",
    );
    const parsed = parseWithMessage(ManagedApp, bad);
    expect(parsed.success).toBe(false);
    if (parsed.success) return;
    expect(parsed.problems).toEqual([
      "spec.gitPath: required",
      'spec.timeouts.health: must be a duration such as "90s", "5m" or "1h30m"',
    ]);
    expect(parsed.message).toBe(parsed.problems.join("; "));
  });

  it("carry the message of a refinement that mirrors a CEL rule", () => {
    expect(
      messageOf(UpgradeRequestSpec, { managedAppRef: { name: "a" }, targetVersion: {} }, "spec"),
    ).toBe("spec.targetVersion: spec.targetVersion must set chart or at least one image");
  });

  it("return the parsed data, defaults applied, on success", () => {
    const parsed = parseWithMessage(UpgradeRequestSpec, { managedAppRef: { name: "a" } });
    expect(parsed).toEqual({
      success: true,
      data: {
        managedAppRef: { name: "a" },
        skipSnapshot: false,
        dryRun: false,
        allowDowngrade: false,
      },
    });
  });
});
