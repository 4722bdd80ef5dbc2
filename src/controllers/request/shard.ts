// Which Cairn handles a request when several run side by side under --watch-label-selector (one
// per team, or shards of one fleet). A request belongs to the Cairn that selects its app: the
// app's labels decide, not the request's own, so that a catch-all shard ("!sharding.cairn.dev/key")
// never takes a request whose app lives in a keyed shard. The owner copies the labels its
// selector names from the app onto the request (shardLabelPatch): when the app is gone (deleted,
// or not yet created), the request's own labels pick the one Cairn that answers it (AppNotFound,
// or the compensation of a request in flight). Pure; build-module.ts does the reads and writes.
import { matches, type Requirement } from "../../runtime/label-selector.ts";

export type Verdict =
  /** Handle it. */
  | "mine"
  /** Another Cairn's, or nobody's yet: leave it untouched. */
  | "theirs"
  /** Mine only if the app does not exist at all: read it from the API (appMissing decides). */
  | "if-app-missing";

export interface RequestFacts {
  /** The request's labels. */
  readonly labels: Readonly<Record<string, string>> | undefined;
  /** The app the request names, when anything names one. */
  readonly appName: string | undefined;
  /** Whether this Cairn's (label-filtered) app informer holds that app. */
  readonly appSelected: boolean;
}

/** Without a selector every request is this Cairn's. */
export function judgeRequest(
  requirements: readonly Requirement[] | undefined,
  facts: RequestFacts,
): Verdict {
  if (!requirements) return "mine";
  if (facts.appName !== undefined && facts.appSelected) return "mine";
  // The app is not selected here: either another Cairn selects it, or it does not exist. Only a
  // request whose own labels match can be ours, and only if nobody else has its app.
  if (!matches(requirements, facts.labels)) return "theirs";
  return facts.appName === undefined ? "mine" : "if-app-missing";
}

/**
 * The labels to merge into a request so that its own labels agree with its app's on every key
 * the selector names (null removes one); undefined when they agree already. Run by the owner
 * only, so the request carries the owner's labels for when its app is gone.
 */
export function shardLabelPatch(
  requirements: readonly Requirement[] | undefined,
  appLabels: Readonly<Record<string, string>> | undefined,
  requestLabels: Readonly<Record<string, string>> | undefined,
): Record<string, string | null> | undefined {
  if (!requirements) return undefined;
  const patch: Record<string, string | null> = {};
  for (const key of new Set(requirements.map((r) => r.key))) {
    const want = appLabels?.[key];
    const have = requestLabels?.[key];
    if (want !== have) patch[key] = want ?? null;
  }
  return Object.keys(patch).length > 0 ? patch : undefined;
}
