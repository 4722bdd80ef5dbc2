// Following one object through a scripted watch client: resumes where the last stream ended,
// restarts from a fresh read when the version is gone, and gives up when the signal aborts.
import { describe, expect, it } from "vitest";
import { CliError } from "../../../src/cli/errors.ts";
import { follow, WaitTimeout, type WatchClient } from "../../../src/cli/follow.ts";
import type { KubeObject, ObjectRef, WatchEvent, WatchOptions } from "../../../src/kube/client.ts";
import { KubeError } from "../../../src/kube/errors.ts";

const version = (rv: string, phase?: string): KubeObject => ({
  apiVersion: "cairn.dev/v1alpha1",
  kind: "UpgradeRequest",
  metadata: { name: "web-upgrade-x", namespace: "shop", resourceVersion: rv },
  ...(phase ? { status: { phase } } : {}),
});

/** A stream's events, then how it ends: cleanly (the default), with an error, or never. */
interface Stream {
  readonly events?: readonly WatchEvent[];
  readonly then?: "end" | "hang" | KubeError;
}

/** Each watch call plays the next scripted stream; get answers from a queue. */
function scripted(streams: Stream[], reads: KubeObject[] = []) {
  const watches: WatchOptions[] = [];
  const gets: ObjectRef[] = [];
  const client: WatchClient = {
    async *watch(_apiVersion: string, _kind: string, opts: WatchOptions = {}) {
      watches.push(opts);
      const stream = streams.shift() ?? { then: "hang" };
      for (const event of stream.events ?? []) yield event;
      if (stream.then === "hang") {
        await new Promise<void>((resolve) =>
          opts.signal?.addEventListener("abort", () => resolve()),
        );
      } else if (stream.then instanceof KubeError) {
        throw stream.then;
      }
    },
    get(ref: ObjectRef) {
      gets.push(ref);
      const next = reads.shift();
      return next ? Promise.resolve(next) : Promise.reject(new Error("unexpected get"));
    },
  };
  return { client, watches, gets };
}

const modified = (obj: KubeObject): WatchEvent => ({ type: "MODIFIED", object: obj });
const phaseOf = (obj: KubeObject) => (obj["status"] as { phase?: string } | undefined)?.phase;
const until = (phase: string) => (obj: KubeObject) => phaseOf(obj) === phase;

describe("follow", () => {
  it("returns at once when the first version is already done", async () => {
    const { client, watches } = scripted([]);
    const last = await follow(
      client,
      version("1", "Succeeded"),
      until("Succeeded"),
      new AbortController().signal,
    );
    expect(last.metadata.resourceVersion).toBe("1");
    expect(watches).toEqual([]);
  });

  it("watches the one object and resumes from the last version or bookmark after a stream ends", async () => {
    const seen: string[] = [];
    const { client, watches } = scripted([
      {
        events: [modified(version("2", "Suspending")), { type: "BOOKMARK", resourceVersion: "5" }],
      },
      { events: [modified(version("7", "Succeeded"))] },
    ]);
    const last = await follow(
      client,
      version("1"),
      (obj) => {
        seen.push(phaseOf(obj) ?? "-");
        return phaseOf(obj) === "Succeeded";
      },
      new AbortController().signal,
    );
    expect(last.metadata.resourceVersion).toBe("7");
    expect(seen).toEqual(["-", "Suspending", "Succeeded"]);
    expect(watches.map((w) => [w.namespace, w.fieldSelector, w.resourceVersion])).toEqual([
      ["shop", "metadata.name=web-upgrade-x", "1"],
      ["shop", "metadata.name=web-upgrade-x", "5"],
    ]);
  });

  it("reads the object again when its version is gone, and goes on from there", async () => {
    const { client, watches, gets } = scripted(
      [
        { then: new KubeError("Gone", "too old", 410) },
        { events: [modified(version("12", "Succeeded"))] },
      ],
      [version("10", "Committing")],
    );
    const last = await follow(
      client,
      version("1"),
      until("Succeeded"),
      new AbortController().signal,
    );
    expect(phaseOf(last)).toBe("Succeeded");
    expect(gets).toEqual([
      {
        apiVersion: "cairn.dev/v1alpha1",
        kind: "UpgradeRequest",
        name: "web-upgrade-x",
        namespace: "shop",
      },
    ]);
    expect(watches[1]?.resourceVersion).toBe("10");
  });

  it("reconnects after a dropped connection, from a fresh read", async () => {
    const { client, watches, gets } = scripted(
      [
        {
          events: [modified(version("3", "Committing"))],
          then: new KubeError("Transient", "reset"),
        },
        { events: [modified(version("9", "Succeeded"))] },
      ],
      [version("8", "Resuming")],
    );
    const seen: string[] = [];
    await follow(
      client,
      version("1"),
      (obj) => {
        seen.push(phaseOf(obj) ?? "-");
        return phaseOf(obj) === "Succeeded";
      },
      new AbortController().signal,
    );
    expect(seen).toEqual(["-", "Committing", "Resuming", "Succeeded"]);
    expect(gets).toHaveLength(1);
    expect(watches.map((w) => w.resourceVersion)).toEqual(["1", "8"]);
  });

  it("fails on errors it cannot wait out, and when the object is deleted", async () => {
    const forbidden = scripted([{ then: new KubeError("Forbidden", "cannot watch", 403) }]);
    await expect(
      follow(forbidden.client, version("1"), until("Succeeded"), new AbortController().signal),
    ).rejects.toThrow("cannot watch");
    const deleted = scripted([{ events: [{ type: "DELETED", object: version("3") }] }]);
    await expect(
      follow(deleted.client, version("1"), until("Succeeded"), new AbortController().signal),
    ).rejects.toThrow(
      new CliError("upgraderequest web-upgrade-x was deleted while waiting for it"),
    );
  });

  it("gives up with the last version seen when the signal aborts", async () => {
    const { client } = scripted([{ events: [modified(version("2", "Committing"))], then: "hang" }]);
    const err: unknown = await follow(
      client,
      version("1"),
      until("Succeeded"),
      AbortSignal.timeout(50),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WaitTimeout);
    expect(phaseOf((err as WaitTimeout).last)).toBe("Committing");
  });
});
