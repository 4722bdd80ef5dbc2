// A waiting step's progress alone is written at most once per interval; everything else at once.
import { describe, expect, it } from "vitest";
import { ConditionType, type RequestStatus } from "../../../../src/api/index.ts";
import {
  onlyProgressChanged,
  PROGRESS_WRITE_INTERVAL_MS,
  ProgressWrites,
} from "../../../../src/controllers/request/progress-writes.ts";

const waiting = (message: string, reason = "InProgress"): RequestStatus => ({
  phase: "Reconciling",
  step: { name: "AwaitFlux", startedAt: "2026-01-01T00:00:00.000Z" },
  conditions: [
    {
      type: ConditionType.FluxApplied,
      status: "False",
      reason,
      message,
      lastTransitionTime: "2026-01-01T00:00:00Z",
      observedGeneration: 1,
    },
  ],
});

describe("onlyProgressChanged", () => {
  it("is true when the condition's message is all that differs, whatever the key order", () => {
    const stored = JSON.parse(
      '{"conditions":[{"observedGeneration":1,"lastTransitionTime":"2026-01-01T00:00:00Z","message":"generation 4 not observed yet","reason":"InProgress","status":"False","type":"FluxApplied"}],"step":{"startedAt":"2026-01-01T00:00:00.000Z","name":"AwaitFlux"},"phase":"Reconciling"}',
    ) as RequestStatus;
    const next = waiting("retrying: SourceNotReady");
    expect(onlyProgressChanged(stored, next, ConditionType.FluxApplied)).toBe(true);
  });

  it("is false for the same message, another reason, a moved deadline or a new fact", () => {
    const stored = waiting("a");
    const type = ConditionType.FluxApplied;
    expect(onlyProgressChanged(stored, waiting("a"), type)).toBe(false);
    expect(onlyProgressChanged(stored, waiting("b", "Waiting"), type)).toBe(false);
    const moved = waiting("b");
    expect(
      onlyProgressChanged(
        stored,
        {
          ...moved,
          step: {
            name: "AwaitFlux",
            startedAt: "2026-01-01T00:00:00.000Z",
            deadline: "2026-01-01T00:10:00.000Z",
          },
        },
        type,
      ),
    ).toBe(false);
    expect(
      onlyProgressChanged(
        stored,
        { ...waiting("b"), commit: { sha: "a".repeat(40), adopted: false } },
        type,
      ),
    ).toBe(false);
    // Another step's condition.
    expect(onlyProgressChanged(stored, waiting("b"), ConditionType.Healthy)).toBe(false);
  });
});

describe("onlyProgressChanged, the first wait of a step", () => {
  const started: RequestStatus = {
    phase: "Reconciling",
    step: { name: "AwaitFlux", startedAt: "2026-01-01T00:00:00.000Z" },
    conditions: [],
  };

  it("is true when the stored step has no condition yet and the next one is InProgress", () => {
    expect(onlyProgressChanged(started, waiting("a"), ConditionType.FluxApplied)).toBe(true);
  });

  it("is false for a first wait with another reason, or with anything else new", () => {
    const type = ConditionType.FluxApplied;
    expect(onlyProgressChanged(started, waiting("a", "Waiting"), type)).toBe(false);
    expect(onlyProgressChanged(started, waiting("a", "AwaitingApproval"), type)).toBe(false);
    // The step's start not stored yet: it must go out.
    expect(onlyProgressChanged({ phase: "Reconciling" }, waiting("a"), type)).toBe(false);
    expect(onlyProgressChanged(started, { ...waiting("a"), suspended: [] as never[] }, type)).toBe(
      false,
    );
    // An earlier Waiting turning InProgress is a change of reason.
    expect(onlyProgressChanged(waiting("a", "Waiting"), waiting("b"), type)).toBe(false);
  });
});

describe("ProgressWrites", () => {
  it("calls a write recent for the interval after it, per request", () => {
    const writes = new ProgressWrites();
    expect(writes.recent("ns/a", 0)).toBe(false);
    writes.wrote("ns/a", 1_000);
    expect(writes.recent("ns/a", 1_000 + PROGRESS_WRITE_INTERVAL_MS - 1)).toBe(true);
    expect(writes.recent("ns/a", 1_000 + PROGRESS_WRITE_INTERVAL_MS)).toBe(false);
    expect(writes.recent("ns/b", 1_001)).toBe(false);
    writes.forget("ns/a");
    expect(writes.recent("ns/a", 1_001)).toBe(false);
  });
});
