// What the demo started, undone in reverse order exactly once: on success, on failure and on
// Ctrl-C alike (the signal handler and the normal path may both call run; they share one pass).

export type Report = (line: string) => void;

export class Teardown {
  readonly #steps: { readonly what: string; readonly undo: () => Promise<void> }[] = [];
  #running: Promise<void> | undefined;

  /** Registers an undo step; steps run last-added first. */
  add(what: string, undo: () => Promise<void>): void {
    if (this.#running) throw new Error(`teardown already running; cannot add "${what}"`);
    this.#steps.push({ what, undo });
  }

  get size(): number {
    return this.#steps.length;
  }

  /** True once run was called: what the demo started is being (or has been) undone. */
  get started(): boolean {
    return this.#running !== undefined;
  }

  /** Runs every step once; a failing step is reported and the others still run. */
  run(report: Report = () => undefined): Promise<void> {
    this.#running ??= (async () => {
      for (const step of [...this.#steps].reverse()) {
        try {
          await step.undo();
        } catch (err) {
          report(`could not ${step.what}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    })();
    return this.#running;
  }
}
