// Waiting for one request: a watch on that object alone (fieldSelector metadata.name), resumed
// from the last resourceVersion seen when the server closes the stream, restarted from a fresh
// read when the version is too old or the connection drops. No polling: every status write the
// controller makes arrives as an event, in order.
import { setTimeout as delay } from "node:timers/promises";
import type { KubeClient, KubeObject, ObjectRef } from "../kube/client.ts";

/** The two calls following needs; tests hand in a scripted stand-in. */
export type WatchClient = Pick<KubeClient, "watch" | "get">;
import { isKubeError } from "../kube/errors.ts";
import { CliError } from "./errors.ts";

/** Called with every version of the object, the first one included; true ends the wait. */
export type OnVersion = (obj: KubeObject) => boolean;

export class WaitTimeout extends CliError {
  override readonly name = "WaitTimeout";
  readonly last: KubeObject;
  constructor(message: string, last: KubeObject) {
    super(message);
    this.last = last;
  }
}

/** Server-side watch timeout; the loop resumes from the last version after each. */
const WATCH_SECONDS = 300;
/** Pause before reconnecting after a dropped connection, so a flapping API is not hammered. */
const RECONNECT_MS = 1000;

/**
 * Follows `initial` (as create or get returned it) until onVersion says done; the object's last
 * version is returned. The signal bounds the wait: when it aborts, WaitTimeout names the wait.
 */
export async function follow(
  client: WatchClient,
  initial: KubeObject,
  onVersion: OnVersion,
  signal: AbortSignal,
): Promise<KubeObject> {
  const ref: ObjectRef = {
    apiVersion: initial.apiVersion,
    kind: initial.kind,
    name: initial.metadata.name ?? "",
    namespace: initial.metadata.namespace,
  };
  // A function, not the property: the compiler would take `aborted` as fixed inside the loop.
  const aborted = () => signal.aborted;
  let latest = initial;
  if (onVersion(latest)) return latest;
  let resourceVersion = latest.metadata.resourceVersion;
  while (!aborted()) {
    try {
      const events = client.watch(ref.apiVersion, ref.kind, {
        ...(ref.namespace ? { namespace: ref.namespace } : {}),
        fieldSelector: `metadata.name=${ref.name}`,
        ...(resourceVersion ? { resourceVersion } : {}),
        timeoutSeconds: WATCH_SECONDS,
        allowBookmarks: true,
        signal,
      });
      for await (const event of events) {
        if (event.type === "BOOKMARK") {
          resourceVersion = event.resourceVersion || resourceVersion;
          continue;
        }
        if (event.type === "DELETED") {
          throw new CliError(
            `${ref.kind.toLowerCase()} ${ref.name} was deleted while waiting for it`,
          );
        }
        latest = event.object;
        resourceVersion = latest.metadata.resourceVersion;
        if (onVersion(latest)) return latest;
      }
    } catch (err) {
      if (aborted()) break;
      const gone = isKubeError(err, "Gone");
      if (!gone && !isKubeError(err, "Transient")) throw err;
      if (!gone) await delay(RECONNECT_MS, undefined, { signal }).catch(() => undefined);
      if (aborted()) break;
      // Too old to resume from, or the stream broke: start again from what the object is now.
      latest = await client.get(ref);
      resourceVersion = latest.metadata.resourceVersion;
      if (onVersion(latest)) return latest;
    }
  }
  throw new WaitTimeout(`timed out waiting for ${ref.kind.toLowerCase()} ${ref.name}`, latest);
}
