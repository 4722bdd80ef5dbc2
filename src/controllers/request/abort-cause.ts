// Why a request is being compensated: the Aborting condition the failed step set carries the
// failing step's reason and message, which the request's final Complete condition repeats.
import { ConditionType, type RequestStatus } from "../../api/index.ts";

export function abortCause(status: RequestStatus): { reason: string; why: string } {
  const aborting = status.conditions?.find((c) => c.type === ConditionType.Aborting);
  return {
    reason: aborting?.reason ?? "Failed",
    why: aborting?.message ?? "the request failed",
  };
}
