import { describe, expect, it } from "vitest";
import type { RepositorySettings } from "../../../src/updates/chart-source.ts";
import { IndexCache, type IndexReading } from "../../../src/updates/index-cache.ts";
import { flush } from "../../fakes/async.ts";
import { FakeClock } from "../../fakes/clock.ts";

const oci = (fingerprint = "f1"): RepositorySettings =>
  ({
    ref: { namespace: "shop", name: "charts" },
    type: "oci",
    url: "oci://r/charts",
    fingerprint,
  }) as unknown as RepositorySettings;

describe("IndexCache", () => {
  it("runs at most maxConcurrentReads reads at once, the rest in the order asked", async () => {
    const clock = new FakeClock(new Date("2026-01-01T00:00:00Z"));
    const started: string[] = [];
    const finish = new Map<string, () => void>();
    const settled: string[] = [];
    const cache = new IndexCache({
      clock,
      backoff: { baseMs: 1_000, maxMs: 10_000, jitter: 0 },
      random: () => 0.5,
      maxConcurrentReads: 2,
      onSettled: (repo) => settled.push(repo),
      read: (_settings, chart) => {
        started.push(chart);
        return new Promise<IndexReading>((resolve) =>
          finish.set(chart, () =>
            resolve({ ok: true, charts: new Map([[chart, ["1.0.0"]]]), readAt: clock.now() }),
          ),
        );
      },
    });
    for (const chart of ["a", "b", "c", "d"]) cache.lookup(oci(), chart, 3_600_000);
    expect(started).toEqual(["a", "b"]);
    expect(cache.waiting).toBe(2);
    // Asking again while waiting starts nothing more.
    expect(cache.lookup(oci(), "c", 3_600_000).reading).toBeUndefined();
    expect(started).toEqual(["a", "b"]);
    finish.get("b")?.();
    await flush();
    expect(started).toEqual(["a", "b", "c"]);
    finish.get("a")?.();
    await flush();
    expect(started).toEqual(["a", "b", "c", "d"]);
    expect(cache.waiting).toBe(0);
    finish.get("c")?.();
    finish.get("d")?.();
    await flush();
    expect(settled).toHaveLength(4);
    expect(cache.lookup(oci(), "d", 3_600_000).reading).toMatchObject({ ok: true });
  });

  it("skips a waiting read whose repository changed meanwhile", async () => {
    const clock = new FakeClock(new Date("2026-01-01T00:00:00Z"));
    const started: string[] = [];
    const finish: (() => void)[] = [];
    const cache = new IndexCache({
      clock,
      backoff: { baseMs: 1_000, maxMs: 10_000, jitter: 0 },
      random: () => 0.5,
      maxConcurrentReads: 1,
      onSettled: () => undefined,
      read: (settings, chart) => {
        started.push(`${chart}@${settings.fingerprint}`);
        return new Promise<IndexReading>((resolve) =>
          finish.push(() => resolve({ ok: true, charts: new Map(), readAt: clock.now() })),
        );
      },
    });
    cache.lookup(oci("f1"), "a");
    cache.lookup(oci("f1"), "b");
    // b's repository changed before its turn: the new fingerprint's read queues behind it.
    cache.lookup(oci("f2"), "b");
    finish.shift()?.();
    await flush();
    expect(started).toEqual(["a@f1", "b@f2"]);
  });
});
