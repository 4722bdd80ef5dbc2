import { describe, expect, it } from "vitest";
import { OwnVersions } from "../../../src/runtime/own-versions.ts";
import type { KubeObject } from "../../../src/kube/client.ts";

const KEY = "shop/up-1";

function req(rv: string, status: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: "cairn.dev/v1alpha1",
    kind: "UpgradeRequest",
    metadata: { namespace: "shop", name: "up-1", resourceVersion: rv },
    status,
  };
}

describe("OwnVersions", () => {
  it("knows nothing after a restart: the first pass reads from the API", () => {
    const v = new OwnVersions();
    expect(v.startFrom(KEY, req("5"))).toBeUndefined();
    expect(v.isOwn(KEY, req("5"))).toBe(false);
  });

  it("starts from the informer's copy once it shows our last write", () => {
    const v = new OwnVersions();
    v.read(KEY, req("5"));
    v.wrote(KEY, req("6", { phase: "Suspending" }));
    const start = v.startFrom(KEY, req("6", { phase: "Suspending" }));
    expect(start?.metadata.resourceVersion).toBe("6");
    expect(start?.["status"]).toEqual({ phase: "Suspending" });
  });

  it("starts from our last answer, never the older copy, while the informer lags", () => {
    const v = new OwnVersions();
    v.read(KEY, req("5", { phase: "Planning" }));
    v.wrote(KEY, req("6", { phase: "Pending" }));
    v.wrote(KEY, req("7", { phase: "Suspending" }));
    for (const lagging of ["5", "6"]) {
      const start = v.startFrom(KEY, req(lagging, { phase: "Planning" }));
      expect(start?.metadata.resourceVersion).toBe("7");
      expect(start?.["status"]).toEqual({ phase: "Suspending" });
    }
  });

  it("hands out copies, so a pass cannot change what it starts from next time", () => {
    const v = new OwnVersions();
    v.wrote(KEY, req("6", { phase: "Pending" }));
    const first = v.startFrom(KEY, req("6"));
    (first?.["status"] as Record<string, unknown>)["phase"] = "changed";
    expect(v.startFrom(KEY, req("6"))?.["status"]).toEqual({ phase: "Pending" });
  });

  it("reads from the API when someone else wrote the request", () => {
    const v = new OwnVersions();
    v.read(KEY, req("5"));
    v.wrote(KEY, req("6"));
    expect(v.startFrom(KEY, req("8"))).toBeUndefined();
    expect(v.startFrom(KEY, undefined)).toBeUndefined();
  });

  it("tells our own versions' watch events from other writers'", () => {
    const v = new OwnVersions();
    v.read(KEY, req("5"));
    v.wrote(KEY, req("6"));
    v.wrote(KEY, req("7"));
    expect(["5", "6", "7"].map((rv) => v.isOwn(KEY, req(rv)))).toEqual([true, true, true]);
    expect(v.isOwn(KEY, req("8"))).toBe(false);
    expect(v.isOwn("shop/other", req("6"))).toBe(false);
  });

  it("drops older versions once the informer caught up, and everything on a fresh read", () => {
    const v = new OwnVersions();
    v.read(KEY, req("5"));
    v.wrote(KEY, req("6"));
    v.startFrom(KEY, req("6"));
    expect(v.isOwn(KEY, req("5"))).toBe(false);
    expect(v.isOwn(KEY, req("6"))).toBe(true);
    v.read(KEY, req("9"));
    expect(v.isOwn(KEY, req("6"))).toBe(false);
    expect(v.startFrom(KEY, req("9"))?.metadata.resourceVersion).toBe("9");
  });

  it("forgets a request that is gone", () => {
    const v = new OwnVersions();
    v.wrote(KEY, req("6"));
    v.wrote(KEY, undefined);
    expect(v.startFrom(KEY, req("6"))).toBeUndefined();
    v.wrote(KEY, req("7"));
    v.forget(KEY);
    expect(v.isOwn(KEY, req("7"))).toBe(false);
  });
});
