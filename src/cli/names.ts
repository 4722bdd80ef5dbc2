// Names of the requests the plugin creates: "<app>-upgrade-x7k2p", "<upgrade>-rollback-q9z1m".
// Cairn's CRDs take DNS labels only (≤ 63 characters), and a rollback's base is itself a
// generated name, so the base is cut to fit rather than trusted to be short.
import { randomInt } from "node:crypto";
import { DNS_LABEL_MAX } from "../api/fields.ts";

const ALPHABET = "bcdfghjklmnpqrstvwxz2456789";
export const SUFFIX_LENGTH = 5;

/** Five characters from kubectl's generateName alphabet (no vowels: no words by accident). */
export function randomSuffix(pick: (max: number) => number = randomInt): string {
  let out = "";
  for (let i = 0; i < SUFFIX_LENGTH; i++) out += ALPHABET[pick(ALPHABET.length)] ?? "x";
  return out;
}

/** `${base}-${role}-${suffix}`, cutting the base so the whole fits a DNS label. */
export function requestName(base: string, role: string, suffix: string): string {
  const room = DNS_LABEL_MAX - role.length - suffix.length - 2;
  const cut = base.slice(0, Math.max(0, room)).replace(/-+$/, "");
  return [cut, role, suffix].filter((part) => part !== "").join("-");
}
