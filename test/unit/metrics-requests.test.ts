import { describe, expect, it } from "vitest";
import { RefusalReason } from "../../src/controllers/rollback/plan.ts";
import {
  createMetrics,
  downtimeSeconds,
  outcomeClass,
  recoveryDowntimeSeconds,
} from "../../src/metrics.ts";

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

describe("outcomeClass", () => {
  it.each([
    ["Succeeded", "succeeded"],
    ["DryRunSucceeded", "dry_run"],
    ["InvalidSpec", "refused"],
    ["AppNotFound", "refused"],
    ["UpgradeNotFound", "refused"],
    ["PlanFailed", "refused"],
    ["ReferenceDenied", "refused"],
    ["ReferenceNotFound", "refused"],
    ["RollbackRequired", "failed"],
    ["RollbackTriggered", "failed"],
    ["RestoreIncomplete", "failed"],
    ["Aborted", "aborted"],
    ["DeadlineExceeded", "failed"],
    ["GitChanged", "failed"],
    ["SomethingNew", "failed"],
  ])("%s is %s", (reason, cls) => {
    expect(outcomeClass(reason)).toBe(cls);
  });

  it("counts every refusal of a rollback as refused", () => {
    for (const reason of Object.values(RefusalReason)) {
      expect(outcomeClass(reason), reason).toBe("refused");
    }
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
      value(text, "cairn_operations_total", {
        kind: "UpgradeRequest",
        outcome: "Succeeded",
        class: "succeeded",
      }),
    ).toBe(2);
    expect(
      value(text, "cairn_operations_total", {
        kind: "UpgradeRequest",
        outcome: "RollbackRequired",
        class: "failed",
      }),
    ).toBe(1);
    expect(
      value(text, "cairn_operations_total", {
        kind: "RollbackRequest",
        outcome: "Succeeded",
        class: "succeeded",
      }),
    ).toBe(1);
  });

  it("class each outcome, so that alerts page on failures only", async () => {
    const m = createMetrics({ processMetrics: false });
    for (const reason of ["InvalidSpec", "PlanFailed", "DryRunSucceeded", "RestoreIncomplete"])
      m.requestFinished("UpgradeRequest", reason, {});
    const text = await scrape(m);
    const of = (outcome: string, cls: string) =>
      value(text, "cairn_operations_total", { kind: "UpgradeRequest", outcome, class: cls });
    expect(of("InvalidSpec", "refused")).toBe(1);
    expect(of("PlanFailed", "refused")).toBe(1);
    expect(of("DryRunSucceeded", "dry_run")).toBe(1);
    expect(of("RestoreIncomplete", "failed")).toBe(1);
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

  it("observe no downtime for a request whose health check failed: the app is still down", async () => {
    const m = createMetrics({ processMetrics: false });
    m.requestFinished("UpgradeRequest", "RollbackTriggered", {
      history: [
        {
          name: "ScaleDown",
          startedAt: "2025-03-01T12:00:00Z",
          completedAt: "2025-03-01T12:00:20Z",
          reason: "Succeeded",
        },
        {
          name: "HealthCheck",
          startedAt: "2025-03-01T12:01:00Z",
          completedAt: "2025-03-01T12:06:00Z",
          reason: "DeadlineExceeded",
        },
      ],
    });
    expect(
      value(await scrape(m), "cairn_app_downtime_seconds_count", { kind: "UpgradeRequest" }),
    ).toBeUndefined();
  });

  it("observe a failed upgrade's downtime until its rollback's health check passed", async () => {
    const m = createMetrics({ processMetrics: false });
    const upgrade = {
      history: [
        {
          name: "ScaleDown",
          startedAt: "2025-03-01T12:00:00Z",
          completedAt: "2025-03-01T12:00:20Z",
          reason: "Succeeded",
        },
        {
          name: "HealthCheck",
          startedAt: "2025-03-01T12:01:00Z",
          completedAt: "2025-03-01T12:06:00Z",
          reason: "Unhealthy",
        },
      ],
    };
    const rollback = {
      history: [
        {
          name: "ScaleDown",
          startedAt: "2025-03-01T12:06:10Z",
          completedAt: "2025-03-01T12:06:20Z",
          reason: "NotNeeded",
        },
        {
          name: "HealthCheck",
          startedAt: "2025-03-01T12:08:00Z",
          completedAt: "2025-03-01T12:10:00Z",
          reason: "Succeeded",
        },
      ],
    };
    expect(recoveryDowntimeSeconds(upgrade, rollback)).toBe(600);
    expect(recoveryDowntimeSeconds(upgrade, upgrade)).toBeUndefined();
    expect(recoveryDowntimeSeconds({}, rollback)).toBeUndefined();
    m.upgradeRecovered(upgrade, rollback);
    m.upgradeRecovered({}, rollback);
    const text = await scrape(m);
    expect(value(text, "cairn_app_downtime_seconds_count", { kind: "UpgradeRequest" })).toBe(1);
    expect(value(text, "cairn_app_downtime_seconds_sum", { kind: "UpgradeRequest" })).toBe(600);
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

  it("report cairn_build_info with the version it was given and Node's", async () => {
    const text = await scrape(
      createMetrics({ processMetrics: false, build: { version: "1.2.3" } }),
    );
    expect(text).toContain("# TYPE cairn_build_info gauge");
    expect(
      value(text, "cairn_build_info", { version: "1.2.3", node_version: process.version }),
    ).toBe(1);
    const unknown = await scrape(createMetrics({ processMetrics: false }));
    expect(
      value(unknown, "cairn_build_info", { version: "unknown", node_version: process.version }),
    ).toBe(1);
  });

  it("keep one cairn_app_info series per app, replaced when a fact changes, gone with the app", async () => {
    const m = createMetrics({ processMetrics: false });
    const app = { namespace: "shop", name: "demo" };
    const labels = { namespace: "shop", name: "demo" };
    m.setAppInfo(app, { version: "1.0.0", updateAvailable: true, frozen: false });
    m.setAppInfo(
      { namespace: "shop", name: "db" },
      { version: "", updateAvailable: false, frozen: true },
    );
    let text = await scrape(m);
    expect(text).toContain("# TYPE cairn_app_info gauge");
    expect(
      value(text, "cairn_app_info", {
        ...labels,
        version: "1.0.0",
        update_available: "true",
        frozen: "false",
      }),
    ).toBe(1);
    m.setAppInfo(app, { version: "1.1.0", updateAvailable: false, frozen: false });
    text = await scrape(m);
    expect(
      value(text, "cairn_app_info", {
        ...labels,
        version: "1.0.0",
        update_available: "true",
        frozen: "false",
      }),
    ).toBeUndefined();
    expect(
      value(text, "cairn_app_info", {
        ...labels,
        version: "1.1.0",
        update_available: "false",
        frozen: "false",
      }),
    ).toBe(1);
    m.setAppInfo(app, undefined);
    text = await scrape(m);
    expect(samples(text).filter((s) => s.name === "cairn_app_info")).toEqual([
      {
        name: "cairn_app_info",
        labels: {
          namespace: "shop",
          name: "db",
          version: "",
          update_available: "false",
          frozen: "true",
        },
        value: 1,
      },
    ]);
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
