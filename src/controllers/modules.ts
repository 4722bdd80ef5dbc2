// Every controller this process runs while it leads. Later controllers (upgrades, rollbacks)
// join this list.
import type { Config } from "../config.ts";
import type { KubeClient } from "../kube/client.ts";
import type { ControllerModule } from "../manager.ts";
import type { Metrics } from "../metrics.ts";
import type { Clock } from "../runtime/clock.ts";
import type { EventRecorder } from "../runtime/events.ts";
import type { LogFn } from "../runtime/log.ts";
import { buildManagedAppModule } from "./managedapp/module.ts";

export interface ModuleDeps {
  readonly client: KubeClient;
  readonly clock: Clock;
  readonly log: LogFn;
  readonly metrics: Metrics;
  readonly events: EventRecorder;
  readonly config: Config;
}

export function buildModules(deps: ModuleDeps): ControllerModule[] {
  return [buildManagedAppModule(deps)];
}
