import { describe, expect, it } from "vitest";
import {
  decideSuspension,
  formatDuration,
  holdingRequests,
  requestAppKey,
  runningOperations,
  type FluxObject,
  type SuspensionInput,
} from "../../../src/controllers/managedapp/suspension.ts";
import type { KubeObject } from "../../../src/kube/client.ts";

const MIN = 60_000;
const NOW = new Date("2026-11-25T12:00:00.400Z");

function flux(kind: FluxObject["kind"], name: string, suspend?: boolean): FluxObject {
  return {
    kind,
    namespace: "shop",
    name,
    object: {
      apiVersion: "x/v1",
      kind,
      metadata: { name, namespace: "shop" },
      spec: suspend === undefined ? {} : { suspend },
    },
  };
}

function decide(overrides: Partial<SuspensionInput>) {
  return decideSuspension({
    flux: [flux("Kustomization", "apps"), flux("HelmRelease", "demo")],
    operations: [],
    since: undefined,
    now: NOW,
    warnAfterMs: 30 * MIN,
    ...overrides,
  });
}

function request(kind: string, name: string, conditions?: unknown[]): KubeObject {
  return {
    apiVersion: "cairn.dev/v1alpha1",
    kind,
    metadata: { name, namespace: "shop", labels: { "cairn.dev/managed-app": "demo" } },
    ...(conditions ? { status: { conditions } } : {}),
  };
}

describe("decideSuspension", () => {
  it("reports nothing suspended and clears the recorded time", () => {
    const d = decide({ since: "2026-11-25T11:00:00Z" });
    expect(d).toEqual({
      since: undefined,
      condition: {
        status: "False",
        reason: "NotSuspended",
        message: "Kustomization shop/apps and HelmRelease shop/demo are not suspended",
      },
      requeueAfterMs: undefined,
    });
  });

  it("starts the clock when it first sees a suspend, and asks to look again when the limit passes", () => {
    const d = decide({ flux: [flux("Kustomization", "apps"), flux("HelmRelease", "demo", true)] });
    expect(d.since).toBe("2026-11-25T12:00:00Z");
    expect(d.condition).toMatchObject({ status: "True", reason: "Suspended" });
    expect(d.condition.message).toBe(
      "HelmRelease shop/demo is suspended since 2026-11-25T12:00:00Z and no Cairn operation runs; a warning follows after 30m",
    );
    // Measured from the whole second stored in status: 400 ms have passed already.
    expect(d.requeueAfterMs).toBe(30 * MIN - 400);
  });

  it("keeps the first time seen and warns once it lies longer ago than the limit", () => {
    const suspended = [flux("Kustomization", "apps", true), flux("HelmRelease", "demo", true)];
    const early = decide({ flux: suspended, since: "2026-11-25T11:40:00Z" });
    expect(early.since).toBe("2026-11-25T11:40:00Z");
    expect(early.condition.reason).toBe("Suspended");
    expect(early.requeueAfterMs).toBe(10 * MIN - 400);
    const late = decide({ flux: suspended, since: "2026-11-25T11:30:00Z" });
    expect(late).toEqual({
      since: "2026-11-25T11:30:00Z",
      condition: {
        status: "True",
        reason: "SuspendedTooLong",
        message:
          "Kustomization shop/apps and HelmRelease shop/demo are suspended since 2026-11-25T11:30:00Z (longer than 30m) and no Cairn operation runs: Flux applies nothing from Git until they are resumed",
      },
      requeueAfterMs: undefined,
    });
  });

  it("does not count time while a Cairn operation runs", () => {
    const d = decide({
      flux: [flux("Kustomization", "apps", true)],
      operations: [{ kind: "UpgradeRequest", name: "to-1-2" }],
      since: "2026-11-25T10:00:00Z",
    });
    expect(d).toEqual({
      since: undefined,
      condition: {
        status: "True",
        reason: "OperationInProgress",
        message:
          "suspended by Cairn while UpgradeRequest to-1-2 runs (its status.suspended lists what)",
      },
      requeueAfterMs: undefined,
    });
  });

  it("keeps the same message while the operation suspends and resumes one object after another", () => {
    const operations = [{ kind: "UpgradeRequest" as const, name: "to-1-2" }];
    const one = decide({ flux: [flux("Kustomization", "apps", true)], operations });
    const both = decide({
      flux: [flux("Kustomization", "apps", true), flux("HelmRelease", "db", true)],
      operations,
    });
    expect(both.condition).toEqual(one.condition);
  });

  it("restarts the clock on a timestamp from the future or one it cannot read", () => {
    const suspended = [flux("Kustomization", "apps", true)];
    expect(decide({ flux: suspended, since: "2027-01-01T00:00:00Z" }).since).toBe(
      "2026-11-25T12:00:00Z",
    );
    expect(decide({ flux: suspended, since: "yesterday" }).since).toBe("2026-11-25T12:00:00Z");
  });

  it("treats a missing Flux object as not suspended", () => {
    const d = decide({
      flux: [{ kind: "HelmRelease", namespace: "shop", name: "gone", object: undefined }],
    });
    expect(d.condition.reason).toBe("NotSuspended");
  });
});

describe("runningOperations", () => {
  it("counts requests without a Complete condition, whatever their other conditions", () => {
    const running = runningOperations([
      request("UpgradeRequest", "b", [{ type: "Suspended", status: "True" }]),
      request("RollbackRequest", "a"),
      request("UpgradeRequest", "done", [{ type: "Complete", status: "False" }]),
      request("ManagedApp", "not-a-request"),
    ]);
    expect(running).toEqual([
      { kind: "RollbackRequest", name: "a" },
      { kind: "UpgradeRequest", name: "b" },
    ]);
  });

  it("finds a request's app by its label, in the request's namespace", () => {
    expect(requestAppKey(request("UpgradeRequest", "x"))).toBe("shop/demo");
    expect(
      requestAppKey({
        apiVersion: "v",
        kind: "UpgradeRequest",
        metadata: { name: "y", namespace: "shop" },
      }),
    ).toBeUndefined();
  });
});

describe("formatDuration", () => {
  it("writes durations the way the flag takes them", () => {
    expect(formatDuration(30 * MIN)).toBe("30m");
    expect(formatDuration(90 * MIN)).toBe("1h30m");
    expect(formatDuration(5_000)).toBe("5s");
    expect(formatDuration(3_605_000)).toBe("1h5s");
  });
});

describe("holdingRequests", () => {
  const holder = { kind: "UpgradeRequest", namespace: "shop", name: "other-up", uid: "u1" };
  function heldParent(suspend: boolean, holders: unknown[]): FluxObject {
    const f = flux("Kustomization", "parent", suspend);
    return {
      ...f,
      object: {
        ...(f.object as KubeObject),
        metadata: {
          name: "parent",
          namespace: "shop",
          annotations: {
            "cairn.dev/suspended-by": JSON.stringify(
              holders.map((h) => ({ upgrade: "other-up", ...(h as object) })),
            ),
          },
        },
      },
    };
  }
  const running = {
    ...request("UpgradeRequest", "other-up"),
    metadata: { name: "other-up", uid: "u1" },
  };
  const finished = {
    ...running,
    status: { conditions: [{ type: "Complete", status: "False" }] },
  };
  const lookup = (found: KubeObject | undefined) => () => found;

  it("is the running request another app's suspend of a shared parent names", () => {
    expect(holdingRequests([heldParent(true, [holder])], lookup(running), "shop")).toEqual([
      { kind: "UpgradeRequest", name: "other-up" },
    ]);
    expect(holdingRequests([heldParent(true, [holder])], lookup(running), "team")).toEqual([
      { kind: "UpgradeRequest", name: "shop/other-up" },
    ]);
  });

  it("is none for a finished or replaced holder, or an object not suspended", () => {
    expect(holdingRequests([heldParent(true, [holder])], lookup(finished), "shop")).toEqual([]);
    expect(holdingRequests([heldParent(true, [holder])], lookup(undefined), "shop")).toEqual([]);
    expect(
      holdingRequests([heldParent(true, [{ ...holder, uid: "u0" }])], lookup(running), "shop"),
    ).toEqual([]);
    expect(holdingRequests([heldParent(false, [holder])], lookup(running), "shop")).toEqual([]);
  });

  it("explains the suspend to decideSuspension: no clock, no warning", () => {
    const parent = heldParent(true, [holder]);
    const d = decide({
      flux: [parent],
      operations: holdingRequests([parent], lookup(running), "shop"),
      since: "2026-11-25T10:00:00Z",
    });
    expect(d.since).toBeUndefined();
    expect(d.condition.reason).toBe("OperationInProgress");
    expect(d.condition.message).toContain("UpgradeRequest other-up");
  });
});
