import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import type { Finding } from "../../../src/impact/dangers.ts";
import type { Impact } from "../../../src/impact/diff.ts";
import {
  DETAIL_MAX_BYTES,
  dangerChecks,
  encodeDetail,
  summarizeImpact,
} from "../../../src/impact/summary.ts";

const id = (kind: string, name: string) => ({ group: "", kind, namespace: "demo", name });

const impact: Impact = {
  added: [{ id: id("ConfigMap", "new"), object: { kind: "ConfigMap" } }],
  changed: [{ id: id("Service", "web"), changes: [{ path: "spec.type", from: "A", to: "B" }] }],
  removed: [id("ConfigMap", "old"), id("Secret", "db")],
  unchanged: 3,
};
const finding: Finding = {
  check: "ReferencedConfigRemoved",
  object: id("Secret", "db"),
  message: "Secret demo/db is no longer rendered",
};

describe("summarizeImpact", () => {
  it("counts every change and lists dangerous objects first", () => {
    expect(summarizeImpact(impact, [finding], "r-impact")).toEqual({
      added: 1,
      changed: 1,
      removed: 2,
      unchanged: 3,
      objects: [
        { change: "Removed", group: "", kind: "Secret", namespace: "demo", name: "db" },
        { change: "Removed", group: "", kind: "ConfigMap", namespace: "demo", name: "old" },
        { change: "Changed", group: "", kind: "Service", namespace: "demo", name: "web" },
        { change: "Added", group: "", kind: "ConfigMap", namespace: "demo", name: "new" },
      ],
      detailConfigMap: "r-impact",
    });
  });

  it("keeps at most 64 objects and says it cut the list", () => {
    const many: Impact = {
      ...impact,
      added: Array.from({ length: 100 }, (_, i) => ({ id: id("ConfigMap", `c${i}`), object: {} })),
    };
    const summary = summarizeImpact(many, [], undefined);
    expect(summary.objects).toHaveLength(64);
    expect(summary.truncated).toBe(true);
    expect(summary.added).toBe(100);
  });
});

describe("dangerChecks", () => {
  it("fails an unacknowledged check, passes an acknowledged one, and names the objects", () => {
    const open = dangerChecks([finding], []);
    expect(open).toHaveLength(5);
    expect(open[0]).toEqual({
      name: "ReferencedConfigRemoved",
      passed: false,
      message:
        "refused unless spec.acknowledgeDangers lists ReferencedConfigRemoved: Secret demo/db is no longer rendered",
    });
    expect(open.slice(1).every((c) => c.passed && c.message === "none found")).toBe(true);
    const acked = dangerChecks([finding], ["ReferencedConfigRemoved"]);
    expect(acked[0]?.passed).toBe(true);
    expect(acked[0]?.message).toMatch(/^acknowledged .*Secret demo\/db/);
  });

  it("keeps a long message within 1024 characters, still naming objects", () => {
    const long = Array.from({ length: 40 }, (_, i) => ({
      ...finding,
      object: id("Secret", `s${i}`),
      message: "x".repeat(100),
    }));
    const message = dangerChecks(long, [])[0]?.message ?? "";
    expect(message.length).toBeLessThanOrEqual(1024);
    expect(message).toContain("40 object(s): Secret demo/s0, Secret demo/s1");
  });
});

describe("encodeDetail", () => {
  it("round-trips the impact and findings as gzipped JSON", () => {
    const decoded: unknown = JSON.parse(gunzipSync(encodeDetail(impact, [finding])).toString());
    expect(decoded).toEqual({ impact, findings: [finding], omitted: 0 });
  });

  it("stays under its size limit for a huge diff, counting what it left out", () => {
    const noise = (i: number) => Array.from({ length: 50 }, (_, j) => `${i}-${j}-${Math.random()}`);
    const huge: Impact = {
      ...impact,
      added: Array.from({ length: 2000 }, (_, i) => ({
        id: id("ConfigMap", `a${i}`),
        object: { data: noise(i) },
      })),
      changed: Array.from({ length: 2000 }, (_, i) => ({
        id: id("ConfigMap", `c${i}`),
        changes: [{ path: "data", from: noise(i), to: noise(i + 1) }],
      })),
    };
    const bytes = encodeDetail(huge, []);
    expect(bytes.length).toBeLessThanOrEqual(DETAIL_MAX_BYTES);
    const decoded = JSON.parse(gunzipSync(bytes).toString()) as { omitted: number };
    expect(decoded.omitted).toBeGreaterThanOrEqual(2000);
    // Several gzip passes over megabytes of JSON: slow on 2 shared cores, never wrong.
  }, 60_000);
});
