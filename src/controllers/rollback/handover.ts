// The freeze a failed upgrade hands its automatic rollback (upgrade/steps/compensate.ts): the
// Flux objects it kept suspended (their holds now name the rollback) and the replicas it
// recorded. Plan adopts it; a rollback that ends or goes before its Plan succeeded (refused,
// out of time, deleted) thaws it, since no request would be left to.
import {
  API_VERSION,
  ConditionReason,
  ConditionType,
  Kind,
  type RequestStatus,
  type RollbackRequest,
} from "../../api/index.ts";
import type { KubeApi, KubeObject } from "../../kube/client.ts";
import { getIfExists } from "../../kube/get-if-exists.ts";
import { getCondition, type Conditions } from "../../runtime/conditions.ts";
import type { StepContext } from "../request/runner.ts";
import { upgradeName } from "./upgrade-of.ts";

export type Handover = Pick<RequestStatus, "suspended" | "replicas">;

/** Pure: what the upgrade handed this rollback, if it ended handing over to it. */
export function handoverOf(
  upgrade: KubeObject | undefined,
  rollback: string,
): Handover | undefined {
  const status = upgrade?.["status"] as
    (RequestStatus & { rollbackRef?: { name?: string } }) | undefined;
  const complete = getCondition(status?.conditions as Conditions, ConditionType.Complete);
  if (
    complete?.status !== "False" ||
    complete.reason !== ConditionReason.RollbackTriggered ||
    status?.rollbackRef?.name !== rollback
  )
    return undefined;
  return { suspended: status.suspended ?? [], replicas: status.replicas ?? [] };
}

/**
 * The handover still to be thawed by this rollback: only before its Plan succeeded (after it,
 * status.suspended and status.replicas hold what it adopted).
 */
export async function unadoptedHandover(
  client: KubeApi,
  ctx: StepContext<RollbackRequest>,
): Promise<Handover | undefined> {
  if (ctx.status().plan !== undefined || ctx.request.spec.dryRun) return undefined;
  const upgrade = await getIfExists(client, {
    apiVersion: API_VERSION,
    kind: Kind.UpgradeRequest,
    namespace: ctx.request.metadata.namespace ?? "",
    name: upgradeName(ctx),
  });
  return handoverOf(upgrade, ctx.request.metadata.name);
}
