import { describe, expect, it } from "vitest";
import {
  answerOf,
  FluxNotifier,
  fluxEventBody,
  MAX_MESSAGE_CHARS,
  type FluxEvent,
} from "../../../src/runtime/flux-notifier.ts";
import type { LogFn } from "../../../src/runtime/log.ts";

function event(reason: string): FluxEvent {
  return fluxEventBody({
    involvedObject: {
      apiVersion: "helm.toolkit.fluxcd.io/v2",
      kind: "HelmRelease",
      namespace: "demo",
      name: "demo",
    },
    severity: "info",
    at: new Date("2026-12-07T10:11:12.345Z"),
    reason,
    message: `m ${reason}`,
    reportingController: "cairn",
    reportingInstance: "cairn-0",
  });
}

/** A notification-controller stand-in answering with the given statuses in turn (or throwing). */
function endpoint(answers: (number | Error)[]) {
  const posts: { url: string; body: FluxEvent }[] = [];
  const fetch = ((url: string, init: RequestInit) => {
    posts.push({ url, body: JSON.parse(init.body as string) as FluxEvent });
    const next = answers.shift() ?? 202;
    if (next instanceof Error) return Promise.reject(next);
    return Promise.resolve(new Response(null, { status: next }));
  }) as typeof globalThis.fetch;
  return { posts, fetch };
}

function recorder() {
  const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  const log: LogFn = (level, msg, fields) =>
    lines.push({ level, msg, ...(fields ? { fields } : {}) });
  return { lines, log };
}

describe("fluxEventBody", () => {
  it("writes the timestamp in RFC 3339 seconds and cuts an overlong message", () => {
    const e = fluxEventBody({
      ...event("x"),
      at: new Date("2026-12-07T10:11:12.999Z"),
      message: "a".repeat(MAX_MESSAGE_CHARS + 10),
    });
    expect(e.timestamp).toBe("2026-12-07T10:11:12Z");
    expect(e.message).toHaveLength(MAX_MESSAGE_CHARS);
    expect(Object.keys(e)).not.toContain("at");
  });
});

describe("answerOf", () => {
  it.each([
    [202, "delivered"],
    [200, "delivered"],
    [429, "duplicate"],
    [500, "retry"],
    [503, "retry"],
    [408, "retry"],
    [400, "refused"],
    [413, "refused"],
  ] as const)("%i is %s", (status, answer) => {
    expect(answerOf(status)).toBe(answer);
  });
});

describe("FluxNotifier", () => {
  it("posts each event once, in order, as JSON to the event address", async () => {
    const { posts, fetch } = endpoint([]);
    const n = new FluxNotifier({ url: "http://nc/", log: recorder().log, fetch });
    n.post(event("A"));
    n.post(event("B"));
    await n.idle();
    expect(posts.map((p) => [p.url, p.body.reason])).toEqual([
      ["http://nc/", "A"],
      ["http://nc/", "B"],
    ]);
    expect(n.stats).toEqual({ sent: 2, dropped: 0, pending: 0 });
  });

  it("retries a connection error and a 5xx with doubling waits, then gives up with a warning", async () => {
    const { posts, fetch } = endpoint([new Error("ECONNREFUSED"), 503, 202]);
    const waits: number[] = [];
    const delay = (ms: number) => {
      waits.push(ms);
      return Promise.resolve();
    };
    const logs = recorder();
    const n = new FluxNotifier({ url: "http://nc/", log: logs.log, fetch, delay, backoffMs: 100 });
    n.post(event("A"));
    await n.idle();
    expect(posts).toHaveLength(3);
    expect(waits).toEqual([100, 200]);
    expect(n.stats.sent).toBe(1);

    const failing = endpoint([500, 500, 500, 500, 500]);
    const m = new FluxNotifier({
      url: "http://nc/",
      log: logs.log,
      fetch: failing.fetch,
      delay,
      maxAttempts: 3,
    });
    m.post(event("B"));
    await m.idle();
    expect(failing.posts).toHaveLength(3);
    expect(m.stats).toEqual({ sent: 0, dropped: 1, pending: 0 });
    expect(logs.lines.at(-1)).toMatchObject({
      level: "warn",
      msg: "could not post an event to notification-controller",
      fields: {
        reason: "B",
        attempts: 3,
        err: "HTTP 500",
        involvedObject: "HelmRelease demo/demo",
      },
    });
  });

  it("does not repeat an event notification-controller already has (429) or refuses (4xx)", async () => {
    const { posts, fetch } = endpoint([429, 400]);
    const logs = recorder();
    const n = new FluxNotifier({ url: "http://nc/", log: logs.log, fetch });
    n.post(event("A"));
    n.post(event("B"));
    await n.idle();
    expect(posts.map((p) => p.body.reason)).toEqual(["A", "B"]);
    expect(n.stats).toEqual({ sent: 0, dropped: 1, pending: 0 });
    expect(logs.lines.map((l) => [l.level, l.msg])).toEqual([
      ["debug", "notification-controller already has this event"],
      ["warn", "notification-controller refused an event"],
    ]);
  });

  it("drops the oldest waiting events beyond its bound", async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const seen: string[] = [];
    const fetch = (async (_url: string, init: RequestInit) => {
      seen.push((JSON.parse(init.body as string) as FluxEvent).reason);
      await gate;
      return new Response(null, { status: 202 });
    }) as typeof globalThis.fetch;
    const logs = recorder();
    const n = new FluxNotifier({ url: "http://nc/", log: logs.log, fetch, maxPending: 2 });
    for (const r of ["A", "B", "C", "D"]) n.post(event(r));
    // A is in flight; of B, C and D waiting, B goes.
    release();
    await n.idle();
    expect(seen).toEqual(["A", "C", "D"]);
    expect(n.stats).toEqual({ sent: 3, dropped: 1, pending: 0 });
    expect(logs.lines[0]).toMatchObject({ level: "warn", fields: { reason: "B" } });
  });
});
