import { describe, expect, it } from "vitest";
import { DNS_LABEL_MAX, DNS_LABEL_PATTERN } from "../../../src/api/fields.ts";
import { randomSuffix, requestName, SUFFIX_LENGTH } from "../../../src/cli/names.ts";

const label = new RegExp(DNS_LABEL_PATTERN);

describe("requestName", () => {
  it("joins base, role and suffix", () => {
    expect(requestName("web", "upgrade", "x7k2p")).toBe("web-upgrade-x7k2p");
  });

  it("cuts a long base so the name stays a DNS label, never ending the cut on a dash", () => {
    const app = `${"a".repeat(50)}-b${"c".repeat(11)}`; // 63 characters, a valid app name
    const name = requestName(app, "upgrade", "x7k2p");
    expect(name.length).toBeLessThanOrEqual(DNS_LABEL_MAX);
    expect(name).toMatch(label);
    // The rollback of that upgrade: its base is a generated name of the full length.
    const rollback = requestName(name, "rollback", "q9z1m");
    expect(rollback.length).toBeLessThanOrEqual(DNS_LABEL_MAX);
    expect(rollback).toMatch(label);
    expect(rollback.endsWith("-rollback-q9z1m")).toBe(true);
    // A cut that lands right after a dash drops the dash instead of doubling it.
    const dashed = requestName(`${"a".repeat(48)}-${"b".repeat(14)}`, "upgrade", "x7k2p");
    expect(dashed).toBe(`${"a".repeat(48)}-upgrade-x7k2p`);
  });
});

describe("randomSuffix", () => {
  it("draws five lowercase letters and digits", () => {
    const suffix = randomSuffix();
    expect(suffix).toHaveLength(SUFFIX_LENGTH);
    expect(suffix).toMatch(/^[a-z0-9]+$/);
    expect(randomSuffix(() => 0)).toBe("bbbbb");
  });
});
