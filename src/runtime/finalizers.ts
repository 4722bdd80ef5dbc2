// Adding and removing a finalizer. The whole metadata.finalizers list travels in a JSON merge
// patch (merge patch replaces lists), so the patch also carries metadata.resourceVersion: the API
// server treats it as a precondition and answers 409 Conflict if the object changed since we read
// it, which is what keeps us from dropping a finalizer that someone else added meanwhile. On a
// Conflict we re-read and try again, a bounded number of times.
import type { KubeObject, ObjectRef } from "../kube/client.ts";
import { isKubeError } from "../kube/errors.ts";

/** What the helpers need from the API; KubeClient satisfies it as it is. */
export interface FinalizerClient {
  get(ref: ObjectRef): Promise<KubeObject>;
  mergePatch(ref: ObjectRef, patch: Record<string, unknown>): Promise<KubeObject>;
}

export interface FinalizerOptions {
  /** Patch attempts, the first one included. Default 5. */
  readonly maxAttempts?: number;
}

export interface EnsureFinalizerOptions extends FinalizerOptions {
  /**
   * Labels that go out in the same patch as the finalizer, when one is added: one write instead
   * of two (nothing is sent for them when the finalizer is there already).
   */
  readonly labels?: Readonly<Record<string, string>> | undefined;
}

/** The metadata the helpers read; parsed (zod) objects fit as well as raw ones. */
export interface FinalizerTarget {
  readonly metadata: {
    readonly resourceVersion?: string | undefined;
    readonly finalizers?: unknown;
    readonly [key: string]: unknown;
  };
}

const DEFAULT_MAX_ATTEMPTS = 5;

/** The object's finalizers; anything that is not a list of strings reads as none. */
export function finalizersOf(obj: FinalizerTarget): readonly string[] {
  const list = obj.metadata.finalizers;
  return Array.isArray(list) ? list.filter((f): f is string => typeof f === "string") : [];
}

export function hasFinalizer(obj: FinalizerTarget, name: string): boolean {
  return finalizersOf(obj).includes(name);
}

/**
 * Makes sure the object carries the finalizer. Returns the object as the API last returned it
 * (or `obj` itself when the finalizer was already there and nothing was sent). The API refuses
 * new finalizers on an object that is being deleted (the error is thrown): check deletion first.
 */
export function ensureFinalizer<T extends FinalizerTarget>(
  client: FinalizerClient,
  ref: ObjectRef,
  obj: T,
  name: string,
  opts: EnsureFinalizerOptions = {},
): Promise<T | KubeObject> {
  return update(
    client,
    ref,
    obj,
    opts,
    (list) => (list.includes(name) ? undefined : [...list, name]),
    opts.labels,
  );
}

/**
 * Takes the finalizer off. Returns the object as the API last returned it, or undefined when
 * the object is gone: either it was already deleted, or removing the last finalizer let the API
 * server delete it. A missing object counts as done, never as an error.
 */
export async function removeFinalizer<T extends FinalizerTarget>(
  client: FinalizerClient,
  ref: ObjectRef,
  obj: T,
  name: string,
  opts: FinalizerOptions = {},
): Promise<T | KubeObject | undefined> {
  try {
    return await update(client, ref, obj, opts, (list) =>
      list.includes(name) ? list.filter((f) => f !== name) : undefined,
    );
  } catch (err) {
    if (isKubeError(err, "NotFound")) return undefined;
    throw err;
  }
}

/**
 * The shared loop. `change` returns the new list, or undefined when the object is already as
 * wanted (then nothing is sent).
 */
async function update<T extends FinalizerTarget>(
  client: FinalizerClient,
  ref: ObjectRef,
  obj: T,
  opts: FinalizerOptions,
  change: (list: readonly string[]) => readonly string[] | undefined,
  labels?: Readonly<Record<string, string>>,
): Promise<T | KubeObject> {
  const maxAttempts = Math.max(1, opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
  let current: T | KubeObject = obj;
  if (
    current.metadata.resourceVersion === undefined &&
    change(finalizersOf(current)) !== undefined
  ) {
    // Without a version the patch would be unconditional; read one first.
    current = await client.get(ref);
  }
  for (let attempt = 1; ; attempt++) {
    const next = change(finalizersOf(current));
    if (next === undefined) return current;
    const resourceVersion = current.metadata.resourceVersion;
    if (resourceVersion === undefined) {
      throw new Error(`${ref.kind} ${ref.name} came back without a resourceVersion`);
    }
    try {
      return await client.mergePatch(ref, {
        metadata: {
          finalizers: next,
          resourceVersion,
          ...(labels && Object.keys(labels).length > 0 ? { labels } : {}),
        },
      });
    } catch (err) {
      if (!isKubeError(err, "Conflict") || attempt >= maxAttempts) throw err;
    }
    current = await client.get(ref);
  }
}
