// The answers to this process's own writes of Flux objects, VolumeSnapshots and workloads'
// scales, for as long as the informer lags behind them. A pass that follows a write by
// milliseconds (woken by that write's own watch event, or by a wait's requeue) would otherwise
// decide on the informer's older copy: Resume would write again under its resourceVersion, meet
// a Conflict, read the object and ask once more; Snapshot would not find the snapshots it just
// created and check the cut again from fresh reads; ScaleDown would scale a workload to 0 again.
// The informer delivers an object's versions in order, so while its copy carries a version older
// than a write of ours (the one the write was held against, or the one the informer itself
// showed when the write went out), or has no copy of an object we created, the answer to our
// last write holds everything that copy holds: a pass decides on that answer instead. The
// informer's next event about the object ends that (any version but an older one is ours or
// comes after it), and any other version is someone else's write: the informer's copy stands.
// Memory only.
import type { KubeApi, KubeObject, ObjectRef } from "../../kube/client.ts";

/** Objects remembered at most; the oldest goes first (an informer that never catches up). */
const MAX_OBJECTS = 1024;

interface Known {
  readonly latest: KubeObject;
  /** latest's resourceVersion. */
  readonly version: string;
  /** Versions known to come before `latest`; empty for an object we created. */
  readonly older: ReadonlySet<string>;
}

export class WriteEchoes {
  readonly #known = new Map<string, Known>();

  /**
   * The API answered our write with `answer`; `older` are versions known to come before it (the
   * one it was held against, the informer's when it went out), none for a create.
   */
  wrote(key: string, older: readonly (string | undefined)[], answer: KubeObject): void {
    const rv = answer.metadata.resourceVersion;
    if (rv === undefined) return;
    const before = this.#known.get(key);
    const prior = before ? [...before.older, before.version] : [];
    const known = older.filter((v): v is string => v !== undefined);
    // Our earlier writes still count when this one followed them without anyone else's between.
    const versions = new Set(known.some((v) => prior.includes(v)) ? prior : []);
    for (const v of known) versions.add(v);
    versions.delete(rv);
    // The informers drop managedFields; so does this copy.
    const metadata: Record<string, unknown> = { ...answer.metadata };
    delete metadata["managedFields"];
    this.#known.delete(key);
    this.#known.set(key, { latest: { ...answer, metadata }, version: rv, older: versions });
    if (this.#known.size > MAX_OBJECTS) {
      const oldest = this.#known.keys().next().value;
      if (oldest !== undefined) this.#known.delete(oldest);
    }
  }

  /**
   * The informer announced a version of the object (undefined: it is gone). Unless it is one
   * from before our write, the informer has caught up or moved past it.
   */
  seen(key: string, resourceVersion: string | undefined): void {
    const known = this.#known.get(key);
    if (known && (resourceVersion === undefined || !known.older.has(resourceVersion)))
      this.#known.delete(key);
  }

  /** The copy to decide on: the answer to our last write while `cached` is behind it. */
  current(key: string, cached: KubeObject | undefined): KubeObject | undefined {
    const known = this.#known.get(key);
    if (!known) return cached;
    const rv = cached?.metadata.resourceVersion;
    if (rv === undefined) return known.older.size === 0 ? known.latest : cached;
    return known.older.has(rv) ? known.latest : cached;
  }

  get size(): number {
    return this.#known.size;
  }
}

/**
 * The client the request steps write through: its creates, merge patches and scales of the
 * objects `keyOf` names are remembered in `echoes`, a patch after the version it was held against
 * (if it was) and the one `cached` (the informer) showed as it went out. A scale answers with the
 * Scale, not the workload: what is remembered is the informer's copy with the replicas and the
 * version the scale left (its status is the copy's, older than the scale).
 */
export function echoingClient(
  client: KubeApi,
  echoes: WriteEchoes,
  keyOf: (ref: ObjectRef) => string | undefined,
  cached: (key: string) => KubeObject | undefined,
): KubeApi {
  return {
    get: (ref) => client.get(ref),
    list: (apiVersion, kind, options) => client.list(apiVersion, kind, options),
    create: async (obj) => {
      const answer = await client.create(obj);
      const key = keyOf({
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        namespace: obj.metadata.namespace,
        name: obj.metadata.name ?? "",
      });
      if (key !== undefined) echoes.wrote(key, [], answer);
      return answer;
    },
    mergePatch: async (ref, patch) => {
      const key = keyOf(ref);
      const seen = key !== undefined ? cached(key)?.metadata.resourceVersion : undefined;
      const answer = await client.mergePatch(ref, patch);
      if (key !== undefined) {
        const heldAt = (patch["metadata"] as { resourceVersion?: unknown } | undefined)
          ?.resourceVersion;
        echoes.wrote(key, [typeof heldAt === "string" ? heldAt : undefined, seen], answer);
      }
      return answer;
    },
    patchStatus: (ref, patch) => client.patchStatus(ref, patch),
    patchScale: async (ref, replicas, options) => {
      const key = keyOf(ref);
      const copy = key !== undefined ? cached(key) : undefined;
      const answer = await client.patchScale(ref, replicas, options);
      const rv = answer.metadata.resourceVersion;
      if (key !== undefined && copy && rv !== undefined)
        echoes.wrote(key, [options?.resourceVersion, copy.metadata.resourceVersion], {
          ...copy,
          metadata: { ...copy.metadata, resourceVersion: rv },
          spec: { ...(copy["spec"] as object | undefined), replicas },
        });
      return answer;
    },
    delete: (ref, options) => client.delete(ref, options),
    serverVersion: () => client.serverVersion(),
  };
}
