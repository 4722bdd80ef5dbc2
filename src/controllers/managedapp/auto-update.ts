// Automatic upgrades (versionPolicy.autoUpdate), decided purely on each ManagedApp pass: whether
// the app should get an UpgradeRequest to its automatic target now, and the AutoUpdate condition
// that says what happens next and why. The shell (module.ts) counts the automatic upgrades that
// run cluster-wide against --max-auto-upgrades and creates the request.
//
// The request's name is derived from the version (autoRequestName), which makes its creation
// idempotent and makes it the memory of what was tried: a version whose automatic request did
// not succeed is skipped while that request exists (retention keeps it, prune-requests.ts), and
// deleting it is how a person lets Cairn try the version again.
import { createHash } from "node:crypto";
import { API_VERSION, ConditionType, Kind, Label, type ManagedApp } from "../../api/index.ts";
import { getCondition, type Condition, type Conditions } from "../../runtime/conditions.ts";
import type { KubeObject } from "../../kube/client.ts";
import { describeWindows, windowState } from "../../updates/maintenance-window.ts";

export const AUTO_UPDATE = "AutoUpdate";
/** The value of Label.AutoUpdate on the requests Cairn creates by itself. */
export const AUTO_UPDATE_LABEL_VALUE = "true";

export const AutoUpdateReason = {
  /** No version within the level is offered (or the app's versions are not read). */
  UpToDate: "UpToDate",
  /** The target waits for the next maintenance window. */
  OutsideWindow: "OutsideWindow",
  AppNotReady: "AppNotReady",
  AppFrozen: "AppFrozen",
  /** Another request of the app runs; the automatic one waits for it. */
  RequestRunning: "RequestRunning",
  /** As many automatic upgrades run cluster-wide as the controller allows. */
  LimitReached: "LimitReached",
  /** The target's automatic request exists and did not succeed. */
  VersionSkipped: "VersionSkipped",
  /** The automatic request was created, or runs. */
  UpgradeStarted: "UpgradeStarted",
  /** Creating it failed (the message says why); tried again with backoff. */
  StartFailed: "StartFailed",
} as const;

export interface AutoCondition {
  readonly status: "True" | "False";
  readonly reason: string;
  readonly message: string;
}

/** The request Cairn creates for the app's automatic upgrade to `version`: a DNS label. */
export function autoRequestName(app: string, version: string): string {
  const clean = version
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
  const name = `${app}-auto-${clean}`;
  // Only dotted numbers map to a name no other version maps to ("1.0.0-rc.1" and "1.0.0-rc-1"
  // would not); too long a name is cut. Either way a hash of the version keeps versions apart.
  if (name.length <= 63 && /^v?[0-9]+(\.[0-9]+)*$/.test(version)) return name;
  const hash = createHash("sha256").update(version).digest("hex").slice(0, 8);
  return `${name.slice(0, 63 - 9).replace(/-+$/, "")}-${hash}`;
}

export function isAutoRequest(request: KubeObject): boolean {
  return request.metadata.labels?.[Label.AutoUpdate] === AUTO_UPDATE_LABEL_VALUE;
}

/** Complete True or False: the request is over (Unknown: its last step is still at work). */
export function completeOf(request: KubeObject): Condition | undefined {
  const status = request["status"] as { conditions?: Conditions } | undefined;
  const complete = getCondition(status?.conditions, ConditionType.Complete);
  return complete?.status === "True" || complete?.status === "False" ? complete : undefined;
}

/** An automatic request that ended otherwise than Succeeded: its version is skipped. */
export function isSkipMarker(request: KubeObject): boolean {
  const complete = completeOf(request);
  return isAutoRequest(request) && complete !== undefined && complete.status !== "True";
}

export interface AutoUpdateInput {
  readonly app: ManagedApp;
  readonly current: string | undefined;
  readonly availableUpdate: string | undefined;
  /** The newest offered version within the level (UpdateOutcome.autoTarget). */
  readonly autoTarget: string | undefined;
  readonly ready: boolean;
  readonly frozen: boolean;
  /** A request of the app that has not finished, if any. */
  readonly running: { readonly kind: string; readonly name: string } | undefined;
  /** The app's requests by name (its namespace). */
  readonly requestNamed: (name: string) => KubeObject | undefined;
  readonly now: Date;
}

export type AutoUpdateDecision =
  /** autoUpdate: none: no condition. */
  | { readonly kind: "off" }
  | {
      readonly kind: "hold";
      readonly condition: AutoCondition;
      /** When the answer changes by itself (a window opens). */
      readonly requeueAfterMs?: number;
    }
  /** Create this request, if the cluster-wide limit allows. */
  | { readonly kind: "start"; readonly name: string; readonly version: string };

const hold = (reason: string, message: string, requeueAfterMs?: number): AutoUpdateDecision => ({
  kind: "hold",
  condition: { status: "False", reason, message },
  ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}),
});

export function decideAutoUpdate(input: AutoUpdateInput): AutoUpdateDecision {
  const { app } = input;
  const policy = app.spec.versionPolicy;
  const level = policy.autoUpdate;
  if (level === "none") return { kind: "off" };
  const target = input.autoTarget;
  if (target === undefined) {
    const beyond =
      input.availableUpdate !== undefined
        ? `; ${input.availableUpdate} is available but beyond autoUpdate: ${level} of ${input.current ?? "the running version"}, so it is upgraded to by hand only`
        : "";
    return hold(
      AutoUpdateReason.UpToDate,
      `no newer version within autoUpdate: ${level} is offered${beyond}`,
    );
  }
  const name = autoRequestName(app.metadata.name, target);
  const mine = input.requestNamed(name);
  if (mine) {
    const complete = completeOf(mine);
    if (complete === undefined)
      return {
        kind: "hold",
        condition: {
          status: "True",
          reason: AutoUpdateReason.UpgradeStarted,
          message: `UpgradeRequest ${name} upgrades to ${target}`,
        },
      };
    return hold(
      AutoUpdateReason.VersionSkipped,
      complete.status === "True"
        ? `${target} is skipped: UpgradeRequest ${name} upgraded to it, yet the app runs ${input.current ?? "another version"}; delete the request to let Cairn upgrade to ${target} again`
        : `${target} is skipped: its automatic UpgradeRequest ${name} ended ${complete.reason}; delete that request to let Cairn try ${target} again`,
    );
  }
  if (input.running)
    return hold(
      AutoUpdateReason.RequestRunning,
      `${target} waits for ${input.running.kind} ${input.running.name} to finish`,
    );
  if (input.frozen)
    return hold(
      AutoUpdateReason.AppFrozen,
      `${target} waits: the app is frozen after a partial restore (kubectl cairn unfreeze)`,
    );
  if (!input.ready)
    return hold(AutoUpdateReason.AppNotReady, `${target} waits for the app to be Ready`);
  const window = windowState(policy.maintenanceWindows, input.now);
  if (window.kind === "closed")
    return hold(
      AutoUpdateReason.OutsideWindow,
      `${target} waits for the next maintenance window, at ${window.opensAt.toISOString()} (${describeWindows(policy.maintenanceWindows ?? [])})`,
      Math.max(0, window.opensAt.getTime() - input.now.getTime()),
    );
  return { kind: "start", name, version: target };
}

/** The automatic request for `version`, as the shell creates it. */
export function autoRequest(app: ManagedApp, name: string, version: string): KubeObject {
  return {
    apiVersion: API_VERSION,
    kind: Kind.UpgradeRequest,
    metadata: {
      name,
      namespace: app.metadata.namespace ?? "",
      labels: {
        // The app's own labels first: a shard's selector and a test's own label follow the app.
        ...app.metadata.labels,
        [Label.ManagedApp]: app.metadata.name,
        [Label.AutoUpdate]: AUTO_UPDATE_LABEL_VALUE,
      },
    },
    spec: { managedAppRef: { name: app.metadata.name }, targetVersion: { chart: version } },
  };
}
