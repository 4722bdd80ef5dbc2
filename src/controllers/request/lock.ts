// One operation per ManagedApp (docs/architecture.md, "The app lock"): a Lease
// `cairn-app-<app uid>` in the app's namespace names the request that holds the app. A holder
// that no longer exists, or that finished without letting go (a crash between its last write and
// the release), is replaced under a resourceVersion precondition, so two waiting requests cannot
// both take it over.
import { API_VERSION, Kind } from "../../api/index.ts";
import type { KubeApi, KubeObject, ObjectRef } from "../../kube/client.ts";
import { isKubeError } from "../../kube/errors.ts";

const HOLDER_KIND = "cairn.dev/holder-kind";
const HOLDER_NAME = "cairn.dev/holder-name";

export interface Holder {
  readonly kind: "UpgradeRequest" | "RollbackRequest";
  readonly name: string;
  readonly uid: string;
}

/**
 * The resourceVersion at which this process last wrote each Lease it holds, so the release can
 * delete under that version without reading the Lease first. Memory only: an entry that is
 * missing (a restart) or stale (a Conflict) means the release reads the Lease as before. Entries
 * go with the release or the handover.
 */
export class LockVersions {
  readonly #versions = new Map<string, string>();

  wrote(key: string, lease: KubeObject): void {
    const version = lease.metadata.resourceVersion;
    if (version === undefined) this.#versions.delete(key);
    else this.#versions.set(key, version);
  }

  get(key: string): string | undefined {
    return this.#versions.get(key);
  }

  forget(key: string): void {
    this.#versions.delete(key);
  }
}

function versionKey(namespace: string, appUid: string, holderUid: string): string {
  return `${namespace}/${lockName(appUid)}/${holderUid}`;
}

export type LockResult =
  { readonly acquired: true } | { readonly acquired: false; readonly holder: Holder };

export function lockName(appUid: string): string {
  return `cairn-app-${appUid}`;
}

function leaseRef(namespace: string, appUid: string): ObjectRef {
  return { apiVersion: "coordination.k8s.io/v1", kind: "Lease", namespace, name: lockName(appUid) };
}

function holderOf(lease: KubeObject): Holder | undefined {
  const uid = (lease["spec"] as { holderIdentity?: string } | undefined)?.holderIdentity;
  const kind = lease.metadata.annotations?.[HOLDER_KIND];
  const name = lease.metadata.annotations?.[HOLDER_NAME];
  if (!uid || (kind !== "UpgradeRequest" && kind !== "RollbackRequest") || !name) return undefined;
  return { kind, name, uid };
}

/** Whether a holder still holds: it exists under the same uid and has no Complete condition. */
export async function holderIsLive(
  client: KubeApi,
  namespace: string,
  holder: Holder,
): Promise<boolean> {
  try {
    const obj = await client.get({
      apiVersion: API_VERSION,
      kind: holder.kind,
      namespace,
      name: holder.name,
    });
    if (obj.metadata.uid !== holder.uid) return false;
    const conditions = (
      obj["status"] as { conditions?: { type: string; status: string }[] } | undefined
    )?.conditions;
    const complete = conditions?.find((c) => c.type === "Complete");
    return !(complete && complete.status !== "Unknown");
  } catch (err) {
    if (isKubeError(err, "NotFound")) return false;
    throw err;
  }
}

export async function acquireLock(
  client: KubeApi,
  namespace: string,
  appUid: string,
  me: Holder,
  now: Date,
  /** The ManagedApp's name: the Lease is owned by it, so it goes when the app goes. */
  appName?: string,
  /**
   * The caller expects to hold the lock already (Plan after Admit): read first, which costs one
   * request when it does. Otherwise create first, which costs one when the app is free.
   */
  readFirst = false,
  versions?: LockVersions,
): Promise<LockResult> {
  const ref = leaseRef(namespace, appUid);
  const key = versionKey(namespace, appUid, me.uid);
  const body = (resourceVersion?: string): KubeObject => ({
    apiVersion: ref.apiVersion,
    kind: ref.kind,
    metadata: {
      name: ref.name,
      namespace,
      ...(resourceVersion ? { resourceVersion } : {}),
      ...(appName !== undefined && appUid !== ""
        ? {
            ownerReferences: [
              { apiVersion: API_VERSION, kind: Kind.ManagedApp, name: appName, uid: appUid },
            ],
          }
        : {}),
      annotations: { [HOLDER_KIND]: me.kind, [HOLDER_NAME]: me.name },
    },
    spec: { holderIdentity: me.uid, acquireTime: now.toISOString().replace("Z", "000Z") },
  });
  const again = () => acquireLock(client, namespace, appUid, me, now, appName, readFirst, versions);
  // The API refuses a second create of the same name, so of two requests creating at once
  // exactly one gets the app.
  const create = async (): Promise<boolean> => {
    try {
      const created = await client.create(body());
      versions?.wrote(key, created);
      return true;
    } catch (err) {
      if (isKubeError(err, "AlreadyExists")) return false;
      throw err;
    }
  };
  if (!readFirst && (await create())) return { acquired: true };
  let lease: KubeObject;
  try {
    lease = await client.get(ref);
  } catch (err) {
    if (!isKubeError(err, "NotFound")) throw err;
    // No Lease (or released since our create was refused): create it, or start over.
    if (readFirst && (await create())) return { acquired: true };
    return again();
  }
  const holder = holderOf(lease);
  if (holder?.uid === me.uid) {
    versions?.wrote(key, lease);
    return { acquired: true };
  }
  if (holder && (await holderIsLive(client, namespace, holder))) return { acquired: false, holder };
  // A stale holder: take the Lease over, but only if nobody changed it since we read it.
  try {
    const taken = await client.mergePatch(ref, {
      metadata: {
        resourceVersion: lease.metadata.resourceVersion,
        annotations: { [HOLDER_KIND]: me.kind, [HOLDER_NAME]: me.name },
      },
      spec: { holderIdentity: me.uid },
    });
    versions?.wrote(key, taken);
    return { acquired: true };
  } catch (err) {
    if (isKubeError(err, "Conflict")) return again();
    throw err;
  }
}

/**
 * Lets go of the lock if this request holds it; a lock held by anyone else is left alone. With the
 * version this process last wrote the Lease at, the delete is held against it and needs no read:
 * a Lease still at that version is still ours.
 */
export async function releaseLock(
  client: KubeApi,
  namespace: string,
  appUid: string,
  me: { uid: string },
  versions?: LockVersions,
): Promise<void> {
  const ref = leaseRef(namespace, appUid);
  const key = versionKey(namespace, appUid, me.uid);
  const known = versions?.get(key);
  versions?.forget(key);
  if (known !== undefined) {
    try {
      await client.delete(ref, { preconditions: { resourceVersion: known } });
      return;
    } catch (err) {
      if (isKubeError(err, "NotFound")) return;
      // Changed since: read it, and let go only if it is still ours.
      if (!isKubeError(err, "Conflict")) throw err;
    }
  }
  try {
    const lease = await client.get(ref);
    if (holderOf(lease)?.uid !== me.uid) return;
    await client.delete(ref, {
      preconditions: { resourceVersion: lease.metadata.resourceVersion ?? "" },
    });
  } catch (err) {
    if (isKubeError(err, "NotFound")) return;
    if (isKubeError(err, "Conflict")) return releaseLock(client, namespace, appUid, me);
    throw err;
  }
}

/**
 * Passes the lock from `me` to `next` in one write: the rollback an
 * upgrade creates must get the app before any other waiting request can. Held by someone else
 * or by nobody: nothing to hand over, and the next holder acquires it normally.
 */
export async function handOverLock(
  client: KubeApi,
  namespace: string,
  appUid: string,
  me: { uid: string },
  next: Holder,
  versions?: LockVersions,
): Promise<void> {
  const ref = leaseRef(namespace, appUid);
  versions?.forget(versionKey(namespace, appUid, me.uid));
  try {
    const lease = await client.get(ref);
    if (holderOf(lease)?.uid !== me.uid) return;
    await client.mergePatch(ref, {
      metadata: {
        resourceVersion: lease.metadata.resourceVersion,
        annotations: { [HOLDER_KIND]: next.kind, [HOLDER_NAME]: next.name },
      },
      spec: { holderIdentity: next.uid },
    });
  } catch (err) {
    if (isKubeError(err, "NotFound")) return;
    if (isKubeError(err, "Conflict")) return handOverLock(client, namespace, appUid, me, next);
    throw err;
  }
}

/** Who holds the app, if anyone (for status displays and the ManagedApp controller). */
export async function lockHolder(
  client: KubeApi,
  namespace: string,
  appUid: string,
): Promise<Holder | undefined> {
  try {
    return holderOf(await client.get(leaseRef(namespace, appUid)));
  } catch (err) {
    if (isKubeError(err, "NotFound")) return undefined;
    throw err;
  }
}
