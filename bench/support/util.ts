// Small helpers the fleet benches share: bounded parallel creates, retries of transient API
// errors, medians, a ManagedApp's Ready status, and a process's RSS.
import { readFileSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";
import type { KubeObject } from "../../src/kube/client.ts";
import { isKubeError } from "../../src/kube/errors.ts";

export async function pool<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Retries transient API errors; an object that exists already counts as created. */
export async function withRetry<T>(fn: () => Promise<T>): Promise<T | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (isKubeError(err, "AlreadyExists")) return undefined;
      if (!isKubeError(err, "Transient") || attempt >= 8) throw err;
      await delay(200 * attempt);
    }
  }
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

export function readyStatus(obj: KubeObject): string | undefined {
  const conditions = (
    obj["status"] as { conditions?: { type: string; status: string }[] } | undefined
  )?.conditions;
  return conditions?.find((c) => c.type === "Ready")?.status;
}

export function rssMiB(pid: number): number | undefined {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

/** A numeric flag's value: a whole number of at least `min`. */
export function wholeFlag(name: string, value: string | undefined, min: number): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`--${name} must be a whole number`);
  return n;
}
