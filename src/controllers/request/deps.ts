// What the request controllers share: the API, the clock, logs, events, metrics, the informer
// factory, the Git settings, and the crash hook of the crash-safety tests.
import type { Config } from "../../config.ts";
import type { KubeClient } from "../../kube/client.ts";
import type { Metrics } from "../../metrics.ts";
import type { Clock } from "../../runtime/clock.ts";
import type { EventRecorder } from "../../runtime/events.ts";
import type { InformerFactory } from "../../runtime/informer-factory.ts";
import type { LogFn } from "../../runtime/log.ts";
import type { WorkspacePool } from "../../git/workspace-pool.ts";

export interface RequestDeps {
  readonly client: KubeClient;
  readonly clock: Clock;
  readonly log: LogFn;
  readonly metrics: Metrics;
  readonly events: EventRecorder;
  readonly informers: InformerFactory;
  readonly config: Pick<
    Config,
    | "allowCrossNamespaceRefs"
    | "workers"
    | "gitCacheDir"
    | "gitAuthorName"
    | "gitAuthorEmail"
    | "watchLabelSelector"
  >;
  /** One Git workspace per remote for the whole process, shared by both request kinds. */
  readonly gitWorkspaces: WorkspacePool;
  /** See RunnerDeps.afterEffect. */
  readonly afterEffect?: (step: string) => void;
}
