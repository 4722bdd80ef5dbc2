// Health of the Helm release storage: the newest revision must not be pending-* (an action a crash
// left behind, which blocks every further Helm action) or failed.
import type { ReleaseSelection } from "../helm/select.ts";
import { current, failed, inProgress, type KindStatus } from "./status.ts";

export function releaseStateStatus(selection: ReleaseSelection): KindStatus {
  const problem = selection.problems[0];
  if (!problem) {
    const r = selection.current;
    return current(r ? `revision ${r.version} (${r.chart.metadata.version}) deployed` : "deployed");
  }
  switch (problem.code) {
    case "PendingRelease":
      return failed("ReleasePending", problem.message);
    case "FailedRelease":
      return failed("ReleaseFailed", problem.message);
    case "UnreadableRevision":
      return failed("ReleaseUnreadable", problem.message);
    case "UnexpectedStatus":
      return failed("ReleaseUnexpectedStatus", problem.message);
    case "NoDeployedRelease":
      return failed("ReleaseNotDeployed", problem.message);
    case "NoRelease":
      // helm-controller writes the first Secret when it starts installing.
      return inProgress("ReleaseMissing", problem.message);
  }
}
