import { describe, expect, it } from "vitest";
import {
  historyItem,
  KeptBecause,
  selectPrunable,
  type HistoryItem,
} from "../../../src/controllers/managedapp/request-history.ts";

const LIMITS = { maxCount: 2, maxDryRunCount: 1 };

/** A request created at minute `minute`; finished and succeeded unless told otherwise. */
function item(name: string, minute: number, over: Partial<HistoryItem> = {}): HistoryItem {
  return {
    kind: "UpgradeRequest",
    name,
    uid: `uid-${name}`,
    creationTimestamp: `2026-01-01T10:${String(minute).padStart(2, "0")}:00Z`,
    dryRun: false,
    finished: true,
    succeeded: true,
    reason: "Succeeded",
    deleting: false,
    committed: true,
    upgrade: undefined,
    ...over,
  };
}
const failed = (reason: string): Partial<HistoryItem> => ({ succeeded: false, reason });
const rollback = (upgrade: string, over: Partial<HistoryItem> = {}): Partial<HistoryItem> => ({
  kind: "RollbackRequest",
  committed: false,
  upgrade,
  ...over,
});
const names = (list: readonly HistoryItem[]) => list.map((r) => r.name);

describe("selectPrunable", () => {
  it("keeps the newest maxCount finished real requests and deletes the older ones, oldest first", () => {
    const requests = [1, 2, 3, 4, 5].map((m) => item(`u${m}`, m));
    const { prune, kept } = selectPrunable(requests, LIMITS);
    expect(names(prune)).toEqual(["u1", "u2", "u3"]);
    expect(kept).toEqual([]);
  });

  it("counts dry runs apart from real requests, each against its own limit", () => {
    const requests = [
      item("plan1", 1, { dryRun: true, committed: false, reason: "DryRunSucceeded" }),
      item("plan2", 2, { dryRun: true, committed: false, reason: "DryRunSucceeded" }),
      item("u3", 3),
      item("plan4", 4, { dryRun: true, committed: false, reason: "DryRunSucceeded" }),
      item("u5", 5),
    ];
    // Two real ones (the limit), one dry run (the limit): the two older dry runs go.
    expect(names(selectPrunable(requests, LIMITS).prune)).toEqual(["plan1", "plan2"]);
    expect(names(selectPrunable(requests, { maxCount: 1, maxDryRunCount: 3 }).prune)).toEqual([
      "u3",
    ]);
  });

  it("never deletes nor counts a request that has not finished", () => {
    const requests = [
      item("u1", 1, { finished: false, succeeded: false, reason: undefined, committed: false }),
      item("u2", 2, failed("PlanFailed")),
      item("u3", 3, failed("PlanFailed")),
      item("u4", 4, { finished: false, succeeded: false, reason: undefined }),
    ];
    // u1 and u4 run; u2 and u3 are the two finished ones, within the limit.
    expect(selectPrunable(requests, { maxCount: 2, maxDryRunCount: 1 }).prune).toEqual([]);
    expect(names(selectPrunable(requests, { maxCount: 1, maxDryRunCount: 1 }).prune)).toEqual([
      "u2",
    ]);
  });

  it("treats failed, refused and compensated requests like any other: they age out by count", () => {
    const requests = [
      item("u1", 1, { ...failed("ScaleDownFailed"), committed: false }),
      item("u2", 2, { ...failed("InvalidSpec"), committed: false }),
      item("u3", 3),
      item("u4", 4),
    ];
    expect(names(selectPrunable(requests, LIMITS).prune)).toEqual(["u1", "u2"]);
  });

  it("keeps the newest committed upgrade not rolled back: a rollback may still undo it", () => {
    const requests = [
      item("u1", 1),
      item("u2", 2),
      // Failed before committing: nothing to roll back.
      item("u3", 3, { ...failed("PlanFailed"), committed: false }),
      item("u4", 4, { ...failed("SnapshotFailed"), committed: false }),
    ];
    const { prune, kept } = selectPrunable(requests, LIMITS);
    expect(names(prune)).toEqual(["u1"]);
    expect(kept.map((k) => [k.item.name, k.because])).toEqual([
      ["u2", KeptBecause.RollbackPossible],
    ]);
  });

  it("keeps an upgrade whose rollback is running, and the rollback", () => {
    const requests = [
      item("u1", 1, failed("RollbackTriggered")),
      item(
        "u1-rollback",
        2,
        rollback("u1", { finished: false, succeeded: false, reason: undefined }),
      ),
      item("p3", 3, { ...failed("PlanFailed"), committed: false }),
      item("p4", 4, { ...failed("PlanFailed"), committed: false }),
    ];
    const { prune, kept } = selectPrunable(requests, LIMITS);
    expect(prune).toEqual([]);
    expect(kept.map((k) => [k.item.name, k.because])).toEqual([
      ["u1", KeptBecause.RollbackRunning],
    ]);
  });

  it("a dry-run rollback that runs holds its upgrade too", () => {
    const requests = [
      item("u1", 1),
      item("u2", 2),
      item("u1-plan", 3, rollback("u1", { dryRun: true, finished: false, succeeded: false })),
      item("u4", 4),
      item("u5", 5),
    ];
    const { prune, kept } = selectPrunable(requests, LIMITS);
    expect(names(prune)).toEqual(["u2"]);
    expect(kept.map((k) => k.item.name)).toEqual(["u1"]);
  });

  it("keeps a succeeded rollback while its upgrade stays, and deletes both together, upgrade first", () => {
    const base = [
      item("u1", 1, failed("RollbackTriggered")),
      item("u1-rollback", 2, rollback("u1", { reason: "Succeeded" })),
      item("u3", 3),
    ];
    // Limit 2: u1 is beyond it and rolled back (u3 is the one to roll back now), so it goes; its
    // rollback, among the newest two, stays.
    expect(names(selectPrunable(base, LIMITS).prune)).toEqual(["u1"]);
    // Limit 1: both go, the upgrade first.
    expect(names(selectPrunable(base, { maxCount: 1, maxDryRunCount: 1 }).prune)).toEqual([
      "u1",
      "u1-rollback",
    ]);
    // u1 kept by a running rollback of it (a dry run): its succeeded rollback stays with it.
    const held = [
      ...base,
      item("u1-plan", 4, rollback("u1", { dryRun: true, finished: false, succeeded: false })),
      item("u5", 5),
    ];
    const { prune, kept } = selectPrunable(held, LIMITS);
    expect(names(prune)).toEqual([]);
    expect(kept.map((k) => [k.item.name, k.because])).toEqual([
      ["u1", KeptBecause.RollbackRunning],
      ["u1-rollback", KeptBecause.RecordsRollback],
    ]);
  });

  it("keeps a succeeded rollback whose upgrade is among the newest", () => {
    const requests = [
      item("u1", 1, failed("RollbackTriggered")),
      item("u1-rollback", 2, rollback("u1")),
      item("u1-rollback-2", 3, rollback("u1", failed("AlreadyRolledBack"))),
    ];
    // maxCount 1 keeps u1-rollback-2 only; u1 is beyond it, but not needed: both go, then.
    const out = selectPrunable(requests, { maxCount: 1, maxDryRunCount: 1 });
    expect(names(out.prune)).toEqual(["u1", "u1-rollback"]);
    // With u1 kept by the limit, its rollback records that it was rolled back.
    const withU1Newest = [
      item("u1-rollback", 1, rollback("u1")),
      item("u1", 2, failed("RollbackTriggered")),
    ];
    expect(selectPrunable(withU1Newest, { maxCount: 1, maxDryRunCount: 1 }).kept).toEqual([
      { item: withU1Newest[0], because: KeptBecause.RecordsRollback },
    ]);
  });

  it("keeps a rollback that ended RestoreIncomplete until another rollback of its upgrade succeeds", () => {
    const frozen = [
      item("u1", 1, failed("RollbackTriggered")),
      item("u1-rollback", 2, rollback("u1", failed("RestoreIncomplete"))),
      item("x3", 3, { ...failed("AppNotFound"), committed: false }),
      item("x4", 4, { ...failed("AppNotFound"), committed: false }),
    ];
    const { prune, kept } = selectPrunable(frozen, LIMITS);
    expect(prune).toEqual([]);
    expect(kept.map((k) => [k.item.name, k.because])).toEqual([
      ["u1", KeptBecause.RollbackPossible],
      ["u1-rollback", KeptBecause.RestoreIncomplete],
    ]);
    const thawed = [
      ...frozen,
      item("u1-rollback-2", 5, rollback("u1")),
      item("u6", 6, { ...failed("PlanFailed"), committed: false }),
    ];
    expect(names(selectPrunable(thawed, LIMITS).prune)).toEqual(["u1", "x3", "x4", "u1-rollback"]);
  });

  it("skips a request already being deleted", () => {
    const requests = [item("u1", 1, { deleting: true }), item("u2", 2), item("u3", 3)];
    expect(selectPrunable(requests, LIMITS).prune).toEqual([]);
  });

  it("orders requests created in the same second by name", () => {
    const requests = ["b", "a", "c"].map((n) => item(n, 1));
    expect(names(selectPrunable(requests, { maxCount: 1, maxDryRunCount: 1 }).prune)).toEqual([
      "a",
      "b",
    ]);
  });
});

describe("historyItem", () => {
  it("reads a raw rollback", () => {
    const raw = {
      apiVersion: "cairn.dev/v1alpha1",
      kind: "RollbackRequest",
      metadata: {
        name: "r",
        uid: "u-r",
        creationTimestamp: "2026-01-01T10:00:00Z",
        deletionTimestamp: "2026-01-01T11:00:00Z",
      },
      spec: { upgradeRequestRef: { name: "up" }, dryRun: true },
      status: {
        conditions: [
          {
            type: "Complete",
            status: "False",
            reason: "RestoreIncomplete",
            message: "",
            lastTransitionTime: "2026-01-01T10:05:00Z",
          },
        ],
      },
    };
    expect(historyItem(raw)).toEqual({
      kind: "RollbackRequest",
      name: "r",
      uid: "u-r",
      creationTimestamp: "2026-01-01T10:00:00Z",
      dryRun: true,
      finished: true,
      succeeded: false,
      reason: "RestoreIncomplete",
      deleting: true,
      committed: false,
      upgrade: "up",
    });
  });

  it("reads a raw upgrade: a commit in status, Complete Unknown is not finished", () => {
    const raw = {
      apiVersion: "cairn.dev/v1alpha1",
      kind: "UpgradeRequest",
      metadata: { name: "u", uid: "x" },
      spec: { managedAppRef: { name: "a" } },
      status: {
        commit: { sha: "abc" },
        conditions: [{ type: "Complete", status: "Unknown", reason: "InProgress", message: "" }],
      },
    };
    expect(historyItem(raw)).toMatchObject({
      kind: "UpgradeRequest",
      finished: false,
      succeeded: false,
      reason: undefined,
      committed: true,
      dryRun: false,
      upgrade: undefined,
      creationTimestamp: "",
    });
  });
});
