// The informer's cache: objects by key, plus secondary indexes (namespace, owner uid, or any
// function of an object) that stay in step with every put and remove.
import type { KubeObject } from "../kube/client.ts";

export type IndexFn = (obj: KubeObject) => readonly string[];

export const NAMESPACE_INDEX = "namespace";
/** Indexes objects by the uids in their ownerReferences. */
export const OWNER_INDEX = "owner";

export class UnknownIndexError extends Error {
  constructor(name: string) {
    super(`no index named ${JSON.stringify(name)}`);
    this.name = "UnknownIndexError";
  }
}

export class DuplicateIndexError extends Error {
  constructor(name: string) {
    super(`an index named ${JSON.stringify(name)} already exists`);
    this.name = "DuplicateIndexError";
  }
}

interface Index {
  readonly fn: IndexFn;
  readonly byValue: Map<string, Set<string>>;
  /** What each key was indexed under, so a change can take the old values out. */
  readonly byKey: Map<string, readonly string[]>;
}

export class IndexedStore {
  readonly #objects = new Map<string, KubeObject>();
  readonly #indexes = new Map<string, Index>();
  readonly #onIndexError: (index: string, key: string, error: unknown) => void;

  /** Starts with the built-in namespace and owner indexes. */
  constructor(onIndexError: (index: string, key: string, error: unknown) => void) {
    this.#onIndexError = onIndexError;
    this.addIndex(NAMESPACE_INDEX, (obj) =>
      obj.metadata.namespace ? [obj.metadata.namespace] : [],
    );
    this.addIndex(OWNER_INDEX, ownerUids);
  }

  get size(): number {
    return this.#objects.size;
  }

  get(key: string): KubeObject | undefined {
    return this.#objects.get(key);
  }

  entries(): IterableIterator<[string, KubeObject]> {
    return this.#objects.entries();
  }

  values(): KubeObject[] {
    return [...this.#objects.values()];
  }

  keys(): string[] {
    return [...this.#objects.keys()];
  }

  /** Stores the object and returns the one it replaced. */
  put(key: string, obj: KubeObject): KubeObject | undefined {
    const old = this.#objects.get(key);
    this.#objects.set(key, obj);
    for (const [name, index] of this.#indexes) {
      unindex(index, key);
      this.#index(name, index, key, obj);
    }
    return old;
  }

  /** Removes the object and returns it, or undefined when there was none. */
  remove(key: string): KubeObject | undefined {
    const old = this.#objects.get(key);
    if (!old) return undefined;
    this.#objects.delete(key);
    for (const index of this.#indexes.values()) unindex(index, key);
    return old;
  }

  /** Adds an index, built at once over what the store already holds. */
  addIndex(name: string, fn: IndexFn): void {
    if (this.#indexes.has(name)) throw new DuplicateIndexError(name);
    const index: Index = { fn, byValue: new Map(), byKey: new Map() };
    this.#indexes.set(name, index);
    for (const [key, obj] of this.#objects) this.#index(name, index, key, obj);
  }

  byIndex(name: string, value: string): KubeObject[] {
    const index = this.#indexes.get(name);
    if (!index) throw new UnknownIndexError(name);
    const out: KubeObject[] = [];
    for (const key of index.byValue.get(value) ?? []) {
      const obj = this.#objects.get(key);
      if (obj) out.push(obj);
    }
    return out;
  }

  #index(name: string, index: Index, key: string, obj: KubeObject): void {
    let values: readonly string[];
    try {
      values = [...new Set(index.fn(obj))];
    } catch (err) {
      // A faulty index function loses this object from that index, not the whole cache.
      this.#onIndexError(name, key, err);
      return;
    }
    if (values.length === 0) return;
    index.byKey.set(key, values);
    for (const value of values) {
      let keys = index.byValue.get(value);
      if (!keys) index.byValue.set(value, (keys = new Set()));
      keys.add(key);
    }
  }
}

function unindex(index: Index, key: string): void {
  for (const value of index.byKey.get(key) ?? []) {
    const keys = index.byValue.get(value);
    keys?.delete(key);
    if (keys?.size === 0) index.byValue.delete(value);
  }
  index.byKey.delete(key);
}

function ownerUids(obj: KubeObject): string[] {
  const refs = obj.metadata["ownerReferences"];
  if (!Array.isArray(refs)) return [];
  const uids: string[] = [];
  for (const ref of refs as unknown[]) {
    const uid = (ref as { uid?: unknown } | null)?.uid;
    if (typeof uid === "string" && uid) uids.push(uid);
  }
  return uids;
}
