// A Flux object's suspension, shared between the requests that need it (two apps whose suspend
// target is the same parent Kustomization): the holders are listed on the object itself
// (cairn.dev/suspended-by, api/suspension-holders.ts), and every change to the list is one merge
// patch under a resourceVersion precondition that also flips spec.suspend when the first holder
// comes or the last one goes. So two requests never both think they resume, and none resumes
// what another still needs. Each call reads fresh and writes only what is still to do:
// idempotent, and safe to repeat after a kill -9 at any point.
import {
  Annotation,
  sameHolder,
  suspensionHoldersOf,
  suspensionHoldersValue,
  type FluxObjectRef,
  type SuspensionHolder,
} from "../../api/index.ts";
import type { KubeApi, KubeObject } from "../../kube/client.ts";
import { isKubeError } from "../../kube/errors.ts";
import { getIfExists } from "../../kube/get-if-exists.ts";
import { fluxRef, isSuspended, REQUESTED_AT, requestReconcile } from "./flux.ts";
import type { Holder } from "./lock.ts";
import type { RequestObject, StepContext } from "./runner.ts";

/** A conflicting write is retried on a fresh read this many times before the step retries. */
const ATTEMPTS = 5;

/** The request as a holder of a suspension. */
export function suspensionHolder(
  ctx: StepContext<RequestObject<unknown>>,
  me: Holder,
): SuspensionHolder {
  const spec = ctx.request.spec as { upgradeRequestRef?: { name?: string } } | undefined;
  return {
    ...me,
    namespace: ctx.request.metadata.namespace ?? "",
    upgrade: spec?.upgradeRequestRef?.name ?? ctx.request.metadata.name ?? "",
  };
}

/** A predecessor's hold a request takes over: same upgrade, another request (see below). */
export const predecessorOf =
  (me: SuspensionHolder) =>
  (h: SuspensionHolder): boolean =>
    h.namespace === me.namespace && h.upgrade === me.upgrade && h.uid !== me.uid;

type Write = { readonly patch: Record<string, unknown> } | undefined;

/** A copy of the object to decide on first, instead of reading it. */
export interface StartFrom {
  readonly obj: KubeObject;
  /**
   * Read from the API just before (true), or an informer's copy that may be behind (false). Either
   * way a write goes under its resourceVersion, so a stale copy only costs a Conflict and a
   * re-read; but a decision to write nothing is taken on a fresh read only.
   */
  readonly fresh: boolean;
}

/** Reads the object, asks `decide` what to write, and writes it under the read's resourceVersion. */
async function update<T>(
  client: KubeApi,
  f: FluxObjectRef,
  decide: (obj: KubeObject | undefined) => { write: Write; result: T },
  start?: StartFrom,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const first = attempt === 1 ? start : undefined;
    const obj = first ? first.obj : await getIfExists(client, fluxRef(f));
    const { write, result } = decide(obj);
    if (!write || !obj) {
      if (first && !first.fresh) continue;
      return result;
    }
    try {
      await client.mergePatch(fluxRef(f), {
        ...write.patch,
        metadata: {
          ...(write.patch["metadata"] as Record<string, unknown> | undefined),
          resourceVersion: obj.metadata.resourceVersion,
        },
      });
      return result;
    } catch (err) {
      if (!isKubeError(err, "Conflict") || attempt >= ATTEMPTS) throw err;
    }
  }
}

const annotate = (holders: readonly SuspensionHolder[]) => ({
  annotations: { [Annotation.SuspendedBy]: suspensionHoldersValue(holders) },
});

export type HoldOutcome =
  | { readonly kind: "held"; readonly sharedWith: readonly SuspensionHolder[] }
  | { readonly kind: "missing" }
  /** Suspended, and by no Cairn request: whoever did it keeps it. */
  | { readonly kind: "foreign" };

/**
 * Joins (or starts) the object's suspension. `adopted`: the request recorded the object before
 * (its own earlier pass, or a freeze it took over at Plan), so a suspension with no holder listed
 * is its own to take. Holds of a predecessor (the upgrade this rollback undoes, an earlier
 * rollback of it that left the app frozen) pass to the request.
 */
export function holdSuspension(
  client: KubeApi,
  f: FluxObjectRef,
  me: SuspensionHolder,
  adopted: boolean,
  fresh?: KubeObject,
): Promise<HoldOutcome> {
  return update<HoldOutcome>(
    client,
    f,
    (obj) => {
      if (!obj) return { write: undefined, result: { kind: "missing" } };
      if (!isSuspended(obj))
        // Not suspended: whatever the annotation lists is stale (someone resumed by hand).
        return {
          write: { patch: { metadata: annotate([me]), spec: { suspend: true } } },
          result: { kind: "held", sharedWith: [] },
        };
      const listed = suspensionHoldersOf(obj);
      if (listed.length === 0 && !adopted) return { write: undefined, result: { kind: "foreign" } };
      const others = listed.filter((h) => !sameHolder(h, me) && !predecessorOf(me)(h));
      const wanted = [...others, me];
      const same =
        wanted.length === listed.length &&
        wanted.every((w) => listed.some((l) => sameHolder(l, w)));
      return {
        write: same ? undefined : { patch: { metadata: annotate(wanted) } },
        result: { kind: "held", sharedWith: others },
      };
    },
    fresh ? { obj: fresh, fresh: true } : undefined,
  );
}

export type ReleaseOutcome =
  | { readonly kind: "resumed" }
  /** Other requests still hold it: left suspended for the last of them to resume. */
  | { readonly kind: "kept"; readonly by: readonly SuspensionHolder[] }
  /** Not this request's to resume (not suspended, gone, or held by others only). */
  | { readonly kind: "none" };

/**
 * Lets go of the object's suspension; the last holder out resumes it in the same write. An
 * object suspended with no holder listed is resumed as before holders were recorded (the request
 * recorded it, so Cairn suspended it).
 */
export function releaseSuspension(
  client: KubeApi,
  f: FluxObjectRef,
  me: SuspensionHolder,
): Promise<ReleaseOutcome> {
  return update<ReleaseOutcome>(client, f, (obj) => releaseDecision(obj, me));
}

/**
 * releaseSuspension, and Flux asked to reconcile the object (requestReconcile's annotation) in
 * the same write when the release writes at all: one request instead of two. The object is
 * asked to reconcile either way.
 */
export async function releaseAndReconcile(
  client: KubeApi,
  f: FluxObjectRef,
  me: SuspensionHolder,
  token: string,
  start?: StartFrom,
): Promise<ReleaseOutcome> {
  const { outcome, asked } = await update(
    client,
    f,
    (obj) => {
      const { write, result } = releaseDecision(obj, me);
      if (!write) return { write, result: { outcome: result, asked: false } };
      const metadata = (write.patch["metadata"] ?? {}) as { annotations?: Record<string, string> };
      return {
        write: {
          patch: {
            ...write.patch,
            metadata: {
              ...metadata,
              annotations: { ...metadata.annotations, [REQUESTED_AT]: token },
            },
          },
        },
        result: { outcome: result, asked: true },
      };
    },
    start,
  );
  if (!asked) await requestReconcile(client, f, token);
  return outcome;
}

function releaseDecision(
  obj: KubeObject | undefined,
  me: SuspensionHolder,
): { write: Write; result: ReleaseOutcome } {
  if (!obj) return { write: undefined, result: { kind: "none" } };
  const listed = suspensionHoldersOf(obj);
  const rest = listed.filter((h) => !sameHolder(h, me));
  if (rest.length === listed.length) {
    if (listed.length === 0 && isSuspended(obj))
      return { write: { patch: { spec: { suspend: false } } }, result: { kind: "resumed" } };
    return {
      write: undefined,
      result:
        listed.length > 0 && isSuspended(obj) ? { kind: "kept", by: listed } : { kind: "none" },
    };
  }
  if (!isSuspended(obj))
    return { write: { patch: { metadata: annotate(rest) } }, result: { kind: "none" } };
  if (rest.length > 0)
    return { write: { patch: { metadata: annotate(rest) } }, result: { kind: "kept", by: rest } };
  return {
    write: { patch: { metadata: annotate([]), spec: { suspend: false } } },
    result: { kind: "resumed" },
  };
}

/**
 * Passes this request's hold to another request (the upgrade to the rollback it creates), so the
 * object stays suspended in between. A suspension with no holder listed that the request
 * recorded is passed on too. True when the object is suspended and `to` holds it.
 */
export function transferSuspension(
  client: KubeApi,
  f: FluxObjectRef,
  from: SuspensionHolder,
  to: SuspensionHolder,
): Promise<boolean> {
  return update<boolean>(client, f, (obj) => {
    if (!obj || !isSuspended(obj)) return { write: undefined, result: false };
    const listed = suspensionHoldersOf(obj);
    if (listed.some((h) => sameHolder(h, to)) && !listed.some((h) => sameHolder(h, from)))
      return { write: undefined, result: true };
    if (listed.length > 0 && !listed.some((h) => sameHolder(h, from)))
      return { write: undefined, result: false };
    const wanted = [...listed.filter((h) => !sameHolder(h, from) && !sameHolder(h, to)), to];
    return { write: { patch: { metadata: annotate(wanted) } }, result: true };
  });
}
