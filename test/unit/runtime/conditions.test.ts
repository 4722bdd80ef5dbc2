import { describe, expect, it } from "vitest";
import {
  getCondition,
  isFalse,
  isTrue,
  isUnknown,
  removeCondition,
  rfc3339,
  setCondition,
  type Condition,
} from "../../../src/runtime/conditions.ts";

const t0 = new Date("2025-03-01T10:00:00.456Z");
const t1 = new Date("2025-03-01T10:05:00Z");
const t2 = new Date("2025-03-01T11:00:00Z");

const ready = (status: Condition["status"], reason = "Checked", message = "all good") => ({
  type: "Ready",
  status,
  reason,
  message,
});

describe("setCondition", () => {
  it("adds a new condition with the time, at second precision, and the generation", () => {
    const list = setCondition(undefined, ready("True"), t0, 3);
    expect(list).toEqual([
      {
        type: "Ready",
        status: "True",
        reason: "Checked",
        message: "all good",
        lastTransitionTime: "2025-03-01T10:00:00Z",
        observedGeneration: 3,
      },
    ]);
  });

  it("keeps lastTransitionTime when the status does not flip, even if reason and message change", () => {
    const first = setCondition([], ready("False", "Waiting", "not yet"), t0, 1);
    const second = setCondition(first, ready("False", "StillWaiting", "still not"), t1, 2);
    expect(second).toEqual([
      {
        type: "Ready",
        status: "False",
        reason: "StillWaiting",
        message: "still not",
        lastTransitionTime: "2025-03-01T10:00:00Z",
        observedGeneration: 2,
      },
    ]);
  });

  it("moves lastTransitionTime when the status flips, and again when it flips back", () => {
    const first = setCondition([], ready("False"), t0, 1);
    const flipped = setCondition(first, ready("True"), t1, 1);
    expect(getCondition(flipped, "Ready")?.lastTransitionTime).toBe("2025-03-01T10:05:00Z");
    const back = setCondition(flipped, ready("Unknown"), t2, 1);
    expect(getCondition(back, "Ready")?.lastTransitionTime).toBe("2025-03-01T11:00:00Z");
    expect(getCondition(back, "Ready")?.status).toBe("Unknown");
  });

  it("follows the generation without a transition when only the generation changes", () => {
    const first = setCondition([], ready("True"), t0, 1);
    const next = setCondition(first, ready("True"), t2, 7);
    expect(getCondition(next, "Ready")).toMatchObject({
      observedGeneration: 7,
      lastTransitionTime: "2025-03-01T10:00:00Z",
    });
  });

  it("returns a list equal to the old one when nothing changed, and does not mutate the input", () => {
    const first = setCondition([], ready("True"), t0, 1);
    const snapshot = structuredClone(first);
    const again = setCondition(first, ready("True"), t2, 1);
    expect(again).toEqual(first);
    expect(again).not.toBe(first);
    expect(first).toEqual(snapshot);
  });

  it("keeps the position of existing conditions and appends new ones", () => {
    let list = setCondition([], { ...ready("True"), type: "A" }, t0, 1);
    list = setCondition(list, { ...ready("True"), type: "B" }, t0, 1);
    list = setCondition(list, { ...ready("True"), type: "C" }, t0, 1);
    list = setCondition(list, { ...ready("False"), type: "A" }, t1, 1);
    expect(list.map((c) => `${c.type}=${c.status}`)).toEqual(["A=False", "B=True", "C=True"]);
  });
});

describe("condition queries", () => {
  const list = [
    ...setCondition([], ready("True"), t0, 1),
    ...setCondition([], { ...ready("False"), type: "Stalled" }, t0, 1),
    ...setCondition([], { ...ready("Unknown"), type: "Progressing" }, t0, 1),
  ];

  it("answer per type, with absent conditions neither true nor false", () => {
    expect(isTrue(list, "Ready")).toBe(true);
    expect(isFalse(list, "Ready")).toBe(false);
    expect(isFalse(list, "Stalled")).toBe(true);
    expect(isTrue(list, "Stalled")).toBe(false);
    expect(isUnknown(list, "Progressing")).toBe(true);
    expect(isUnknown(list, "Missing")).toBe(true);
    expect(isTrue(list, "Missing")).toBe(false);
    expect(isFalse(list, "Missing")).toBe(false);
    expect(isTrue(undefined, "Ready")).toBe(false);
    expect(getCondition(list, "Missing")).toBeUndefined();
    expect(getCondition(list, "Stalled")?.reason).toBe("Checked");
  });

  it("removeCondition drops only the named type and leaves the input alone", () => {
    const removed = removeCondition(list, "Stalled");
    expect(removed.map((c) => c.type)).toEqual(["Ready", "Progressing"]);
    expect(list).toHaveLength(3);
    expect(removeCondition(undefined, "Ready")).toEqual([]);
    expect(removeCondition(list, "Missing")).toEqual(list);
  });

  it("rfc3339 drops the milliseconds, as metav1.Time does", () => {
    expect(rfc3339(new Date("2025-01-02T03:04:05.999Z"))).toBe("2025-01-02T03:04:05Z");
  });
});
