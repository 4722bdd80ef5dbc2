// Plan's verdict on a Flux object it finds suspended already, shared by both request kinds. Held
// by Cairn requests that still run (another app sharing the suspend target): the suspension is
// shared, and the last holder resumes it. Held by one that finished: that request left it frozen
// on purpose. Neither: someone outside Cairn suspended it, and only they may resume it. Pure.

/** A request listed in the object's `cairn.dev/suspended-by`, and whether it still runs. */
export interface HolderView {
  readonly name: string;
  readonly live: boolean;
}

export interface SuspendedVerdict {
  readonly passed: boolean;
  readonly message: string;
}

export function suspendedObjectVerdict(
  /** The object, as "Kind namespace/name". */
  what: string,
  holders: readonly HolderView[],
  /** Who would share it: "this request", "this rollback". */
  sharer: string,
  /** What to say when something outside Cairn suspended it. */
  outside: string,
): SuspendedVerdict {
  const finished = holders.filter((h) => !h.live).map((h) => h.name);
  const live = holders.filter((h) => h.live).map((h) => h.name);
  if (finished.length > 0)
    return {
      passed: false,
      message: `${what} is held suspended by ${finished.join(", ")}, which finished and left it frozen; finish or undo that first (docs/rollback.md)`,
    };
  if (live.length > 0)
    return {
      passed: true,
      message: `${what} is suspended by ${live.join(", ")}, still running: ${sharer} shares the suspension, and the last holder resumes it`,
    };
  return { passed: false, message: `${what} is suspended, and not by a Cairn request; ${outside}` };
}
