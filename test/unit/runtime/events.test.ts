import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../../src/kube/client.ts";
import { KubeError } from "../../../src/kube/errors.ts";
import {
  EventRecorder,
  MAX_NOTE_BYTES,
  maskUrlCredentials,
  truncateUtf8,
  type EventRecorderOptions,
  type RecordedEvent,
} from "../../../src/runtime/events.ts";
import type { LogLevel } from "../../../src/runtime/log.ts";
import { FakeClock } from "../../fakes/clock.ts";
import { FakeObjectApi } from "../../fakes/object-api.ts";

const regarding = {
  apiVersion: "tests.cairn.dev/v1",
  kind: "Widget",
  namespace: "apps",
  name: "shop",
  uid: "uid-1",
};

interface LogLine {
  readonly level: LogLevel;
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

function setup(extra: Partial<EventRecorderOptions> = {}) {
  const api = new FakeObjectApi();
  const clock = new FakeClock(new Date("2025-01-01T00:00:00.000Z"));
  const logs: LogLine[] = [];
  const recorder = new EventRecorder({
    client: api,
    clock,
    reportingInstance: "cairn-7d9f-abcde",
    log: (level, message, fields = {}) => logs.push({ level, message, fields }),
    random: () => 0.5,
    ...extra,
  });
  return { api, clock, logs, recorder };
}

function created(api: FakeObjectApi): KubeObject[] {
  return api.callsOf("create").map((c) => c.body as KubeObject);
}

describe("EventRecorder", () => {
  it("hands every event to forward, repeats included, with URL credentials masked and the note whole", async () => {
    const seen: RecordedEvent[] = [];
    const { api, recorder } = setup({ forward: (e) => seen.push(e) });
    const long = `pushed to https://user:token@git.example/x ${"n".repeat(MAX_NOTE_BYTES)}`;
    await recorder.record(regarding, "Warning", "PushFailed", "Commit", long);
    await recorder.record(regarding, "Warning", "PushFailed", "Commit", long);
    expect(seen).toHaveLength(2);
    expect(seen[0]).toMatchObject({
      regarding,
      type: "Warning",
      reason: "PushFailed",
      action: "Commit",
    });
    expect(seen[0]?.note.startsWith("pushed to https://***@git.example/x")).toBe(true);
    expect(seen[0]?.note.length).toBeGreaterThan(MAX_NOTE_BYTES);
    expect(seen[0]?.at).toEqual(new Date("2025-01-01T00:00:00.000Z"));
    // The Event itself is written as before (once, then its series).
    expect(created(api)).toHaveLength(1);
  });

  it("creates an events.k8s.io/v1 Event with the reporting fields and the regarding object", async () => {
    const { api, recorder } = setup();
    await recorder.record(regarding, "Normal", "Started", "Upgrade", "upgrade to 1.2.3 started");
    const [event] = created(api);
    expect(event).toEqual({
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      metadata: { name: expect.stringMatching(/^shop\.[0-9a-f]+$/) as unknown, namespace: "apps" },
      eventTime: "2025-01-01T00:00:00.000000Z",
      reportingController: "cairn.dev/cairn",
      reportingInstance: "cairn-7d9f-abcde",
      regarding,
      type: "Normal",
      reason: "Started",
      action: "Upgrade",
      note: "upgrade to 1.2.3 started",
    });
  });

  it("aggregates repeats within the window into the first Event's series", async () => {
    const { api, clock, recorder } = setup();
    await recorder.record(regarding, "Warning", "Failed", "Snapshot", "quota exceeded");
    await clock.advance(60_000);
    await recorder.record(regarding, "Warning", "Failed", "Snapshot", "quota exceeded");
    await clock.advance(9 * 60_000);
    await recorder.record(regarding, "Warning", "Failed", "Snapshot", "quota exceeded");
    expect(api.callsOf("create")).toHaveLength(1);
    const name = created(api)[0]?.metadata.name;
    const patches = api.callsOf("mergePatch");
    expect(patches.map((c) => c.key)).toEqual([
      `events.k8s.io/v1/Event/apps/${name ?? ""}`,
      `events.k8s.io/v1/Event/apps/${name ?? ""}`,
    ]);
    expect(patches.map((c) => c.body)).toEqual([
      { series: { count: 2, lastObservedTime: "2025-01-01T00:01:00.000000Z" } },
      { series: { count: 3, lastObservedTime: "2025-01-01T00:10:00.000000Z" } },
    ]);
    expect(
      api.peek({
        apiVersion: "events.k8s.io/v1",
        kind: "Event",
        namespace: "apps",
        name: name ?? "",
      }),
    ).toMatchObject({
      series: { count: 3 },
      note: "quota exceeded",
    });
  });

  it("starts a new Event when the note, reason, type or object differ", async () => {
    const { api, recorder } = setup();
    await recorder.record(regarding, "Warning", "Failed", "Snapshot", "quota exceeded");
    await recorder.record(regarding, "Warning", "Failed", "Snapshot", "other note");
    await recorder.record(regarding, "Warning", "Retrying", "Snapshot", "quota exceeded");
    await recorder.record(regarding, "Normal", "Failed", "Snapshot", "quota exceeded");
    await recorder.record(
      { ...regarding, name: "other" },
      "Warning",
      "Failed",
      "Snapshot",
      "quota exceeded",
    );
    expect(api.callsOf("create")).toHaveLength(5);
    expect(api.callsOf("mergePatch")).toHaveLength(0);
    expect(recorder.size).toBe(5);
  });

  it("starts a new Event after a quiet window, and forgets old series", async () => {
    const { api, clock, recorder } = setup({ seriesWindowMs: 10 * 60_000 });
    await recorder.record(regarding, "Warning", "Failed", "Snapshot", "quota exceeded");
    await clock.advance(10 * 60_000 + 1);
    await recorder.record(regarding, "Warning", "Failed", "Snapshot", "quota exceeded");
    expect(api.callsOf("create")).toHaveLength(2);
    expect(api.callsOf("mergePatch")).toHaveLength(0);
    expect(recorder.size).toBe(1);
  });

  it("serialises concurrent repeats so the count never goes backwards", async () => {
    const { api, recorder } = setup();
    await Promise.all(
      [1, 2, 3, 4].map(() => recorder.record(regarding, "Normal", "Ping", "Check", "same")),
    );
    expect(api.callsOf("create")).toHaveLength(1);
    // The create ran after all four arrived, so it carries the series already; nothing is left.
    const first = created(api)[0];
    expect(first?.["series"]).toEqual({
      count: 4,
      lastObservedTime: "2025-01-01T00:00:00.000000Z",
    });
    expect(api.callsOf("mergePatch")).toHaveLength(0);
  });

  it("creates the Event anew, keeping the count, when the series' Event has expired", async () => {
    const { api, recorder } = setup();
    await recorder.record(regarding, "Normal", "Ping", "Check", "same");
    const name = created(api)[0]?.metadata.name ?? "";
    await api.delete({ apiVersion: "events.k8s.io/v1", kind: "Event", namespace: "apps", name });
    await recorder.record(regarding, "Normal", "Ping", "Check", "same");
    expect(api.calls.map((c) => c.op)).toEqual(["create", "delete", "mergePatch", "create"]);
    expect(created(api)[1]?.["series"]).toMatchObject({ count: 2 });
  });

  it("truncates notes to 1024 bytes of UTF-8 without splitting a character", async () => {
    const { api, recorder } = setup();
    await recorder.record(regarding, "Warning", "Failed", "Step", "x".repeat(5000));
    await recorder.record(regarding, "Warning", "Failed", "Step", "é".repeat(1000));
    const notes = created(api).map((e) => e["note"] as string);
    for (const note of notes) {
      expect(new TextEncoder().encode(note).length).toBeLessThanOrEqual(MAX_NOTE_BYTES);
      expect(note.endsWith("…")).toBe(true);
      expect(note).not.toContain("\uFFFD");
    }
    expect(notes[0]?.length).toBe(MAX_NOTE_BYTES - 3 + 1);
    expect(truncateUtf8("short", 1024)).toBe("short");
    expect(truncateUtf8("ab€cd", 6)).toBe("ab…");
  });

  it("masks credentials in URLs in the note", async () => {
    const { api, recorder } = setup();
    await recorder.record(
      regarding,
      "Warning",
      "PushFailed",
      "Git",
      "push to https://bot:ghp_secret123@git.example.com/repo.git failed",
    );
    expect(created(api)[0]?.["note"]).toBe("push to https://***@git.example.com/repo.git failed");
    expect(maskUrlCredentials("ssh://git@host/repo and http://plain.example/x")).toBe(
      "ssh://***@host/repo and http://plain.example/x",
    );
  });

  it("puts Events about cluster-scoped objects into the default namespace", async () => {
    const { api, recorder } = setup();
    await recorder.record(
      { apiVersion: "v1", kind: "Node", name: "node-1" },
      "Normal",
      "Seen",
      "Watch",
      "",
    );
    const [event] = created(api);
    expect(event?.metadata.namespace).toBe("default");
    expect(event?.["regarding"]).toEqual({ apiVersion: "v1", kind: "Node", name: "node-1" });
  });

  it("never throws: API failures are logged and the next occurrence tries afresh", async () => {
    const { api, logs, recorder } = setup();
    api.failNext("create", new KubeError("Forbidden", "events is forbidden", 403));
    await expect(
      recorder.record(regarding, "Warning", "Failed", "Step", "first"),
    ).resolves.toBeUndefined();
    expect(logs).toEqual([
      {
        level: "warn",
        message: "could not record an event",
        fields: expect.objectContaining({
          regarding: "Widget apps/shop",
          reason: "Failed",
        }) as unknown,
      },
    ]);
    await recorder.record(regarding, "Warning", "Failed", "Step", "first");
    expect(api.callsOf("create")).toHaveLength(2);
    expect(
      api.peek({
        apiVersion: "events.k8s.io/v1",
        kind: "Event",
        namespace: "apps",
        name: created(api)[1]?.metadata.name ?? "",
      }),
    ).toBeDefined();
  });

  it("never throws even when the client throws synchronously and the logger throws too", async () => {
    const recorder = new EventRecorder({
      client: {
        create: () => {
          throw new Error("sync failure");
        },
        mergePatch: () => Promise.reject(new Error("unused")),
      },
      clock: new FakeClock(),
      reportingInstance: "i",
      log: () => {
        throw new Error("logger down");
      },
    });
    await expect(recorder.record(regarding, "Normal", "R", "A", "n")).resolves.toBeUndefined();
  });

  it("never throws on a series update failure, and keeps the series for the next repeat", async () => {
    const { api, logs, recorder } = setup();
    await recorder.record(regarding, "Normal", "Ping", "Check", "same");
    api.failNext("mergePatch", new KubeError("Transient", "503", 503));
    await recorder.record(regarding, "Normal", "Ping", "Check", "same");
    expect(logs.map((l) => l.level)).toEqual(["warn"]);
    await recorder.record(regarding, "Normal", "Ping", "Check", "same");
    expect(api.callsOf("create")).toHaveLength(1);
    expect(api.callsOf("mergePatch").map((c) => c.body)).toEqual([
      { series: { count: 2, lastObservedTime: "2025-01-01T00:00:00.000000Z" } },
      { series: { count: 3, lastObservedTime: "2025-01-01T00:00:00.000000Z" } },
    ]);
  });

  it("remembers at most maxSeries distinct events", async () => {
    const { recorder } = setup({ maxSeries: 2 });
    for (const note of ["a", "b", "c"]) {
      await recorder.record(regarding, "Normal", "R", "A", note);
    }
    expect(recorder.size).toBe(2);
  });
});

describe("EventRecorder names", () => {
  it("gives Events in the same millisecond distinct names, and retries a taken name once", async () => {
    const { api, recorder } = setup();
    api.failNext("create", new KubeError("AlreadyExists", "exists", 409));
    await recorder.record(regarding, "Normal", "A", "X", "one");
    await recorder.record(regarding, "Normal", "B", "X", "two");
    const names = api.callsOf("create").map((c) => (c.body as KubeObject).metadata.name);
    expect(names).toHaveLength(3);
    expect(new Set(names).size).toBe(3);
    for (const name of names) expect(name).toMatch(/^shop\.[0-9a-f]+$/);
    // The first name was refused; the Events live under the second and third.
    const stored = names.map((name) =>
      api.peek({
        apiVersion: "events.k8s.io/v1",
        kind: "Event",
        namespace: "apps",
        name: name ?? "",
      }),
    );
    expect(stored.map((e) => e?.["reason"])).toEqual([undefined, "A", "B"]);
  });
});
