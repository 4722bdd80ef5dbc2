// Runs a set of controllers while this replica leads: informers first, then, once every
// informer has synced, the controllers; on the leader signal's abort, drains the queues.
import type { Controller } from "./runtime/controller.ts";
import type { Informer } from "./runtime/informer.ts";
import type { LogFn } from "./runtime/log.ts";
import type { Metrics } from "./metrics.ts";

export interface ControllerModule {
  readonly name: string;
  /** Informers keyed by kind; shared informers may appear in several modules. */
  readonly informers: ReadonlyMap<string, Informer>;
  readonly controller: Controller;
}

export interface ManagerState {
  /** True once every informer has synced and the controllers run. */
  ready: boolean;
}

export async function runControllers(
  modules: readonly ControllerModule[],
  signal: AbortSignal,
  deps: {
    readonly metrics: Metrics;
    readonly log: LogFn;
    readonly drainMs: number;
    readonly state: ManagerState;
  },
): Promise<void> {
  const informers = new Map<string, Informer>();
  for (const m of modules)
    for (const [kind, informer] of m.informers) informers.set(kind, informer);
  const stops: (() => void)[] = [];
  const running = [...informers].map(([kind, informer]) => {
    stops.push(deps.metrics.watchInformer(kind, informer));
    return informer.run(signal);
  });
  for (const [kind, informer] of informers) {
    if (!(await informer.waitForSync(signal))) break;
    deps.log("info", "informer synced", { kind, items: informer.stats().items });
  }
  if (!signal.aborted) {
    for (const m of modules) {
      stops.push(deps.metrics.watchQueue(m.name, m.controller.queue));
      m.controller.start();
    }
    deps.state.ready = true;
    deps.log("info", "controllers started", { controllers: modules.map((m) => m.name) });
    await new Promise<void>((resolve) =>
      signal.addEventListener("abort", () => resolve(), { once: true }),
    );
  }
  deps.state.ready = false;
  const drained = await Promise.all(modules.map((m) => m.controller.shutdown(deps.drainMs)));
  const abandoned = drained.flatMap((d) => d.abandoned);
  if (abandoned.length > 0)
    deps.log("warn", "shutdown abandoned in-flight keys", { keys: abandoned });
  await Promise.all(running);
  for (const stop of stops) stop();
}
