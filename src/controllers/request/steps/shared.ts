// The steps both request kinds run unchanged, keyed by their names in the step tables
// (step-table.ts); each kind's module.ts adds its own steps next to these.
import type { RequestObject, StepHandler } from "../runner.ts";
import type { StepDeps } from "../step-deps.ts";
import { admitStep } from "./admit.ts";
import { awaitFluxStep } from "./await-flux.ts";
import { healthCheckStep } from "./health-check.ts";
import { resumeStep } from "./resume.ts";
import { scaleDownStep } from "./scale-down.ts";
import { scaleUpStep } from "./scale-up.ts";
import { suspendStep } from "./suspend.ts";

export type SharedStepName =
  "Admit" | "Suspend" | "ScaleDown" | "Resume" | "AwaitFlux" | "ScaleUp" | "HealthCheck";

export function sharedSteps<R extends RequestObject<unknown>>(
  deps: StepDeps<R>,
): Record<SharedStepName, StepHandler<R>> {
  return {
    Admit: admitStep(deps),
    Suspend: suspendStep(deps),
    ScaleDown: scaleDownStep(deps),
    Resume: resumeStep(deps),
    AwaitFlux: awaitFluxStep(deps),
    ScaleUp: scaleUpStep(deps),
    HealthCheck: healthCheckStep(deps),
  };
}
