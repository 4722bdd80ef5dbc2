// Every controller this process runs while it leads, over one shared set of informers (each kind
// is listed and watched once, whichever controllers read it).
import type { Config } from "../config.ts";
import type { KubeClient } from "../kube/client.ts";
import type { ControllerModule } from "../manager.ts";
import type { Metrics } from "../metrics.ts";
import type { Clock } from "../runtime/clock.ts";
import type { EventRecorder } from "../runtime/events.ts";
import { InformerFactory } from "../runtime/informer-factory.ts";
import type { LogFn } from "../runtime/log.ts";
import { buildManagedAppModule } from "./managedapp/module.ts";
import { buildRollbackModule } from "./rollback/module.ts";
import { slimSource } from "./managedapp/slim-source.ts";
import { WorkspacePool } from "../git/workspace-pool.ts";
import { buildUpgradeModule } from "./upgrade/module.ts";

export interface ModuleDeps {
  readonly client: KubeClient;
  readonly clock: Clock;
  readonly log: LogFn;
  readonly metrics: Metrics;
  readonly events: EventRecorder;
  readonly config: Config;
  /** See RunnerDeps.afterEffect: main.ts turns --failpoint into a self-kill here. */
  readonly afterEffect?: (step: string) => void;
  /** The leader's term: when it ends, every git process the controllers started is killed. */
  readonly signal?: AbortSignal;
}

export function buildModules(deps: ModuleDeps): ControllerModule[] {
  const selector = deps.config.watchLabelSelector;
  const informers = new InformerFactory({
    // No controller reads managedFields from a cache (the one check that needs them reads the
    // object fresh), and they are 40–50 % of a pod or PVC: keep them out of every informer.
    source: slimSource(deps.client),
    clock: deps.clock,
    log: deps.log,
    ...(selector !== undefined ? { labelSelectors: { ManagedApp: selector } } : {}),
  });
  const gitWorkspaces = new WorkspacePool({ signal: deps.signal });
  return [
    buildManagedAppModule({ ...deps, informers, gitWorkspaces }),
    buildUpgradeModule({ ...deps, informers, gitWorkspaces }),
    buildRollbackModule({ ...deps, informers, gitWorkspaces }),
  ];
}
