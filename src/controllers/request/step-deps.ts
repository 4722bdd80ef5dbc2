// What a step handler may use, built once per request kind by build-module.ts and handed to each
// step explicitly (each step names the part it needs with Pick<StepDeps<R>, ...>), so that a step
// file can be read, and unit-tested on the fake API, on its own.
import type { ManagedApp, RequestStatus } from "../../api/index.ts";
import type { KubeApi } from "../../kube/client.ts";
import type { EventRecorder, EventRegarding } from "../../runtime/events.ts";
import type { CommitAncestry } from "./commit-ancestry.ts";
import type { RequestDeps } from "./deps.ts";
import type { GitAccessDeps, OpenedRepo } from "./git-access.ts";
import { releaseLock, type Holder, type LockVersions } from "./lock.ts";
import type { RequestObject, StepContext } from "./runner.ts";
import type { World } from "./world.ts";

export interface GitAuthor {
  readonly name: string;
  readonly email: string;
}

export interface StepDeps<R> {
  readonly client: KubeApi;
  readonly world: World;
  readonly events: Pick<EventRecorder, "record">;
  readonly config: RequestDeps["config"];
  readonly gitAccess: GitAccessDeps;
  readonly author: GitAuthor;
  /** Shared by Resume and AwaitFlux: what Git said about the commit's descendants. */
  readonly ancestry: CommitAncestry;
  /** The versions this process wrote the app locks at, so a release needs no read. */
  readonly locks: LockVersions;
  /** The name of the ManagedApp the request belongs to, when anything names one. */
  readonly appNameOf: (request: R) => string | undefined;
  /** The request's ManagedApp, from the informer. */
  readonly appOf: (ctx: StepContext<R>) => ManagedApp | undefined;
  /** The request's ManagedApp; throws when it is gone (the runner retries until the deadline). */
  readonly requireApp: (ctx: StepContext<R>) => ManagedApp;
  /** The app's Git repository, opened through the process's workspace pool. */
  readonly repoFor: (ctx: StepContext<R>) => Promise<OpenedRepo>;
  /** The request as the holder of its app's lock. */
  readonly me: (ctx: StepContext<R>) => Holder;
  /** The ManagedApp as the target of the request's Events. */
  readonly regarding: (request: R) => EventRegarding | undefined;
}

/** The request's namespace: every object it names lives there unless a flag allows more. */
export function namespaceOf(
  ctx: StepContext<{ readonly metadata: { readonly namespace?: string | undefined } }>,
): string {
  return ctx.request.metadata.namespace ?? "";
}

/** Lets go of the app's lock if the request holds it; no read when this process took it. */
export function releaseAppLock<R extends RequestObject<unknown>>(
  deps: Pick<StepDeps<R>, "client" | "me" | "locks">,
  ctx: StepContext<R>,
  app: Pick<ManagedApp, "metadata">,
): Promise<void> {
  return releaseLock(
    deps.client,
    namespaceOf(ctx),
    app.metadata.uid ?? "",
    deps.me(ctx),
    deps.locks,
  );
}

/** The plan every step after Plan runs on; its absence is a bug the runner retries, not input. */
export function planOf(ctx: StepContext<unknown>): NonNullable<RequestStatus["plan"]> {
  const plan = ctx.status().plan;
  if (!plan) throw new Error("status.plan is missing");
  return plan;
}
