// How the demo talks: numbered stages with their elapsed time, commands echoed as a shell would
// show them, and (on a terminal) a status line redrawn while something is being waited for,
// through the plugin's LiveOutput so the demo's waits look like the plugin's own.
import { LiveOutput, type Writer } from "../src/cli/live.ts";
import { formatSeconds } from "./summary.ts";

const CLEAR_LINE = "\r\x1b[2K";

export class Display {
  readonly out: Writer;
  readonly #now: () => number;
  #stage = 0;
  #stageStart = 0;
  #stageTitle = "";

  constructor(out: Writer, now: () => number = Date.now) {
    this.out = out;
    this.#now = now;
  }

  line(text = ""): void {
    this.out.write(`${text}\n`);
  }

  /**
   * A line written while the plugin may be redrawing its status line (a background task such
   * as the demo's migration): on a terminal the status line is cleared first and comes back at
   * its next tick.
   */
  interject(text: string): void {
    this.out.write(`${this.out.isTTY ? CLEAR_LINE : ""}${text}\n`);
  }

  /** Starts a numbered stage (closing the previous one). */
  stage(title: string): void {
    this.endStage();
    this.#stage++;
    this.#stageStart = this.#now();
    this.#stageTitle = title;
    this.line();
    this.line(`━━ ${this.#stage}. ${title}`);
  }

  /** Closes the current stage with its elapsed time. */
  endStage(): void {
    if (!this.#stageTitle) return;
    this.line(`   (${this.#stageTitle}: ${formatSeconds(this.#now() - this.#stageStart)})`);
    this.#stageTitle = "";
  }

  /** "$ kubectl cairn …", as a reader would type it. */
  command(text: string): void {
    this.line(`$ ${text}`);
  }

  /**
   * Runs fn while a terminal shows "… what (elapsed)", redrawn every second; elsewhere the
   * wait is silent. `detail` adds what is being waited on right now.
   */
  async waiting<T>(what: string, fn: () => Promise<T>, detail?: () => string): Promise<T> {
    const start = this.#now();
    const live = new LiveOutput(this.out, () => {
      const extra = detail?.() ?? "";
      return `… ${what}${extra ? `: ${extra}` : ""} (${formatSeconds(this.#now() - start)})`;
    });
    live.start();
    try {
      return await fn();
    } finally {
      live.stop();
    }
  }
}
