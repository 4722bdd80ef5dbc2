// Forgotten suspends: a Kustomization or HelmRelease of the app left with
// spec.suspend: true while no Cairn operation runs. Flux records no time of suspension, so the
// ManagedApp's status keeps the moment Cairn first saw it (fluxSuspendedSince); once that is older
// than the configured limit, the FluxSuspended condition turns to SuspendedTooLong and an Event
// is recorded. Until then the reconcile asks to be requeued for the remaining time: no polling.
// Pure: the reconcile passes the objects, the running operations and the clock's now.
import { Label, suspensionHoldersOf } from "../../api/index.ts";
import type { KubeObject } from "../../kube/client.ts";
import { rfc3339 } from "../../runtime/conditions.ts";

export const FLUX_SUSPENDED = "FluxSuspended";

export const SuspensionReason = {
  /** Nothing the app depends on is suspended. */
  NotSuspended: "NotSuspended",
  /** Suspended while an UpgradeRequest or RollbackRequest runs: Cairn's own doing. */
  OperationInProgress: "OperationInProgress",
  /** Suspended with no operation running, for less than the limit so far. */
  Suspended: "Suspended",
  /** Suspended with no operation running for longer than the limit. */
  SuspendedTooLong: "SuspendedTooLong",
} as const;
export type SuspensionReason = (typeof SuspensionReason)[keyof typeof SuspensionReason];

export interface FluxObject {
  readonly kind: "Kustomization" | "HelmRelease";
  readonly namespace: string;
  readonly name: string;
  /** Undefined when it does not exist: a missing object is not suspended. */
  readonly object: KubeObject | undefined;
}

export interface Operation {
  readonly kind: "UpgradeRequest" | "RollbackRequest";
  readonly name: string;
}

export interface SuspensionInput {
  readonly flux: readonly FluxObject[];
  readonly operations: readonly Operation[];
  /** status.fluxSuspendedSince as last written. */
  readonly since: string | undefined;
  readonly now: Date;
  readonly warnAfterMs: number;
}

export interface SuspensionDecision {
  /** The new status.fluxSuspendedSince; undefined removes it. */
  readonly since: string | undefined;
  readonly condition: {
    readonly status: "True" | "False" | "Unknown";
    readonly reason: SuspensionReason;
    readonly message: string;
  };
  /** Look again after this long: when the limit will have passed. */
  readonly requeueAfterMs: number | undefined;
}

export function isSuspended(obj: KubeObject | undefined): boolean {
  return (obj?.["spec"] as { suspend?: unknown } | undefined)?.suspend === true;
}

/** Requests of the app that have no Complete condition yet, whatever its status. */
export function runningOperations(requests: readonly KubeObject[]): Operation[] {
  const running: Operation[] = [];
  for (const r of requests) {
    if (r.kind !== "UpgradeRequest" && r.kind !== "RollbackRequest") continue;
    const conditions = (r["status"] as { conditions?: unknown } | undefined)?.conditions;
    const complete =
      Array.isArray(conditions) &&
      conditions.some((c) => (c as { type?: unknown } | null)?.type === "Complete");
    if (!complete) running.push({ kind: r.kind, name: r.metadata.name ?? "" });
  }
  return running.sort((a, b) => `${a.kind}/${a.name}`.localeCompare(`${b.kind}/${b.name}`));
}

/**
 * The running requests that hold the suspension of one of the app's Flux objects, as the object
 * lists them (cairn.dev/suspended-by): a parent Kustomization two apps share is suspended by the
 * other app's request, and for this app too that is Cairn's doing, not a forgotten suspend. A
 * listed holder counts only while it exists under the same uid and has no Complete condition, so
 * a holder that finished (the freeze after a partial restore) or is gone does not hide a suspend.
 */
export function holdingRequests(
  flux: readonly FluxObject[],
  lookup: (kind: Operation["kind"], namespace: string, name: string) => KubeObject | undefined,
  appNamespace: string,
): Operation[] {
  const found = new Map<string, Operation>();
  for (const f of flux) {
    if (!f.object || !isSuspended(f.object)) continue;
    for (const h of suspensionHoldersOf(f.object)) {
      const request = lookup(h.kind, h.namespace, h.name);
      if (!request || request.metadata.uid !== h.uid) continue;
      if (runningOperations([request]).length === 0) continue;
      const name = h.namespace === appNamespace ? h.name : `${h.namespace}/${h.name}`;
      found.set(`${h.kind}/${name}`, { kind: h.kind, name });
    }
  }
  return [...found.values()];
}

/** The ManagedApp a request belongs to: its label, set by the request controllers. */
export function requestAppKey(request: KubeObject): string | undefined {
  const app = request.metadata.labels?.[Label.ManagedApp];
  const ns = request.metadata.namespace;
  return app && ns ? `${ns}/${app}` : undefined;
}

/** "30m", "1h30m", "45s": how the flag is written. */
export function formatDuration(ms: number): string {
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const parts = [h ? `${h}h` : "", m ? `${m}m` : "", s || total === 0 ? `${s}s` : ""];
  return parts.join("");
}

function list(items: readonly string[]): string {
  return items.length <= 1
    ? (items[0] ?? "")
    : `${items.slice(0, -1).join(", ")} and ${items.at(-1) ?? ""}`;
}

export function decideSuspension(input: SuspensionInput): SuspensionDecision {
  const suspended = input.flux.filter((f) => isSuspended(f.object));
  if (suspended.length === 0) {
    return {
      since: undefined,
      condition: {
        status: "False",
        reason: SuspensionReason.NotSuspended,
        message: `${list(input.flux.map((f) => `${f.kind} ${f.namespace}/${f.name}`))} ${input.flux.length === 1 ? "is" : "are"} not suspended`,
      },
      requeueAfterMs: undefined,
    };
  }
  if (input.operations.length > 0) {
    // Cairn suspended them itself; the clock starts when the operation ends. The message does
    // not list the objects: a request suspends and resumes them one by one, and each would be
    // another status write of the app; the request's status.suspended lists them.
    const ops = list(input.operations.map((o) => `${o.kind} ${o.name}`));
    const one = input.operations.length === 1;
    return {
      since: undefined,
      condition: {
        status: "True",
        reason: SuspensionReason.OperationInProgress,
        message: `suspended by Cairn while ${ops} ${one ? "runs" : "run"} (${one ? "its" : "their"} status.suspended lists what)`,
      },
      requeueAfterMs: undefined,
    };
  }
  const what = list(suspended.map((f) => `${f.kind} ${f.namespace}/${f.name}`));
  const verb = suspended.length === 1 ? "is" : "are";
  const nowMs = input.now.getTime();
  const recorded = input.since === undefined ? NaN : Date.parse(input.since);
  // A timestamp from the future (clock skew, a hand edit) would postpone the warning for ever.
  const since = rfc3339(
    new Date(Number.isFinite(recorded) && recorded <= nowMs ? recorded : nowMs),
  );
  // Measured from the stored, whole-second value, so every pass agrees on the deadline.
  const elapsed = nowMs - Date.parse(since);
  const limit = formatDuration(input.warnAfterMs);
  if (elapsed >= input.warnAfterMs) {
    return {
      since,
      condition: {
        status: "True",
        reason: SuspensionReason.SuspendedTooLong,
        message: `${what} ${verb} suspended since ${since} (longer than ${limit}) and no Cairn operation runs: Flux applies nothing from Git until ${suspended.length === 1 ? "it is" : "they are"} resumed`,
      },
      requeueAfterMs: undefined,
    };
  }
  return {
    since,
    condition: {
      status: "True",
      reason: SuspensionReason.Suspended,
      message: `${what} ${verb} suspended since ${since} and no Cairn operation runs; a warning follows after ${limit}`,
    },
    requeueAfterMs: input.warnAfterMs - elapsed,
  };
}
