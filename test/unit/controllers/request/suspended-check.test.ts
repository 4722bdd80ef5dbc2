import { describe, expect, it } from "vitest";
import { suspendedObjectVerdict } from "../../../../src/controllers/request/suspended-check.ts";

const what = "Kustomization shop/apps";

describe("suspendedObjectVerdict", () => {
  it("shares a suspension that running requests hold", () => {
    expect(
      suspendedObjectVerdict(what, [{ name: "up-a", live: true }], "this request", "x"),
    ).toEqual({
      passed: true,
      message: `${what} is suspended by up-a, still running: this request shares the suspension, and the last holder resumes it`,
    });
  });

  it("refuses one a finished request left frozen, naming it, even beside a running holder", () => {
    const v = suspendedObjectVerdict(
      what,
      [
        { name: "up-a", live: true },
        { name: "rb-b", live: false },
      ],
      "this rollback",
      "x",
    );
    expect(v.passed).toBe(false);
    expect(v.message).toBe(
      `${what} is held suspended by rb-b, which finished and left it frozen; finish or undo that first (docs/rollback.md)`,
    );
  });

  it("refuses one suspended outside Cairn, with the caller's advice", () => {
    expect(suspendedObjectVerdict(what, [], "this request", "resume it first")).toEqual({
      passed: false,
      message: `${what} is suspended, and not by a Cairn request; resume it first`,
    });
  });
});
