import { describe, expect, it } from "vitest";
import {
  abortingMessage,
  appOf,
  newestFirst,
  outcomeOf,
  requestLabel,
  requestsOfApp,
} from "../../../src/cli/requests.ts";
import { complete, condition, rollback, upgrade } from "./fixtures.ts";

describe("outcomeOf", () => {
  it("is pending before the controller wrote anything, running after", () => {
    expect(outcomeOf(undefined)).toEqual({ state: "pending" });
    expect(outcomeOf({ phase: "Committing", startedAt: "2026-01-01T00:00:00Z" })).toEqual({
      state: "running",
      phase: "Committing",
    });
  });

  it("reads success and failure from the Complete condition", () => {
    expect(outcomeOf({ conditions: [complete("True", "DryRunSucceeded")] })).toEqual({
      state: "succeeded",
      reason: "DryRunSucceeded",
      message: "",
    });
    expect(
      outcomeOf({ conditions: [complete("False", "RollbackRequired", "unhealthy after commit")] }),
    ).toEqual({ state: "failed", reason: "RollbackRequired", message: "unhealthy after commit" });
  });
});

describe("abortingMessage", () => {
  it("is the message of Aborting=True only", () => {
    expect(
      abortingMessage({
        conditions: [condition("Aborting", "True", "DeadlineExceeded", "snapshot timed out")],
      }),
    ).toBe("snapshot timed out");
    expect(
      abortingMessage({ conditions: [condition("Aborting", "False", "Succeeded")] }),
    ).toBeUndefined();
  });
});

describe("requests of an app", () => {
  const mine = upgrade("web-upgrade-1", { app: "web" });
  const other = upgrade("db-upgrade-1", { app: "db" });
  const labelled = rollback("web-rb-label", { upgrade: "gone", app: "web" });
  const viaUpgrade = rollback("web-rb-ref", { upgrade: "web-upgrade-1" });
  const foreign = rollback("db-rb", { upgrade: "db-upgrade-1" });

  it("finds a rollback's app by its label, else through its upgrade", () => {
    const byName = new Map([[mine.metadata.name, mine]]);
    expect(appOf(labelled, byName)).toBe("web");
    expect(appOf(viaUpgrade, byName)).toBe("web");
    expect(appOf(rollback("orphan", { upgrade: "missing" }), byName)).toBeUndefined();
  });

  it("keeps the app's requests only", () => {
    const names = requestsOfApp("web", [mine, other], [labelled, viaUpgrade, foreign]).map(
      (r) => r.metadata.name,
    );
    expect(names.sort()).toEqual(["web-rb-label", "web-rb-ref", "web-upgrade-1"]);
  });

  it("labels kinds with what sets them apart", () => {
    expect(requestLabel(mine)).toBe("upgrade");
    expect(requestLabel(upgrade("p", { spec: { dryRun: true } }))).toBe("upgrade/dry-run");
    expect(requestLabel(rollback("r", { upgrade: "u", spec: { autoTriggered: true } }))).toBe(
      "rollback/auto",
    );
    expect(requestLabel(rollback("r", { upgrade: "u", spec: { dryRun: true } }))).toBe(
      "rollback/dry-run",
    );
  });
});

describe("newestFirst", () => {
  it("orders by start, else creation, then name, newest first", () => {
    const a = upgrade("a", {
      created: "2026-01-01T10:00:00Z",
      status: { startedAt: "2026-01-01T10:00:05Z" },
    });
    // Created in the same second as a, but started later.
    const b = upgrade("b", {
      created: "2026-01-01T10:00:00Z",
      status: { startedAt: "2026-01-01T10:02:00Z" },
    });
    // Not started yet: its creation time counts.
    const c = upgrade("c", { created: "2026-01-01T10:01:00Z" });
    const d = upgrade("d", { created: "2026-01-01T09:00:00Z" });
    expect(newestFirst([d, a, c, b]).map((r) => r.metadata.name)).toEqual(["b", "c", "a", "d"]);
  });

  it("tells apart two requests started within one second by their milliseconds", () => {
    // A dry run that finished at once, and the upgrade asked for right after it; by name alone
    // (the last tie-breaker) the order would be the wrong way round.
    const plan = upgrade("web-upgrade-zzzzz", {
      created: "2026-01-01T10:00:00Z",
      status: { startedAt: "2026-01-01T10:00:00.120Z" },
    });
    const up = upgrade("web-upgrade-aaaaa", {
      created: "2026-01-01T10:00:00Z",
      status: { startedAt: "2026-01-01T10:00:00.870Z" },
    });
    expect(newestFirst([plan, up]).map((r) => r.metadata.name)).toEqual([
      "web-upgrade-aaaaa",
      "web-upgrade-zzzzz",
    ]);
  });
});
