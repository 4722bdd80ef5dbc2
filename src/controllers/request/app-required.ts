// A deleted ManagedApp ends its request at whatever step it is in: every step between Admit and
// Finish first asks for the app, so a step that never reads it (Suspend, ScaleDown, Snapshot)
// still fails at once with AppNotFound, and Compensate undoes the freeze within seconds instead
// of at the step's deadline. Plan and Admit answer a missing app themselves; Compensate must run
// without it.
import type { StepContext, StepHandler } from "./runner.ts";

const ANSWER_THEMSELVES: ReadonlySet<string> = new Set(["Plan", "Admit", "Compensate"]);

export function requiringApp<R, H extends Readonly<Record<string, StepHandler<R> | undefined>>>(
  handlers: H,
  requireApp: (ctx: StepContext<R>) => unknown,
): H {
  const wrapped: Record<string, StepHandler<R> | undefined> = {};
  for (const [name, handler] of Object.entries(handlers)) {
    wrapped[name] =
      handler === undefined || ANSWER_THEMSELVES.has(name)
        ? handler
        : (ctx) => {
            try {
              // Throws StepFailedError(AppNotFound) when the app is gone.
              requireApp(ctx);
            } catch (err) {
              return Promise.reject(err instanceof Error ? err : new Error(String(err)));
            }
            return handler(ctx);
          };
  }
  return wrapped as H;
}
