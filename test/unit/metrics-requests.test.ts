import { describe, expect, it } from "vitest";
import { createMetrics, downtimeSeconds } from "../../src/metrics.ts";

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The samples of a Prometheus text exposition, labels parsed (label order does not matter). */
function samples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1] ?? ""] = l[2] ?? "";
    out.push({ name: m[1] ?? "", labels, value: Number(m[3]) });
  }
  return out;
}

/** The value of the one sample with this name and exactly these labels. */
function value(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const want = JSON.stringify(Object.entries(labels).sort());
  const hits = samples(text).filter(
    (s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want,
  );
  if (hits.length > 1) throw new Error(`several samples ${name} ${want}`);
  return hits[0]?.value;
}

const scrape = async (m: ReturnType<typeof createMetrics>) => m.registry.metrics();

const history = (...entries: [string, string, string][]) => ({
  history: entries.map(([name, startedAt, completedAt]) => ({ name, startedAt, completedAt })),
});

describe("downtimeSeconds", () => {
  it("is from ScaleDown's start to HealthCheck's end", () => {
    expect(
      downtimeSeconds(
        history(
          ["Plan", "2025-03-01T11:59:00Z", "2025-03-01T11:59:01Z"],
          ["ScaleDown", "2025-03-01T12:00:00Z", "2025-03-01T12:00:20Z"],
          ["Snapshot", "2025-03-01T12:00:20Z", "2025-03-01T12:01:00Z"],
          ["HealthCheck", "2025-03-01T12:03:00Z", "2025-03-01T12:04:30Z"],
          ["Finish", "2025-03-01T12:04:30Z", "2025-03-01T12:04:31Z"],
        ),
      ),
    ).toBe(270);
  });

  it("takes the first ScaleDown and the last HealthCheck", () => {
    expect(
      downtimeSeconds(
        history(
          ["ScaleDown", "2025-03-01T12:00:00Z", "2025-03-01T12:00:10Z"],
          ["HealthCheck", "2025-03-01T12:01:00Z", "2025-03-01T12:01:30Z"],
          ["ScaleDown", "2025-03-01T12:05:00Z", "2025-03-01T12:05:10Z"],
          ["HealthCheck", "2025-03-01T12:06:00Z", "2025-03-01T12:10:00Z"],
        ),
      ),
    ).toBe(600);
  });

  it.each([
    ["no history", {}],
    ["an empty history", history()],
    [
      "no HealthCheck (failed before it)",
      history(["ScaleDown", "2025-03-01T12:00:00Z", "2025-03-01T12:00:10Z"]),
    ],
    ["no ScaleDown", history(["HealthCheck", "2025-03-01T12:00:00Z", "2025-03-01T12:00:10Z"])],
  ])("is undefined with %s", (_, status) => {
    expect(downtimeSeconds(status)).toBeUndefined();
  });
});

describe("request metrics", () => {
  it("count finished requests by kind and outcome", async () => {
    const m = createMetrics({ processMetrics: false });
    m.requestFinished("UpgradeRequest", "Succeeded", {});
    m.requestFinished("UpgradeRequest", "Succeeded", {});
    m.requestFinished("UpgradeRequest", "RollbackRequired", {});
    m.requestFinished("RollbackRequest", "Succeeded", {});
    const text = await scrape(m);
    expect(text).toContain("# TYPE cairn_operations_total counter");
    expect(
      value(text, "cairn_operations_total", { kind: "UpgradeRequest", outcome: "Succeeded" }),
    ).toBe(2);
    expect(
      value(text, "cairn_operations_total", {
        kind: "UpgradeRequest",
        outcome: "RollbackRequired",
      }),
    ).toBe(1);
    expect(
      value(text, "cairn_operations_total", { kind: "RollbackRequest", outcome: "Succeeded" }),
    ).toBe(1);
  });

  it("observe the app's downtime when the history has both ends, per kind", async () => {
    const m = createMetrics({ processMetrics: false });
    m.requestFinished(
      "UpgradeRequest",
      "Succeeded",
      history(
        ["ScaleDown", "2025-03-01T12:00:00Z", "2025-03-01T12:00:20Z"],
        ["HealthCheck", "2025-03-01T12:00:30Z", "2025-03-01T12:00:45Z"],
      ),
    );
    // Failed before HealthCheck: no downtime figure.
    m.requestFinished(
      "UpgradeRequest",
      "RollbackRequired",
      history(["ScaleDown", "2025-03-01T12:00:00Z", "2025-03-01T12:00:20Z"]),
    );
    const text = await scrape(m);
    expect(value(text, "cairn_app_downtime_seconds_count", { kind: "UpgradeRequest" })).toBe(1);
    expect(value(text, "cairn_app_downtime_seconds_sum", { kind: "UpgradeRequest" })).toBe(45);
    // 45 s falls in the 60 s bucket, not the 30 s one.
    expect(
      value(text, "cairn_app_downtime_seconds_bucket", { kind: "UpgradeRequest", le: "30" }),
    ).toBe(0);
    expect(
      value(text, "cairn_app_downtime_seconds_bucket", { kind: "UpgradeRequest", le: "60" }),
    ).toBe(1);
    expect(value(text, "cairn_app_downtime_seconds_count", { kind: "RollbackRequest" })).toBe(
      undefined,
    );
  });

  it("clamp a negative downtime (clock skew) to 0", async () => {
    const m = createMetrics({ processMetrics: false });
    m.requestFinished(
      "RollbackRequest",
      "Succeeded",
      history(
        ["ScaleDown", "2025-03-01T12:00:10Z", "2025-03-01T12:00:20Z"],
        ["HealthCheck", "2025-03-01T12:00:00Z", "2025-03-01T12:00:05Z"],
      ),
    );
    const text = await scrape(m);
    expect(value(text, "cairn_app_downtime_seconds_count", { kind: "RollbackRequest" })).toBe(1);
    expect(value(text, "cairn_app_downtime_seconds_sum", { kind: "RollbackRequest" })).toBe(0);
  });

  it("observe step durations by kind, step and reason", async () => {
    const m = createMetrics({ processMetrics: false });
    m.requestStepEnded("UpgradeRequest", "Snapshot", "Succeeded", 42);
    m.requestStepEnded("UpgradeRequest", "Snapshot", "Succeeded", 8);
    m.requestStepEnded("UpgradeRequest", "HealthCheck", "DeadlineExceeded", 300);
    m.requestStepEnded("UpgradeRequest", "Plan", "Succeeded", -1);
    const text = await scrape(m);
    expect(text).toContain("# TYPE cairn_step_duration_seconds histogram");
    const snap = { kind: "UpgradeRequest", step: "Snapshot", reason: "Succeeded" };
    expect(value(text, "cairn_step_duration_seconds_count", snap)).toBe(2);
    expect(value(text, "cairn_step_duration_seconds_sum", snap)).toBe(50);
    expect(value(text, "cairn_step_duration_seconds_bucket", { ...snap, le: "10" })).toBe(1);
    expect(value(text, "cairn_step_duration_seconds_bucket", { ...snap, le: "60" })).toBe(2);
    const health = { kind: "UpgradeRequest", step: "HealthCheck", reason: "DeadlineExceeded" };
    expect(value(text, "cairn_step_duration_seconds_count", health)).toBe(1);
    expect(value(text, "cairn_step_duration_seconds_sum", health)).toBe(300);
    const plan = { kind: "UpgradeRequest", step: "Plan", reason: "Succeeded" };
    expect(value(text, "cairn_step_duration_seconds_sum", plan)).toBe(0);
    expect(value(text, "cairn_step_duration_seconds_bucket", { ...plan, le: "0.1" })).toBe(1);
  });

  it("report the frozen apps gauge, 0 until set", async () => {
    const m = createMetrics({ processMetrics: false });
    expect(value(await scrape(m), "cairn_frozen_apps")).toBe(0);
    m.setFrozenApps(2);
    expect(value(await scrape(m), "cairn_frozen_apps")).toBe(2);
    m.setFrozenApps(0);
    expect(value(await scrape(m), "cairn_frozen_apps")).toBe(0);
  });

  it("keep requests of two Metrics values apart", async () => {
    const a = createMetrics({ processMetrics: false });
    const b = createMetrics({ processMetrics: false });
    a.requestFinished("UpgradeRequest", "Succeeded", {});
    const textB = await scrape(b);
    expect(
      value(textB, "cairn_operations_total", { kind: "UpgradeRequest", outcome: "Succeeded" }),
    ).toBeUndefined();
    expect(textB).not.toContain("process_cpu");
  });
});
