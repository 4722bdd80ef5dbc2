// The RollbackRequest controller: undo one UpgradeRequest, data included. Take the app's lock
// once the upgrade has ended, plan (validate the upgrade, pin the PVCs, snapshots, workloads and
// the Git change in status), suspend Flux, stop the workloads, restore each PVC from the
// upgrade's snapshot (delete, wait until gone, recreate under the same name from the snapshot),
// revert the upgrade's commit, resume Flux, wait until it applied the revert, scale back, check
// health, finish; or compensate. One idempotent handler per step (steps/, and the shared ones in
// request/steps/), run by the shared phase-machine shell with the wiring of
// request/build-module.ts. When a failure leaves Flux suspended on purpose: frozen-state.ts.
import { Kind, RollbackRequest } from "../../api/index.ts";
import type { ControllerModule } from "../../manager.ts";
import { buildRequestModule } from "../request/build-module.ts";
import type { RequestDeps } from "../request/deps.ts";
import { ROLLBACK_STEPS } from "../request/step-table.ts";
import { sharedSteps } from "../request/steps/shared.ts";
import { watchFrozenApps } from "./frozen-gauge.ts";
import { observeRecovery } from "./recovery.ts";
import { rollbackAdmitStep } from "./steps/admit.ts";
import { compensateStep } from "./steps/compensate.ts";
import { finishStep } from "./steps/finish.ts";
import { onDeleteStep } from "./steps/on-delete.ts";
import { planStep } from "./steps/plan.ts";
import { restoreVolumesStep } from "./steps/restore-volumes.ts";
import { revertStep } from "./steps/revert.ts";
import { rollbackAppName } from "./upgrade-of.ts";

export const NAME = "rollbackrequest";

export function buildRollbackModule(deps: RequestDeps): ControllerModule {
  return buildRequestModule(deps, {
    name: NAME,
    kind: Kind.RollbackRequest,
    schema: RollbackRequest,
    steps: ROLLBACK_STEPS,
    requests: (world) => world.rollbacks,
    appNameOf: rollbackAppName,
    watch: (world) => watchFrozenApps(world, deps.metrics),
    finished: (world) => observeRecovery(world, deps.metrics),
    handlers: (d) => ({
      handlers: {
        // Suspend, ScaleDown, Resume, AwaitFlux, ScaleUp and HealthCheck; Admit waits for the
        // upgrade to end first.
        ...sharedSteps(d),
        Admit: rollbackAdmitStep(d),
        Plan: planStep(d),
        RestoreVolumes: restoreVolumesStep(d),
        Revert: revertStep(d),
        Finish: finishStep(d),
        Compensate: compensateStep(d),
      },
      onDelete: onDeleteStep(d),
    }),
  });
}
