import { describe, expect, it } from "vitest";
import { MaintenanceWindow } from "../../../src/api/managedapp.ts";
import { describeWindows, windowState } from "../../../src/updates/maintenance-window.ts";

const window = (w: Record<string, unknown>) => MaintenanceWindow.parse(w);
const at = (iso: string) => new Date(iso);

describe("windowState", () => {
  it("is always open without windows", () => {
    expect(windowState(undefined, at("2026-12-07T03:00:00Z"))).toEqual({ kind: "always" });
    expect(windowState([], at("2026-12-07T03:00:00Z"))).toEqual({ kind: "always" });
  });

  // 2026-12-07 is a Monday.
  const monday = [window({ days: ["Mon"], start: "02:00", duration: "2h" })];

  it("is open from the start for the duration, in UTC by default", () => {
    expect(windowState(monday, at("2026-12-07T02:00:00Z"))).toEqual({
      kind: "open",
      closesAt: at("2026-12-07T04:00:00Z"),
    });
    expect(windowState(monday, at("2026-12-07T03:59:59Z"))).toMatchObject({ kind: "open" });
  });

  it("is closed before and after, and says when it opens next", () => {
    expect(windowState(monday, at("2026-12-07T01:59:00Z"))).toEqual({
      kind: "closed",
      opensAt: at("2026-12-07T02:00:00Z"),
    });
    expect(windowState(monday, at("2026-12-07T04:00:00Z"))).toEqual({
      kind: "closed",
      opensAt: at("2026-12-14T02:00:00Z"),
    });
  });

  it("opens at the local time of its time zone, and stays open past midnight", () => {
    const newYork = [
      window({ days: ["Sun"], start: "23:00", duration: "2h", timeZone: "America/New_York" }),
    ];
    // Sunday 2026-12-06 23:00 in New York (UTC-5) is Monday 04:00 UTC; it closes at 06:00 UTC.
    expect(windowState(newYork, at("2026-12-07T05:30:00Z"))).toEqual({
      kind: "open",
      closesAt: at("2026-12-07T06:00:00Z"),
    });
    expect(windowState(newYork, at("2026-12-07T06:00:00Z"))).toEqual({
      kind: "closed",
      opensAt: at("2026-12-14T04:00:00Z"),
    });
  });

  it("keeps the local start across a daylight-saving change", () => {
    const berlin = [
      window({ days: ["Sat", "Sun"], start: "04:00", duration: "1h", timeZone: "Europe/Berlin" }),
    ];
    // Saturday 2026-03-28 04:00 CET is 03:00 UTC; Sunday 2026-03-29 04:00 CEST is 02:00 UTC.
    expect(windowState(berlin, at("2026-03-28T03:30:00Z"))).toMatchObject({ kind: "open" });
    expect(windowState(berlin, at("2026-03-28T05:00:00Z"))).toEqual({
      kind: "closed",
      opensAt: at("2026-03-29T02:00:00Z"),
    });
    // 02:30 does not exist on the night clocks go forward: it opens when 02:30 CET would be.
    const skipped = [
      window({ days: ["Sun"], start: "02:30", duration: "1h", timeZone: "Europe/Berlin" }),
    ];
    expect(windowState(skipped, at("2026-03-29T00:00:00Z"))).toEqual({
      kind: "closed",
      opensAt: at("2026-03-29T01:30:00Z"),
    });
  });

  it("joins windows that overlap or adjoin into one", () => {
    const two = [
      window({ days: ["Mon"], start: "02:00", duration: "2h" }),
      window({ days: ["Mon"], start: "04:00", duration: "1h" }),
    ];
    expect(windowState(two, at("2026-12-07T03:00:00Z"))).toEqual({
      kind: "open",
      closesAt: at("2026-12-07T05:00:00Z"),
    });
  });

  it("describes the windows for messages", () => {
    expect(
      describeWindows([
        window({ days: ["Mon", "Thu"], start: "02:00", duration: "2h", timeZone: "Europe/Berlin" }),
      ]),
    ).toBe("Mon,Thu 02:00+2h Europe/Berlin");
  });
});

describe("MaintenanceWindow", () => {
  it("refuses a time zone the runtime does not know, naming the field", () => {
    const parsed = MaintenanceWindow.safeParse({
      days: ["Mon"],
      start: "02:00",
      duration: "1h",
      timeZone: "Mars/Olympus_Mons",
    });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]).toMatchObject({
      path: ["timeZone"],
      message: "must be an IANA time zone such as UTC or Europe/Berlin",
    });
  });

  it("refuses a day twice", () => {
    expect(
      MaintenanceWindow.safeParse({ days: ["Mon", "Mon"], start: "02:00", duration: "1h" }).success,
    ).toBe(false);
  });
});
