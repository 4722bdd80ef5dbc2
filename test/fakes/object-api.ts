// An in-memory stand-in for the request/response half of KubeClient (get, list, create,
// mergePatch, patchStatus, patchScale, delete), with the API server rules the runtime relies on: resourceVersions that
// move on every write, metadata.resourceVersion in a merge patch as a precondition (409
// Conflict), a status subresource (patchStatus writes only status, mergePatch never does),
// finalizers holding back deletion, delete preconditions (uid, resourceVersion). Fault hooks let a test fail, delay or interleave requests.
import type { KubeObject, ListOptions, ListResult, ObjectRef } from "../../src/kube/client.ts";
import { KubeError } from "../../src/kube/errors.ts";

export type FakeOp =
  "get" | "list" | "create" | "mergePatch" | "patchStatus" | "patchScale" | "delete";

export interface FakeCall {
  readonly op: FakeOp;
  readonly key: string;
  /** The body sent (a deep copy), for create and the patches. */
  readonly body: unknown;
}

type Fault =
  | { readonly kind: "fail"; readonly error: Error }
  | { readonly kind: "hang"; readonly released: Promise<void> }
  | { readonly kind: "before"; readonly fn: () => void | Promise<void> };

interface ArmedFault {
  readonly op: FakeOp;
  readonly fault: Fault;
  /** Remaining uses; Infinity for "until cleared". */
  times: number;
}

export function refKey(ref: {
  apiVersion: string;
  kind: string;
  namespace?: string | undefined;
  name?: string | undefined;
}): string {
  return `${ref.apiVersion}/${ref.kind}/${ref.namespace ?? ""}/${ref.name ?? ""}`;
}

export class FakeObjectApi {
  readonly calls: FakeCall[] = [];
  readonly #objects = new Map<string, KubeObject>();
  #faults: ArmedFault[] = [];
  #version = 100;
  #uid = 0;

  /** Stores an object as it is (a fresh resourceVersion and uid are filled in). */
  seed(obj: KubeObject): KubeObject {
    const stored = this.#stamp(structuredClone(obj));
    this.#objects.set(refKey(this.#ref(stored)), stored);
    return structuredClone(stored);
  }

  /** The stored object, bypassing faults and the call log; undefined when there is none. */
  peek(ref: ObjectRef): KubeObject | undefined {
    const obj = this.#objects.get(refKey(ref));
    return obj ? structuredClone(obj) : undefined;
  }

  /** Writes as another client would: a merge patch that bypasses faults and the call log. */
  write(ref: ObjectRef, patch: Record<string, unknown>): KubeObject {
    return this.#applyPatch(ref, patch, "all");
  }

  /** The stored objects of a kind, bypassing faults and the call log (an informer's view). */
  objects(apiVersion: string, kind: string): KubeObject[] {
    const prefix = `${apiVersion}/${kind}/`;
    return [...this.#objects.entries()]
      .filter(([key]) => key.startsWith(prefix))
      .map(([, obj]) => structuredClone(obj));
  }

  callsOf(op: FakeOp): FakeCall[] {
    return this.calls.filter((c) => c.op === op);
  }

  /** The next `times` calls of `op` fail with the error (before touching the store). */
  failNext(op: FakeOp, error: Error, times = 1): this {
    this.#faults.push({ op, fault: { kind: "fail", error }, times });
    return this;
  }

  /** Every call of `op` fails with the error until clearFaults(). */
  failAlways(op: FakeOp, error: Error): this {
    return this.failNext(op, error, Infinity);
  }

  /** The next call of `op` waits until the returned function is called. */
  hangNext(op: FakeOp): () => void {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    this.#faults.push({ op, fault: { kind: "hang", released }, times: 1 });
    return release;
  }

  /** Runs fn just before the next call of `op` reaches the store: a concurrent writer. */
  beforeNext(op: FakeOp, fn: () => void | Promise<void>, times = 1): this {
    this.#faults.push({ op, fault: { kind: "before", fn }, times });
    return this;
  }

  clearFaults(): void {
    this.#faults = [];
  }

  async get(ref: ObjectRef): Promise<KubeObject> {
    await this.#enter("get", refKey(ref), undefined);
    const obj = this.#objects.get(refKey(ref));
    if (!obj) throw notFound(ref);
    return structuredClone(obj);
  }

  /** Namespace and equality label selectors ("a=b,c=d"), as the requests' code uses them. */
  async list(apiVersion: string, kind: string, opts: ListOptions = {}): Promise<ListResult> {
    await this.#enter("list", `${apiVersion}/${kind}/${opts.namespace ?? ""}/`, undefined);
    const wanted = (opts.labelSelector ?? "")
      .split(",")
      .filter((r) => r !== "")
      .map((r) => r.split("=") as [string, string]);
    const items = this.objects(apiVersion, kind).filter(
      (o) =>
        (opts.namespace === undefined || o.metadata.namespace === opts.namespace) &&
        wanted.every(([k, v]) => o.metadata.labels?.[k] === v),
    );
    return { items, resourceVersion: String(this.#version) };
  }

  async create(obj: KubeObject): Promise<KubeObject> {
    const key = refKey(this.#ref(obj));
    await this.#enter("create", key, obj);
    if (this.#objects.has(key)) {
      throw new KubeError(
        "AlreadyExists",
        `${obj.kind} ${obj.metadata.name ?? ""} already exists`,
        409,
      );
    }
    const stored = this.#stamp(structuredClone(obj));
    this.#objects.set(key, stored);
    return structuredClone(stored);
  }

  async mergePatch(ref: ObjectRef, patch: Record<string, unknown>): Promise<KubeObject> {
    await this.#enter("mergePatch", refKey(ref), patch);
    return this.#applyPatch(ref, patch, "main");
  }

  async patchStatus(ref: ObjectRef, patch: Record<string, unknown>): Promise<KubeObject> {
    await this.#enter("patchStatus", refKey(ref), patch);
    return this.#applyPatch(ref, patch, "status");
  }

  /** The API server's version, as GET /version answers it (the impact preview renders for it). */
  serverVersion(): Promise<string> {
    return Promise.resolve("v1.37.2");
  }

  async patchScale(
    ref: ObjectRef,
    replicas: number,
    options: { readonly resourceVersion?: string } = {},
  ): Promise<KubeObject> {
    const patch =
      options.resourceVersion !== undefined
        ? { metadata: { resourceVersion: options.resourceVersion }, spec: { replicas } }
        : { spec: { replicas } };
    await this.#enter("patchScale", refKey(ref), patch);
    return this.#applyPatch(ref, patch, "main");
  }

  async delete(
    ref: ObjectRef,
    opts: { preconditions?: { uid?: string; resourceVersion?: string } } = {},
  ): Promise<void> {
    await this.#enter("delete", refKey(ref), opts.preconditions);
    const key = refKey(ref);
    const obj = this.#objects.get(key);
    if (!obj) throw notFound(ref);
    const pre = opts.preconditions;
    if (
      (pre?.uid !== undefined && pre.uid !== obj.metadata.uid) ||
      (pre?.resourceVersion !== undefined && pre.resourceVersion !== obj.metadata.resourceVersion)
    )
      throw new KubeError(
        "Conflict",
        `Operation cannot be fulfilled on ${ref.kind} "${ref.name}": precondition failed`,
        409,
      );
    const finalizers = obj.metadata["finalizers"];
    if (Array.isArray(finalizers) && finalizers.length > 0) {
      meta(obj)["deletionTimestamp"] ??= "2025-01-01T00:00:00Z";
      meta(obj)["resourceVersion"] = this.#nextVersion();
    } else {
      this.#objects.delete(key);
    }
  }

  async #enter(op: FakeOp, key: string, body: unknown): Promise<void> {
    this.calls.push({ op, key, body: body === undefined ? undefined : structuredClone(body) });
    // Every request takes at least one turn of the event loop, as a real one would.
    await Promise.resolve();
    const armed = this.#faults.find((f) => f.op === op);
    if (!armed) return;
    armed.times--;
    if (armed.times <= 0) this.#faults = this.#faults.filter((f) => f !== armed);
    switch (armed.fault.kind) {
      case "fail":
        throw armed.fault.error;
      case "hang":
        await armed.fault.released;
        return;
      case "before":
        await armed.fault.fn();
        return;
    }
  }

  #applyPatch(
    ref: ObjectRef,
    patch: Record<string, unknown>,
    part: "main" | "status" | "all",
  ): KubeObject {
    const key = refKey(ref);
    const current = this.#objects.get(key);
    if (!current) throw notFound(ref);
    const patchMeta = patch["metadata"] as Record<string, unknown> | undefined;
    const precondition = patchMeta?.["resourceVersion"];
    if (precondition !== undefined && precondition !== current.metadata.resourceVersion) {
      throw new KubeError(
        "Conflict",
        `Operation cannot be fulfilled on ${ref.kind} "${ref.name}": the object has been modified`,
        409,
      );
    }
    let effective: Record<string, unknown> = patch;
    if (part === "status") effective = { status: patch["status"] };
    if (part === "main")
      effective = Object.fromEntries(Object.entries(patch).filter(([k]) => k !== "status"));
    const next = mergePatch(current, effective) as KubeObject;
    const oldFinalizers = finalizerList(current);
    const newFinalizers = finalizerList(next);
    const deleting = current.metadata["deletionTimestamp"] !== undefined;
    if (deleting && newFinalizers.some((f) => !oldFinalizers.includes(f))) {
      throw new KubeError(
        "Invalid",
        "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted",
        422,
      );
    }
    meta(next)["resourceVersion"] = this.#nextVersion();
    meta(next)["uid"] = current.metadata.uid;
    if (deleting && newFinalizers.length === 0) {
      this.#objects.delete(key);
    } else {
      this.#objects.set(key, next);
    }
    return structuredClone(next);
  }

  #ref(obj: KubeObject): ObjectRef {
    return {
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      namespace: obj.metadata.namespace,
      name: obj.metadata.name ?? "",
    };
  }

  #stamp(obj: KubeObject): KubeObject {
    meta(obj)["resourceVersion"] = this.#nextVersion();
    meta(obj)["uid"] ??= `uid-${++this.#uid}`;
    return obj;
  }

  #nextVersion(): string {
    return String(++this.#version);
  }
}

/** The stored objects are the fake's own copies, so it may write their metadata. */
function meta(obj: KubeObject): Record<string, unknown> {
  return obj.metadata;
}

function notFound(ref: ObjectRef): KubeError {
  return new KubeError("NotFound", `${ref.kind} "${ref.name}" not found`, 404);
}

function finalizerList(obj: KubeObject): string[] {
  const list = obj.metadata["finalizers"];
  return Array.isArray(list) ? list.filter((f): f is string => typeof f === "string") : [];
}

/** RFC 7386: objects merge key by key, null deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) {
    return structuredClone(patch);
  }
  const base =
    typeof target === "object" && target !== null && !Array.isArray(target)
      ? (structuredClone(target) as Record<string, unknown>)
      : {};
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      out[key] = undefined;
    } else {
      out[key] = mergePatch(base[key], value);
    }
  }
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined));
}
