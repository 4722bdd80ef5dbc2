// Waiting for Cairn's requests in e2e tests: every file follows requests to their end the same
// way, so it lives here once.
import type { KubeClient, KubeObject, ObjectRef } from "../../src/kube/client.ts";
import { eventually } from "./kube.ts";
import { conditions, type Condition } from "./objects.ts";

/** The request's Complete condition, if it has one. */
export function completeOf(r: KubeObject): Condition | undefined {
  return conditions(r).find((c) => c.type === "Complete");
}

/** Throws, with the log's tail, if a controller process the test started has exited. */
export function assertAlive(
  ...controllers: readonly {
    readonly process?: { readonly running: boolean } | undefined;
    logTail(lines?: number): string;
  }[]
): void {
  for (const c of controllers)
    if (c.process && !c.process.running) throw new Error(`controller exited:\n${c.logTail()}`);
}

export interface FinishedOptions {
  /** Called on every poll: fails the wait as soon as the controller died. */
  readonly alive: () => void;
  readonly timeoutMs?: number;
  /**
   * Also wait until the finalizer is gone. The app's lock goes after the final status write,
   * then the finalizer: once it is gone the request has let go of everything.
   */
  readonly released?: boolean;
}

/** The request once Complete is True or False (and, with `released`, its finalizer gone). */
export function requestFinished(
  admin: KubeClient,
  ref: ObjectRef,
  opts: FinishedOptions,
): Promise<KubeObject> {
  return eventually(
    `${ref.kind} ${ref.namespace ?? ""}/${ref.name} to finish`,
    async () => {
      opts.alive();
      const r = await admin.get(ref);
      const c = completeOf(r);
      if (!c || c.status === "Unknown") return undefined;
      const holding = ((r.metadata["finalizers"] ?? []) as string[]).length > 0;
      return opts.released && holding ? undefined : r;
    },
    opts.timeoutMs ?? 240_000,
  );
}
