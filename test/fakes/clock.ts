// A manual clock: time moves only when a test advances it, and due timers fire in order.
import type { Cancel, Clock } from "../../src/runtime/clock.ts";
import { flush } from "./async.ts";

interface Timer {
  readonly seq: number;
  readonly at: number;
  readonly fn: () => void;
}

export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: Timer[] = [];

  constructor(start: Date = new Date("2025-01-01T00:00:00Z")) {
    this.#now = start.getTime();
  }

  now(): Date {
    return new Date(this.#now);
  }

  setTimeout(fn: () => void, ms: number): Cancel {
    const timer: Timer = { seq: this.#seq++, at: this.#now + Math.max(0, ms), fn };
    this.#timers.push(timer);
    return () => {
      this.#timers = this.#timers.filter((t) => t !== timer);
    };
  }

  /** Delays of the pending timers from now, soonest first. */
  pending(): number[] {
    return this.#timers.map((t) => t.at - this.#now).sort((a, b) => a - b);
  }

  /**
   * Moves time forward by ms. Timers fire one at a time in due order, with promise chains
   * settled before and after each, so a timer that a callback schedules within the window
   * fires too.
   */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      await flush();
      const next = this.#due(target);
      if (!next) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      this.#now = next.at;
      next.fn();
    }
    this.#now = target;
    await flush();
  }

  /**
   * Moves time forward by ms without firing any timer: a process that was stopped (SIGSTOP)
   * and has just woken, before its overdue timers ran. The next advance fires them.
   */
  jump(ms: number): void {
    this.#now += ms;
  }

  #due(target: number): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.#timers) {
      if (t.at > target) continue;
      if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    return best;
  }
}
