import { describe, expect, it } from "vitest";
import { matches, parseLabelSelector } from "../../../src/runtime/label-selector.ts";

describe("parseLabelSelector", () => {
  it.each([
    ["a=b", [{ op: "=", key: "a", value: "b" }]],
    ["a==b", [{ op: "=", key: "a", value: "b" }]],
    [
      "cairn.dev/test=x, tier!=test",
      [
        { op: "=", key: "cairn.dev/test", value: "x" },
        { op: "!=", key: "tier", value: "test" },
      ],
    ],
    ["team", [{ op: "exists", key: "team" }]],
    ["!team", [{ op: "!exists", key: "team" }]],
    ["a=", [{ op: "=", key: "a", value: "" }]],
    ["shard in (a, b)", [{ op: "in", key: "shard", values: ["a", "b"] }]],
    [
      "sharding.fluxcd.io/key notin (shard1,shard2),!x",
      [
        { op: "notin", key: "sharding.fluxcd.io/key", values: ["shard1", "shard2"] },
        { op: "!exists", key: "x" },
      ],
    ],
    [
      "a=b,tier in (x),c",
      [
        { op: "=", key: "a", value: "b" },
        { op: "in", key: "tier", values: ["x"] },
        { op: "exists", key: "c" },
      ],
    ],
  ])("%s", (text, requirements) => {
    expect(parseLabelSelector(text)).toEqual({ ok: true, requirements });
  });

  it.each([
    "",
    "a=b,",
    "=b",
    "a=b=c",
    "!a=b",
    "a in ()",
    "a in (b,)",
    "a in (b",
    "a in b)",
    "a in ((b))",
    "a inn (b)",
    "a=(b)",
    "a=" + "x".repeat(64),
    "a b=c",
  ])("refuses %j", (text) => {
    expect(parseLabelSelector(text).ok).toBe(false);
  });
});

describe("matches", () => {
  const sel = (text: string) => {
    const parsed = parseLabelSelector(text);
    if (!parsed.ok) throw new Error(parsed.message);
    return parsed.requirements;
  };
  it("needs every requirement", () => {
    expect(matches(sel("a=b,c"), { a: "b", c: "" })).toBe(true);
    expect(matches(sel("a=b,c"), { a: "b" })).toBe(false);
    expect(matches(sel("a!=b"), {})).toBe(true);
    expect(matches(sel("a!=b"), { a: "b" })).toBe(false);
    expect(matches(sel("!a"), { a: "x" })).toBe(false);
    expect(matches(sel("a=b"), undefined)).toBe(false);
  });
  it("matches sets as Kubernetes does", () => {
    expect(matches(sel("s in (a,b)"), { s: "b" })).toBe(true);
    expect(matches(sel("s in (a,b)"), { s: "c" })).toBe(false);
    expect(matches(sel("s in (a,b)"), {})).toBe(false);
    expect(matches(sel("s notin (a,b)"), { s: "c" })).toBe(true);
    expect(matches(sel("s notin (a,b)"), { s: "a" })).toBe(false);
    // A missing label is not in any set, as the API server decides.
    expect(matches(sel("s notin (a,b)"), {})).toBe(true);
  });
});
