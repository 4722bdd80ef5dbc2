import { describe, expect, it } from "vitest";
import { between, formatDuration, parseDuration } from "../../../src/cli/format/duration.ts";

describe("formatDuration", () => {
  it.each([
    [-5, "0s"],
    [999, "0s"],
    [42_400, "42s"],
    [180_000, "3m"],
    [192_000, "3m12s"],
    [754_000, "12m"],
    [3_600_000, "1h"],
    [3_840_000, "1h4m"],
    [86_400_000 * 2 + 3_600_000 * 3 + 59_000, "2d3h"],
  ])("%i ms reads %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe("between", () => {
  it("measures two timestamps and gives nothing when one is missing", () => {
    expect(between("2026-01-01T00:00:00Z", "2026-01-01T00:03:20Z")).toBe(200_000);
    expect(between("2026-01-01T00:00:00Z", undefined)).toBeUndefined();
    expect(between("yesterday", "2026-01-01T00:00:00Z")).toBeUndefined();
  });
});

describe("parseDuration", () => {
  it.each([
    ["90s", 90_000],
    ["5m", 300_000],
    ["1h30m", 5_400_000],
    ["1.5h", 5_400_000],
    ["250ms", 250],
    ["0", 0],
  ])("%s is %i ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(["10", "5 m", "-1s", "1d", ""])("rejects %j", (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});
