// Helpers for tests of asynchronous code driven by a fake clock.
import { setImmediate as nextMacrotask } from "node:timers/promises";

/**
 * Lets every pending promise continuation run: the microtask queue is drained completely before
 * the next macrotask, so awaiting one macrotask settles any chain that waits on no timer.
 */
export async function flush(): Promise<void> {
  await nextMacrotask();
}

/** Flushes until the condition holds; fails the test, naming what never happened, if it does not. */
export async function until(what: string, condition: () => boolean, rounds = 50): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    if (condition()) return;
    await flush();
  }
  throw new Error(`never happened: ${what}`);
}

export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
