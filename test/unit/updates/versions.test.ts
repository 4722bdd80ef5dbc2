import { describe, expect, it } from "vitest";
import {
  constraintProblem,
  isSemver,
  selectUpdate,
  withinLevel,
} from "../../../src/updates/versions.ts";

const offered = ["1.0.0", "1.0.1", "1.1.0", "2.0.0", "2.1.0-rc.1", "not-a-version", "0.9.0"];

describe("selectUpdate", () => {
  it("offers the newest release newer than the current version, skipping pre-releases", () => {
    expect(selectUpdate("1.0.0", offered, { prereleases: false })).toEqual({
      kind: "update",
      version: "2.0.0",
    });
  });

  it("offers a pre-release only when asked", () => {
    expect(selectUpdate("2.0.0", offered, { prereleases: false })).toEqual({
      kind: "upToDate",
      newest: "2.0.0",
    });
    expect(selectUpdate("2.0.0", offered, { prereleases: true })).toEqual({
      kind: "update",
      version: "2.1.0-rc.1",
    });
  });

  it("keeps to the constraint", () => {
    expect(selectUpdate("1.0.0", offered, { prereleases: false, constraint: "1.x" })).toEqual({
      kind: "update",
      version: "1.1.0",
    });
    expect(selectUpdate("1.0.0", offered, { prereleases: false, constraint: "~1.0" })).toEqual({
      kind: "update",
      version: "1.0.1",
    });
    expect(
      selectUpdate("2.0.0", offered, { prereleases: true, constraint: ">=2.0.0 <3.0.0" }),
    ).toEqual({ kind: "update", version: "2.1.0-rc.1" });
  });

  it("never offers a downgrade, and says so when the current version is the newest", () => {
    expect(selectUpdate("3.0.0", offered, { prereleases: false })).toEqual({
      kind: "upToDate",
      newest: "2.0.0",
    });
    expect(selectUpdate("1.0.0", [], { prereleases: false })).toEqual({
      kind: "upToDate",
      newest: undefined,
    });
  });

  it("names a current version that is not semver", () => {
    const s = selectUpdate("latest", offered, { prereleases: false });
    expect(s).toEqual({
      kind: "currentInvalid",
      message: 'the current version "latest" is not a semver version',
    });
  });
});

describe("constraintProblem and isSemver", () => {
  it("accepts ranges semver accepts and names the others", () => {
    expect(constraintProblem(">=1.2.0 <2.0.0")).toBeUndefined();
    expect(constraintProblem("1.x")).toBeUndefined();
    expect(constraintProblem("one point two")).toMatch(/^"one point two" is not a semver range/);
  });
  it("tells versions from other strings", () => {
    expect(isSemver("1.2.3")).toBe(true);
    expect(isSemver("1.2")).toBe(false);
    expect(isSemver("latest")).toBe(false);
  });
});

describe("withinLevel", () => {
  it.each([
    ["1.2.3", "1.2.9", "patch", true],
    ["1.2.3", "1.3.0", "patch", false],
    ["1.2.3", "1.3.0", "minor", true],
    ["1.2.3", "2.0.0", "minor", false],
    ["1.2.3", "2.0.0", "major", true],
    ["1.2.3", "1.2.4", "none", false],
    ["not-semver", "1.2.4", "major", false],
  ] as const)("%s → %s within %s: %s", (current, target, level, expected) => {
    expect(withinLevel(current, target, level)).toBe(expected);
  });
});
