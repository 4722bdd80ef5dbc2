import { describe, expect, it } from "vitest";
import {
  incompleteRestore,
  missingVolumesMessage,
  resumeOrder,
  runningRequest,
} from "../../../src/cli/unfreeze.ts";
import { app, complete, plan, rollback, upgrade } from "./fixtures.ts";

describe("resumeOrder", () => {
  it("resumes the HelmRelease before the Kustomization, namespaces defaulting to the app's", () => {
    const web = app("web", { helmReleaseRef: { name: "web" } });
    expect(resumeOrder(web)).toEqual([
      {
        apiVersion: "helm.toolkit.fluxcd.io/v2",
        kind: "HelmRelease",
        namespace: "shop",
        name: "web",
      },
      {
        apiVersion: "kustomize.toolkit.fluxcd.io/v1",
        kind: "Kustomization",
        namespace: "flux-system",
        name: "apps",
      },
    ]);
  });

  it("resumes the suspendRef instead of the Kustomization, once when it is the HelmRelease", () => {
    const viaRef = app("web", { suspendRef: { kind: "Kustomization", name: "web-only" } });
    expect(resumeOrder(viaRef).map((t) => `${t.kind} ${t.namespace}/${t.name}`)).toEqual([
      "Kustomization shop/web-only",
    ]);
    const sameRelease = app("web", {
      helmReleaseRef: { name: "web" },
      suspendRef: { kind: "HelmRelease", name: "web" },
    });
    expect(resumeOrder(sameRelease).map((t) => `${t.kind} ${t.namespace}/${t.name}`)).toEqual([
      "HelmRelease shop/web",
    ]);
  });
});

describe("runningRequest", () => {
  it("finds the oldest request without a Complete condition", () => {
    const finished = upgrade("a", {
      created: "2026-01-01T09:00:00Z",
      status: { conditions: [complete("True", "Succeeded")] },
    });
    const first = upgrade("b", {
      created: "2026-01-01T10:00:00Z",
      status: { phase: "Committing", startedAt: "2026-01-01T10:00:00Z" },
    });
    const queued = upgrade("c", { created: "2026-01-01T11:00:00Z" });
    expect(runningRequest([queued, first, finished])?.metadata.name).toBe("b");
    expect(runningRequest([finished])).toBeUndefined();
  });
});

describe("incompleteRestore", () => {
  const failedRestore = rollback("rb-1", {
    upgrade: "u",
    created: "2026-01-01T10:00:00Z",
    status: {
      plan: plan(),
      conditions: [complete("False", "RestoreIncomplete", "data-web-0 not restored")],
    },
  });

  it("returns the planned volumes of the latest rollback when it ended RestoreIncomplete", () => {
    const found = incompleteRestore([
      upgrade("u", { created: "2026-01-01T09:00:00Z" }),
      failedRestore,
    ]);
    expect(found?.rollback.metadata.name).toBe("rb-1");
    expect(found?.volumes.map((v) => v.name)).toEqual(["data-web-0"]);
  });

  it("ignores it once a later rollback succeeded, and ignores dry runs", () => {
    const later = rollback("rb-2", {
      upgrade: "u",
      created: "2026-01-01T11:00:00Z",
      status: { conditions: [complete("True", "Succeeded")] },
    });
    expect(incompleteRestore([failedRestore, later])).toBeUndefined();
    const laterDryRun = rollback("rb-3", {
      upgrade: "u",
      created: "2026-01-01T12:00:00Z",
      spec: { dryRun: true },
    });
    expect(incompleteRestore([failedRestore, laterDryRun])?.rollback.metadata.name).toBe("rb-1");
  });

  it("names the missing PVCs and the risk", () => {
    expect(missingVolumesMessage("web", "rb-1", [{ namespace: "shop", name: "data-web-0" }])).toBe(
      'refusing to unfreeze "web": rollbackrequest "rb-1" ended RestoreIncomplete and PVC shop/data-web-0 ' +
        "is missing; resuming Flux now would recreate it empty. Restore the data first, or pass --force to resume anyway",
    );
  });
});
