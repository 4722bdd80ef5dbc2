// Output of a running command. On a terminal, one status line is redrawn in place (every second,
// so elapsed times tick) below the permanent lines; elsewhere (pipes, CI logs, tests) only
// permanent lines are written, each once.

export interface Writer {
  write(text: string): unknown;
  readonly isTTY?: boolean | undefined;
  readonly columns?: number | undefined;
}

const CLEAR_LINE = "\r\x1b[2K";

export class LiveOutput {
  readonly #out: Writer;
  readonly #render: (() => string) | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #active = false;
  #shown = false;

  /** `render` gives the status line; without a terminal it is never called. */
  constructor(out: Writer, render?: () => string) {
    this.#out = out;
    this.#render = out.isTTY ? render : undefined;
  }

  start(): void {
    if (!this.#render) return;
    this.#active = true;
    this.#redraw();
    this.#timer = setInterval(() => this.#redraw(), 1000);
    // The ticker alone must never keep the process alive.
    this.#timer.unref();
  }

  /** A permanent line, above the status line. */
  line(text: string): void {
    this.#clear();
    this.#out.write(`${text}\n`);
    this.#redraw();
  }

  /** Redraws now, for a status change between ticks. */
  update(): void {
    this.#redraw();
  }

  stop(): void {
    this.#active = false;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#clear();
  }

  #clear(): void {
    if (this.#shown) this.#out.write(CLEAR_LINE);
    this.#shown = false;
  }

  #redraw(): void {
    if (!this.#render || !this.#active) return;
    // A pseudo-terminal may report 0 columns: take the usual 80 then.
    const width = Math.max(20, (this.#out.columns || 80) - 1);
    const text = this.#render();
    this.#out.write(`${CLEAR_LINE}${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
    this.#shown = true;
  }
}
