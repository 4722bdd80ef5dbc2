// The answers to this process's own writes of Flux objects, for as long as the informer lags
// behind them. A pass that follows a write by milliseconds (woken by that write's own watch
// event, or by a wait's requeue) would otherwise decide on the informer's older copy: write again
// under its resourceVersion, meet a Conflict, read the object and ask once more, three requests
// for nothing. The informer delivers an object's versions in order, so while its copy carries a
// version older than a write of ours (the one the write was held against, or the one the
// informer itself showed when the write went out) or the version the write produced, the answer
// to our last write holds everything that copy holds: a pass decides on that answer instead. Any
// other version is someone else's write (or older than what we know) and the informer's copy
// stands. Memory only, one entry per object written, gone once the informer caught up.
import type { KubeApi, KubeObject, ObjectRef } from "../../kube/client.ts";

/** Objects remembered at most; the oldest goes first (an informer that never catches up). */
const MAX_OBJECTS = 1024;

interface Known {
  readonly latest: KubeObject;
  readonly versions: ReadonlySet<string>;
}

export class WriteEchoes {
  readonly #known = new Map<string, Known>();

  /**
   * The API answered our write with `answer`; `older` are versions known to come before it (the
   * one it was held against, the informer's when it went out).
   */
  wrote(key: string, older: readonly (string | undefined)[], answer: KubeObject): void {
    const rv = answer.metadata.resourceVersion;
    if (rv === undefined) return;
    const before = this.#known.get(key);
    const known = older.filter((v): v is string => v !== undefined);
    // Our earlier writes still count when this one followed them without anyone else's between.
    const versions = new Set(
      before && known.some((v) => before.versions.has(v)) ? before.versions : [],
    );
    for (const v of known) versions.add(v);
    versions.add(rv);
    // The informers drop managedFields; so does this copy, which may live as long.
    const metadata: Record<string, unknown> = { ...answer.metadata };
    delete metadata["managedFields"];
    this.#known.delete(key);
    this.#known.set(key, {
      latest: { ...answer, metadata },
      versions,
    });
    if (this.#known.size > MAX_OBJECTS) {
      const oldest = this.#known.keys().next().value;
      if (oldest !== undefined) this.#known.delete(oldest);
    }
  }

  /** The copy to decide on: the answer to our last write while `cached` is behind it. */
  current(key: string, cached: KubeObject | undefined): KubeObject | undefined {
    const known = this.#known.get(key);
    const rv = cached?.metadata.resourceVersion;
    if (!known || rv === undefined) return cached;
    if (rv === known.latest.metadata.resourceVersion) {
      this.#known.delete(key);
      return cached;
    }
    return known.versions.has(rv) ? known.latest : cached;
  }

  get size(): number {
    return this.#known.size;
  }
}

/**
 * The client the request steps write through: its merge patches of the objects `keyOf` names are
 * remembered in `echoes`, after the version the patch was held against (if it was) and the one
 * `cachedVersion` (the informer) showed as it went out.
 */
export function echoingClient(
  client: KubeApi,
  echoes: WriteEchoes,
  keyOf: (ref: ObjectRef) => string | undefined,
  cachedVersion: (key: string) => string | undefined,
): KubeApi {
  return {
    get: (ref) => client.get(ref),
    list: (apiVersion, kind, options) => client.list(apiVersion, kind, options),
    create: (obj) => client.create(obj),
    mergePatch: async (ref, patch) => {
      const key = keyOf(ref);
      const seen = key !== undefined ? cachedVersion(key) : undefined;
      const answer = await client.mergePatch(ref, patch);
      if (key !== undefined) {
        const heldAt = (patch["metadata"] as { resourceVersion?: unknown } | undefined)
          ?.resourceVersion;
        echoes.wrote(key, [typeof heldAt === "string" ? heldAt : undefined, seen], answer);
      }
      return answer;
    },
    patchStatus: (ref, patch) => client.patchStatus(ref, patch),
    patchScale: (ref, replicas, options) => client.patchScale(ref, replicas, options),
    delete: (ref, options) => client.delete(ref, options),
    serverVersion: () => client.serverVersion(),
  };
}
