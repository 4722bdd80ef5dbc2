// What this process last knew of each object it writes the status of (requests, ManagedApps), so
// that most passes need no fresh GET and the watch events that merely echo our own writes wake
// nothing.
//
// Per key it keeps the object as the API last answered us (the read a pass started from,
// then the answer to each of its writes) and the resourceVersions of those answers. The informer
// delivers an object's versions in order, so while its copy carries one of those versions it is
// only behind our own writes: the last answer holds everything its copy holds, plus our writes,
// and a pass may start from that answer. A lagging cache therefore never hands a pass an older
// status to build on. Any other version means someone else wrote the object, or we know nothing
// of it: the request controllers read it afresh, the ManagedApp controller starts from the
// informer's copy. Memory only: a restarted process knows no versions, so its first pass over
// each object starts from the API's or the informer's copy.
import type { KubeObject } from "../kube/client.ts";

/** Our own versions remembered per object; the informer catching up prunes them. */
const MAX_VERSIONS = 32;

interface Known {
  latest: KubeObject;
  readonly versions: Set<string>;
}

export class OwnVersions {
  readonly #known = new Map<string, Known>();

  /**
   * The object to start a pass from when the informer's copy (`cached`) is one of the
   * versions we read or wrote last: a copy of the API's latest answer to us. Undefined: read
   * it from the API.
   */
  startFrom(key: string, cached: KubeObject | undefined): KubeObject | undefined {
    const known = this.#known.get(key);
    const rv = cached?.metadata.resourceVersion;
    if (!known || rv === undefined || !known.versions.has(rv)) return undefined;
    if (rv === known.latest.metadata.resourceVersion) known.versions.clear();
    known.versions.add(rv);
    return structuredClone(known.latest);
  }

  /**
   * A pass started from this copy (the API's answer, or an informer's copy we had not seen):
   * older knowledge no longer matters.
   */
  read(key: string, obj: KubeObject): void {
    this.#known.delete(key);
    this.wrote(key, obj);
  }

  /** The API answered a write of ours with `obj`; undefined: the object is gone. */
  wrote(key: string, obj: KubeObject | undefined): void {
    const rv = obj?.metadata.resourceVersion;
    if (!obj || rv === undefined) {
      this.#known.delete(key);
      return;
    }
    const known = this.#known.get(key) ?? { latest: obj, versions: new Set<string>() };
    known.latest = obj;
    if (known.versions.size >= MAX_VERSIONS) known.versions.clear();
    known.versions.add(rv);
    this.#known.set(key, known);
  }

  /** True when `obj` is a version we read or wrote ourselves: its watch event is our echo. */
  isOwn(key: string, obj: KubeObject): boolean {
    const rv = obj.metadata.resourceVersion;
    return rv !== undefined && this.#known.get(key)?.versions.has(rv) === true;
  }

  forget(key: string): void {
    this.#known.delete(key);
  }
}
