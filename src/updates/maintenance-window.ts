// Whether an automatic upgrade may start now: the app's maintenance windows, each a start time on
// some weekdays in a time zone and a duration. Pure; time zones through Intl, so a window keeps
// its local start across daylight-saving changes (a window that opens at a local time the clock
// skips opens at the instant that time would have been).
import { durationMs } from "../api/fields.ts";
import type { MaintenanceWindow, Weekday } from "../api/managedapp.ts";

const DAY_MS = 24 * 3_600_000;
const WEEKDAYS: readonly Weekday[] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

export type WindowState =
  /** No windows: automatic upgrades may start at any time. */
  | { readonly kind: "always" }
  | { readonly kind: "open"; readonly closesAt: Date }
  | { readonly kind: "closed"; readonly opensAt: Date };

interface LocalDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

/** The wall-clock date and the offset from UTC (ms) of an instant in a time zone. */
function local(at: number, timeZone: string): LocalDate & { readonly offsetMs: number } {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    second: "numeric",
  }).formatToParts(new Date(at));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? "0");
  const wall = Date.UTC(
    get("year"),
    get("month") - 1,
    get("day"),
    get("hour"),
    get("minute"),
    get("second"),
  );
  return {
    year: get("year"),
    month: get("month"),
    day: get("day"),
    offsetMs: wall - (at - (at % 1000)),
  };
}

/** The instant a wall-clock time of a date has in a time zone. */
function instantOf(date: LocalDate, hour: number, minute: number, timeZone: string): number {
  const wall = Date.UTC(date.year, date.month - 1, date.day, hour, minute);
  // Two rounds: the offset at the guess may differ from the offset at the answer (DST).
  let guess = wall - local(wall, timeZone).offsetMs;
  guess = wall - local(guess, timeZone).offsetMs;
  return guess;
}

/** Every opening of the window from a week before `at` to a week after, as [start, end). */
function openings(window: MaintenanceWindow, at: number): [number, number][] {
  const [hour = 0, minute = 0] = window.start.split(":").map(Number);
  const length = durationMs(window.duration) ?? 0;
  const today = local(at, window.timeZone);
  const found: [number, number][] = [];
  for (let offset = -8; offset <= 8; offset++) {
    // Calendar arithmetic on the local date (UTC noon keeps it clear of any DST edge).
    const noon = new Date(Date.UTC(today.year, today.month - 1, today.day + offset, 12));
    const date = {
      year: noon.getUTCFullYear(),
      month: noon.getUTCMonth() + 1,
      day: noon.getUTCDate(),
    };
    const weekday = WEEKDAYS[noon.getUTCDay()];
    if (weekday === undefined || !window.days.includes(weekday)) continue;
    const start = instantOf(date, hour, minute, window.timeZone);
    found.push([start, start + length]);
  }
  return found;
}

/** Whether `now` is inside one of the windows, and when that changes. */
export function windowState(
  windows: readonly MaintenanceWindow[] | undefined,
  now: Date,
): WindowState {
  if (!windows || windows.length === 0) return { kind: "always" };
  const at = now.getTime();
  const all = windows.flatMap((w) => openings(w, at));
  const open = all.filter(([start, end]) => start <= at && at < end);
  if (open.length > 0) {
    // Overlapping or adjoining windows count as one: it closes when the last of them does.
    let closes = Math.max(...open.map(([, end]) => end));
    for (let grew = true; grew;) {
      grew = false;
      for (const [start, end] of all)
        if (start <= closes && end > closes) {
          closes = end;
          grew = true;
        }
    }
    return { kind: "open", closesAt: new Date(closes) };
  }
  const next = Math.min(...all.map(([start]) => start).filter((start) => start > at));
  // Every window opens at least once a week, so a next opening is always found.
  return { kind: "closed", opensAt: new Date(Number.isFinite(next) ? next : at + DAY_MS) };
}

/** "Mon,Thu 02:00+2h Europe/Berlin", for messages. */
export function describeWindows(windows: readonly MaintenanceWindow[]): string {
  return windows
    .map((w) => `${w.days.join(",")} ${w.start}+${w.duration} ${w.timeZone}`)
    .join("; ");
}
