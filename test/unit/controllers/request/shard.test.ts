import { describe, expect, it } from "vitest";
import {
  judgeRequest,
  shardLabelPatch,
  type RequestFacts,
} from "../../../../src/controllers/request/shard.ts";
import { matches, parseLabelSelector } from "../../../../src/runtime/label-selector.ts";

const KEY = "sharding.cairn.dev/key";

function selector(text: string) {
  const parsed = parseLabelSelector(text);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.requirements;
}

// The chart's layout: one catch-all instance and keyed shards.
const main = selector(`!${KEY}`);
const shardA = selector(`${KEY}=a`);
const shardB = selector(`${KEY}=b`);
const everyShard = { main, shardA, shardB };

/** What each shard decides about one request, given the app's labels (undefined: no app). */
function verdicts(
  appLabels: Record<string, string> | undefined,
  requestLabels: Record<string, string> | undefined,
) {
  return Object.fromEntries(
    Object.entries(everyShard).map(([name, requirements]) => {
      const facts: RequestFacts = {
        labels: requestLabels,
        appName: "web",
        // Each shard's app informer holds only the apps its selector matches.
        appSelected: appLabels !== undefined && matches(requirements, appLabels),
      };
      const verdict = judgeRequest(requirements, facts);
      // "if-app-missing" ends in the API's answer: mine exactly when there is no app.
      return [name, verdict === "if-app-missing" ? appLabels === undefined : verdict === "mine"];
    }),
  );
}

describe("judgeRequest", () => {
  it("takes every request without a selector", () => {
    expect(judgeRequest(undefined, { labels: {}, appName: "x", appSelected: false })).toBe("mine");
  });

  it("gives a request to exactly the shard that selects its app, whatever the request carries", () => {
    expect(verdicts({ [KEY]: "b" }, undefined)).toEqual({
      main: false,
      shardA: false,
      shardB: true,
    });
    // The catch-all's "!key" matches an unlabelled request, but the app decides.
    expect(verdicts({ [KEY]: "b" }, {})).toEqual({ main: false, shardA: false, shardB: true });
    expect(verdicts({}, {})).toEqual({ main: true, shardA: false, shardB: false });
    // A request still carrying an earlier shard's label (its app moved): the new shard has it.
    expect(verdicts({ [KEY]: "a" }, { [KEY]: "b" })).toEqual({
      main: false,
      shardA: true,
      shardB: false,
    });
    expect(verdicts({}, { [KEY]: "a" })).toEqual({ main: true, shardA: false, shardB: false });
  });

  it("lets the request's own labels pick who answers a request whose app does not exist", () => {
    expect(verdicts(undefined, {})).toEqual({ main: true, shardA: false, shardB: false });
    expect(verdicts(undefined, { [KEY]: "b" })).toEqual({
      main: false,
      shardA: false,
      shardB: true,
    });
  });

  it("asks the API only when the request's labels match and its app is not selected", () => {
    expect(judgeRequest(main, { labels: {}, appName: "web", appSelected: false })).toBe(
      "if-app-missing",
    );
    expect(judgeRequest(shardA, { labels: {}, appName: "web", appSelected: false })).toBe("theirs");
    expect(
      judgeRequest(shardA, { labels: { [KEY]: "a" }, appName: "web", appSelected: true }),
    ).toBe("mine");
  });

  it("takes a matching request that names no app at all (Plan refuses it)", () => {
    expect(
      judgeRequest(shardB, { labels: { [KEY]: "b" }, appName: undefined, appSelected: false }),
    ).toBe("mine");
    expect(judgeRequest(shardB, { labels: {}, appName: undefined, appSelected: false })).toBe(
      "theirs",
    );
  });
});

describe("shardLabelPatch", () => {
  it("copies the app's value of every key the selector names", () => {
    const requirements = selector(`cairn.dev/test=x,${KEY} in (a,b)`);
    expect(
      shardLabelPatch(requirements, { "cairn.dev/test": "x", [KEY]: "a", other: "y" }, {}),
    ).toEqual({ "cairn.dev/test": "x", [KEY]: "a" });
  });

  it("removes a key the app no longer has and overwrites a stale value", () => {
    expect(shardLabelPatch(main, {}, { [KEY]: "b", keep: "me" })).toEqual({ [KEY]: null });
    expect(shardLabelPatch(shardA, { [KEY]: "a" }, { [KEY]: "b" })).toEqual({ [KEY]: "a" });
  });

  it("writes nothing when the labels agree or there is no selector", () => {
    expect(shardLabelPatch(shardB, { [KEY]: "b" }, { [KEY]: "b", x: "1" })).toBeUndefined();
    expect(shardLabelPatch(main, { x: "1" }, {})).toBeUndefined();
    expect(shardLabelPatch(undefined, { [KEY]: "b" }, {})).toBeUndefined();
  });

  it("makes the request's labels alone pick its owner once its app is gone", () => {
    for (const [appLabels, owner] of [
      [{ [KEY]: "a" }, "shardA"],
      [{ [KEY]: "b" }, "shardB"],
      [{}, "main"],
    ] as const) {
      const requirements = everyShard[owner];
      const labels = Object.fromEntries(
        Object.entries(shardLabelPatch(requirements, appLabels, {}) ?? {}).filter(
          (e): e is [string, string] => e[1] !== null,
        ),
      );
      const owners = Object.entries(verdicts(undefined, labels))
        .filter(([, mine]) => mine)
        .map(([name]) => name);
      expect(owners).toEqual([owner]);
    }
  });
});
