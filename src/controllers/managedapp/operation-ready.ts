// The app's Ready while one of its requests is at work on it. Pure.
//
// From Admit to its end, an UpgradeRequest or RollbackRequest suspends the app's Flux objects,
// stops its writers, has Flux apply a new revision and brings the pods back: every pass of the
// ManagedApp would find another transient reason to be unready (KustomizationSuspended,
// WorkloadNotReady, HelmReleaseGenerationNotObserved, …) and write each one. None of them is news:
// the request's own conditions and Events tell the story step by step, and its HealthCheck step
// checks the app before it succeeds. So the app says once that the request is at work on it
// (Ready=Unknown, as kstatus reads "in progress", and FluxSuspended=Unknown), keeps its discovery
// summary as it was, and leaves Helm's storage unread, until the request is over and the next
// pass checks it in full.
import type { KubeObject } from "../../kube/client.ts";
import { getCondition, isTrue, type Condition } from "../../runtime/conditions.ts";
import type { ReadyCondition } from "./evaluate.ts";
import { SuspensionReason, type Operation, type SuspensionDecision } from "./suspension.ts";

export const OPERATION_IN_PROGRESS = "OperationInProgress";

interface RequestView {
  readonly spec?: { readonly dryRun?: unknown };
  readonly status?: { readonly conditions?: Condition[] };
}

/**
 * The request that holds the app: admitted (it has the app's lock), not a dry run (which plans
 * only and changes nothing), and not over (no Complete condition, or Complete=Unknown while
 * Compensate or Finish still work). A request waiting in Admit holds nothing yet.
 */
export function holdingOperation(requests: readonly KubeObject[]): Operation | undefined {
  const holders = requests.filter((r) => {
    const { spec, status } = r as RequestView;
    const complete = getCondition(status?.conditions, "Complete")?.status ?? "Unknown";
    return (
      (r.kind === "UpgradeRequest" || r.kind === "RollbackRequest") &&
      spec?.dryRun !== true &&
      isTrue(status?.conditions, "Admitted") &&
      complete === "Unknown"
    );
  });
  // One lock per app, so one holder; should two ever show (a lagging cache), the first by name
  // keeps the message stable.
  const [first] = holders
    .map((r) => ({ kind: r.kind as Operation["kind"], name: r.metadata.name ?? "" }))
    .sort((a, b) => `${a.kind}/${a.name}`.localeCompare(`${b.kind}/${b.name}`));
  return first;
}

/**
 * FluxSuspended while the app's own request holds it: that request suspends the Flux objects and
 * resumes them before it ends (its status.suspended lists them), so the condition says it is not
 * tracked meanwhile instead of following each suspend and resume with a write of its own.
 */
export function operationSuspension(op: Operation): SuspensionDecision {
  return {
    since: undefined,
    condition: {
      status: "Unknown",
      reason: SuspensionReason.OperationInProgress,
      message: `${op.kind} ${op.name} holds the app: it suspends the app's Flux objects while it works and resumes them before it ends (its status.suspended lists them); checked again when it ends`,
    },
    requeueAfterMs: undefined,
  };
}

export function operationReady(op: Operation): ReadyCondition {
  return {
    status: "Unknown",
    reason: OPERATION_IN_PROGRESS,
    message: `${op.kind} ${op.name} is at work on the app; its status shows the step, and the app is checked again when it ends`,
  };
}
