// Durations as people read them in a terminal ("3m12s", "1h4m", "2d3h"), and parsed from the
// --timeout flag in the Go notation kubectl and Flux use ("90s", "5m", "1h30m").
import { DURATION_PATTERN } from "../../api/fields.ts";

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Coarser as it grows, like kubectl's ages: seconds only matter in the first ten minutes. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / SECOND)) * SECOND;
  if (total < MINUTE) return `${total / SECOND}s`;
  if (total < 10 * MINUTE) {
    const s = (total % MINUTE) / SECOND;
    return `${Math.floor(total / MINUTE)}m${s ? `${s}s` : ""}`;
  }
  if (total < HOUR) return `${Math.floor(total / MINUTE)}m`;
  if (total < DAY) {
    const m = Math.floor((total % HOUR) / MINUTE);
    return `${Math.floor(total / HOUR)}h${m ? `${m}m` : ""}`;
  }
  const h = Math.floor((total % DAY) / HOUR);
  return `${Math.floor(total / DAY)}d${h ? `${h}h` : ""}`;
}

/** Milliseconds between two RFC 3339 timestamps; undefined when either is missing or invalid. */
export function between(from: string | undefined, to: string | undefined): number | undefined {
  if (from === undefined || to === undefined) return undefined;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isNaN(ms) ? undefined : Math.max(0, ms);
}

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: SECOND,
  m: MINUTE,
  h: HOUR,
};

/** "1h30m" → 5_400_000; undefined for anything that is not a Go duration ("0" is allowed: no limit). */
export function parseDuration(text: string): number | undefined {
  if (text === "0") return 0;
  if (!new RegExp(DURATION_PATTERN).test(text)) return undefined;
  let ms = 0;
  for (const [, value, unit] of text.matchAll(/([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/g)) {
    ms += Number(value) * (UNIT_MS[unit ?? ""] ?? 0);
  }
  return Math.round(ms);
}
