// Sends only what a reconcile changed in an object's status, as one JSON merge patch to the
// status subresource.
//
// Conflicts. A merge patch carries no resourceVersion unless we put one in, so by default the API
// server applies it to whatever the object is now: there is no Conflict to handle, and keys this
// pass did not change are left alone even if someone else wrote them meanwhile. That is right for
// the normal case, where each status has exactly one writing controller (the leader), and it is
// the mode to use. A key that is sent goes whole (a conditions list, say), so if two writers
// change the same key, the last one wins.
//
// Where several writers may change the same key, or where a write must not land on a version
// this writer has not seen (a replica that lost its lease must not overwrite what the new leader
// wrote: runner.ts), use `optimistic: true`: every patch then also
// carries metadata.resourceVersion, which the API server treats as a precondition and answers
// with 409 Conflict when the object changed since it was read. The patcher re-reads the object
// and tries again, a bounded number of times. On a retry, a function passed as the next status is
// called again with the fresh status (so it can re-derive, e.g. add its condition to the other
// writer's list); a plain object re-applies the top-level keys this pass changed on top of the
// fresh status, keeping other writers' changes to all other keys.
import jsonPatch from "fast-json-patch";
import type { KubeObject, ObjectRef } from "../kube/client.ts";
import { isKubeError } from "../kube/errors.ts";

export type Status = Readonly<Record<string, unknown>>;

/** What the patcher needs from the API; KubeClient satisfies it as it is. */
export interface StatusClient {
  get(ref: ObjectRef): Promise<KubeObject>;
  patchStatus(ref: ObjectRef, patch: Record<string, unknown>): Promise<KubeObject>;
}

/** The status to write, or a function from the current status to it (see optimistic mode). */
export type NextStatus = Status | ((current: Status) => Status);

export interface StatusPatcherOptions {
  /** Send metadata.resourceVersion as a precondition and retry on Conflict. Default false. */
  readonly optimistic?: boolean;
  /** Attempts per patch in optimistic mode, the first one included. Default 3. */
  readonly maxAttempts?: number;
  /**
   * Optimistic, but a Conflict is retried only while the status the API holds is still the
   * baseline (someone wrote the object's metadata or spec, not its status); a status someone
   * else wrote throws the Conflict. Default false.
   */
  readonly fenced?: boolean;
}

export interface StatusPatchResult {
  /** Top-level status keys sent in the last request; empty when nothing was sent. */
  readonly keys: readonly string[];
  /** Requests made: 0 when nothing changed, more than 1 after conflicts. */
  readonly attempts: number;
  /** The API's answer to the last request, if one was made. */
  readonly object: KubeObject | undefined;
}

/** The part of an object the patcher reads; parsed (zod) objects fit as well as raw ones. */
export interface WithStatus {
  readonly metadata?: { readonly resourceVersion?: string | undefined } | undefined;
  readonly status?: unknown;
}

const DEFAULT_MAX_ATTEMPTS = 3;

export class StatusPatcher {
  readonly #optimistic: boolean;
  readonly #fenced: boolean;
  readonly #maxAttempts: number;
  #baseline: Record<string, unknown>;
  #resourceVersion: string | undefined;

  private constructor(
    status: unknown,
    resourceVersion: string | undefined,
    opts: StatusPatcherOptions,
  ) {
    this.#baseline = toJsonRecord(status);
    this.#resourceVersion = resourceVersion;
    this.#fenced = opts.fenced ?? false;
    this.#optimistic = this.#fenced || (opts.optimistic ?? false);
    this.#maxAttempts = Math.max(1, opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
  }

  /** Takes a deep copy of the object's status (and its resourceVersion) as the baseline. */
  static from(obj: WithStatus, opts: StatusPatcherOptions = {}): StatusPatcher {
    return new StatusPatcher(obj.status, obj.metadata?.resourceVersion, opts);
  }

  /**
   * Takes a newer version of the object that a write of ours elsewhere (its metadata, say)
   * answered with as the precondition for the next patch, if its status is still the baseline.
   * False when the status differs: someone else wrote it, and the caller should read it again.
   */
  rebase(obj: WithStatus): boolean {
    const resourceVersion = obj.metadata?.resourceVersion;
    if (resourceVersion === undefined) return false;
    if (Object.keys(statusDelta(this.#baseline, toJsonRecord(obj.status))).length > 0) return false;
    this.#resourceVersion = resourceVersion;
    return true;
  }

  /** A copy of the status as the patcher believes the server has it. */
  get baseline(): Status {
    return structuredClone(this.#baseline);
  }

  /** The merge patch of `status` that would turn the baseline into `next`; pure. */
  diff(next: Status): Record<string, unknown> {
    return statusDelta(this.#baseline, toJsonRecord(next));
  }

  /**
   * Sends one merge patch to /status with the top-level keys that differ from the baseline
   * (`null` for removed ones), or nothing at all when none do. What was written becomes the
   * baseline, so a second patch in the same pass carries only the new delta. A failed request
   * leaves the baseline as it was, so the next patch sends the same keys again.
   */
  async patch(client: StatusClient, ref: ObjectRef, next: NextStatus): Promise<StatusPatchResult> {
    const desired0 = resolve(next, this.#baseline);
    // What this pass means to change, kept to re-apply on a fresh status after a conflict.
    const intent = statusDelta(this.#baseline, desired0);
    let desired = desired0;
    let delta = intent;
    let requests = 0;
    let object: KubeObject | undefined;
    for (;;) {
      const keys = Object.keys(delta);
      if (keys.length === 0) {
        this.#baseline = desired;
        return { keys, attempts: requests, object };
      }
      if (this.#optimistic && this.#resourceVersion === undefined) {
        // Nothing to hold the write against yet: read first, then compute against that.
        ({ desired, delta } = await this.#reread(client, ref, next, intent));
        continue;
      }
      const body: Record<string, unknown> = { status: delta };
      if (this.#optimistic) body["metadata"] = { resourceVersion: this.#resourceVersion };
      requests++;
      try {
        object = await client.patchStatus(ref, body);
      } catch (err) {
        if (!this.#optimistic || !isKubeError(err, "Conflict") || requests >= this.#maxAttempts) {
          throw err;
        }
        const before = { baseline: this.#baseline, resourceVersion: this.#resourceVersion };
        ({ desired, delta } = await this.#reread(client, ref, next, intent));
        if (this.#fenced && Object.keys(statusDelta(before.baseline, this.#baseline)).length > 0) {
          // Someone else wrote the status: what this writer built must not land on it, now or
          // in a later patch of the same pass.
          this.#baseline = before.baseline;
          this.#resourceVersion = before.resourceVersion;
          throw err;
        }
        continue;
      }
      this.#baseline = desired;
      this.#resourceVersion = object.metadata.resourceVersion ?? this.#resourceVersion;
      return { keys, attempts: requests, object };
    }
  }

  async #reread(
    client: StatusClient,
    ref: ObjectRef,
    next: NextStatus,
    intent: Record<string, unknown>,
  ): Promise<{ desired: Record<string, unknown>; delta: Record<string, unknown> }> {
    const current = await client.get(ref);
    const resourceVersion = current.metadata.resourceVersion;
    if (resourceVersion === undefined) {
      throw new Error(`${ref.kind} ${ref.name} came back without a resourceVersion`);
    }
    const base = toJsonRecord(current["status"]);
    this.#baseline = base;
    this.#resourceVersion = resourceVersion;
    const desired = typeof next === "function" ? resolve(next, base) : applyDelta(base, intent);
    return { desired, delta: statusDelta(base, desired) };
  }
}

/**
 * The top-level keys of `next` whose values differ from `base` (deep comparison, key order
 * ignored), with `null` for keys that `next` dropped. Both sides must be plain JSON.
 */
export function statusDelta(
  base: Readonly<Record<string, unknown>>,
  next: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const delta: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(next)) {
    if (!(key in base) || !sameJson(base[key], value)) delta[key] = value;
  }
  for (const key of Object.keys(base)) {
    if (!(key in next)) delta[key] = null;
  }
  return delta;
}

function resolve(next: NextStatus, current: Record<string, unknown>): Record<string, unknown> {
  // The function gets its own copy, so it cannot change the baseline by accident.
  return toJsonRecord(typeof next === "function" ? next(structuredClone(current)) : next);
}

function applyDelta(
  base: Readonly<Record<string, unknown>>,
  delta: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const merged = Object.entries({ ...base, ...delta });
  return Object.fromEntries(merged.filter(([, value]) => value !== null));
}

/**
 * The value as it travels on the wire: a JSON round trip turns Dates into strings and drops
 * undefined fields, so what is compared is what would be sent. A merge patch cannot store a
 * null, so null top-level keys count as absent too.
 */
function toJsonRecord(value: unknown): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return {};
  const copy = JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(copy).filter(([, v]) => v !== null));
}

function sameJson(a: unknown, b: unknown): boolean {
  if (typeof a === "object" && a !== null && typeof b === "object" && b !== null) {
    if (Array.isArray(a) !== Array.isArray(b)) return false;
    return jsonPatch.compare(a, b).length === 0;
  }
  return a === b;
}
