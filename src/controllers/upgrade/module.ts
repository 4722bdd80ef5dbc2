// The UpgradeRequest controller: take the app's lock, plan, wait for approval if asked, suspend
// Flux, stop the workloads that mount the app's single-writer PVCs, snapshot them, commit the
// version bump, resume Flux, wait until Flux applied the commit, scale back, check health,
// finish; or compensate. One
// idempotent handler per step (steps/, and the shared ones in request/steps/), run by the shared
// phase-machine shell (request/runner.ts) with the wiring of request/build-module.ts.
import { Kind, UpgradeRequest } from "../../api/index.ts";
import type { KubeObject } from "../../kube/client.ts";
import type { ControllerModule } from "../../manager.ts";
import { requiringApp } from "../request/app-required.ts";
import { buildRequestModule } from "../request/build-module.ts";
import type { RequestDeps } from "../request/deps.ts";
import { UPGRADE_STEPS } from "../request/step-table.ts";
import { sharedSteps } from "../request/steps/shared.ts";
import { thawOnDelete } from "../request/steps/on-delete.ts";
import { commitStep } from "./steps/commit.ts";
import { approveStep } from "./steps/approve.ts";
import { compensateStep } from "./steps/compensate.ts";
import { finishStep } from "./steps/finish.ts";
import { planStep } from "./steps/plan.ts";
import { snapshotStep } from "./steps/snapshot.ts";

export const NAME = "upgraderequest";

/** The ManagedApp an UpgradeRequest names, read from the raw object. */
export function upgradeAppName(request: KubeObject): string | undefined {
  return (request["spec"] as { managedAppRef?: { name?: string } } | undefined)?.managedAppRef
    ?.name;
}

export function buildUpgradeModule(deps: RequestDeps): ControllerModule {
  return buildRequestModule(deps, {
    name: NAME,
    kind: Kind.UpgradeRequest,
    schema: UpgradeRequest,
    steps: UPGRADE_STEPS,
    requests: (world) => world.upgrades,
    appNameOf: () => upgradeAppName,
    handlers: (d) => ({
      handlers: requiringApp(
        {
          // Admit, Suspend, ScaleDown, Resume, AwaitFlux, ScaleUp and HealthCheck.
          ...sharedSteps(d),
          Plan: planStep(d),
          Approve: approveStep(d, planStep(d)),
          Snapshot: snapshotStep(d),
          Commit: commitStep(d),
          Finish: finishStep(d),
          Compensate: compensateStep(d),
        },
        d.requireApp,
      ),
      onDelete: thawOnDelete(d),
    }),
  });
}
