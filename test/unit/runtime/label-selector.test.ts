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
  ])("%s", (text, requirements) => {
    expect(parseLabelSelector(text)).toEqual({ ok: true, requirements });
  });

  it.each(["", "a=b,", "=b", "a=b=c", "!a=b", "a in (b)", "a=" + "x".repeat(64), "a b=c"])(
    "refuses %j",
    (text) => {
      expect(parseLabelSelector(text).ok).toBe(false);
    },
  );
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
});
