import { describe, expect, it } from "vitest";
import { renderPlan } from "../../../src/cli/format/plan.ts";
import { complete, plan, upgrade } from "./fixtures.ts";

describe("renderPlan", () => {
  it("shows the Git change, Flux objects, workloads, volumes, preflight, diff and verdict", () => {
    const request = upgrade("web-plan-x", {
      spec: { dryRun: true },
      status: {
        plan: plan({
          git: {
            ...plan().git,
            images: [{ name: "ghcr.io/org/web", from: "1.0", to: "2.0" }],
          },
        }),
        preflight: [
          { name: "GitAccess", passed: true, message: "push to main allowed" },
          { name: "Snapshots", passed: true, message: "class fast-snap is ready" },
        ],
        conditions: [complete("True", "DryRunSucceeded", "nothing was changed")],
      },
    });
    expect(renderPlan(request, "web")).toBe(
      [
        "Plan for web (upgraderequest/web-plan-x, dry run)",
        "  Git:       https://git.example/fleet.git branch main",
        "  File:      apps/web/release.yaml at spec.chart.spec.version",
        "  Version:   1.0.0 → 2.0.0",
        "  Image:     ghcr.io/org/web 1.0 → 2.0",
        "  Suspend:   Kustomization flux-system/apps, HelmRelease shop/web",
        "  Workloads: StatefulSet shop/web (1 replica)",
        "  Volume:    shop/data-web-0 (1Gi, class fast, snapshot data-web-0-snap)",
        "Preflight:",
        "  ✓ GitAccess  push to main allowed",
        "  ✓ Snapshots  class fast-snap is ready",
        "Diff:",
        "  -      version: 1.0.0",
        "  +      version: 2.0.0",
        "Result: the dry run succeeded (DryRunSucceeded): nothing was changed",
        "",
      ].join("\n"),
    );
  });

  it("says when the workloads run while the snapshots upload", () => {
    const request = upgrade("web-plan-u", {
      spec: { dryRun: true },
      status: {
        plan: plan({ runWhileUploading: true }),
        conditions: [complete("True", "DryRunSucceeded", "nothing was changed")],
      },
    });
    expect(renderPlan(request, "web")).toContain(
      "  Volume:    shop/data-web-0 (1Gi, class fast, snapshot data-web-0-snap)\n" +
        "  Upload:    the workloads run at the old version while the snapshots upload\n",
    );
    expect(renderPlan(upgrade("web-plan-v", { status: { plan: plan() } }), "web")).not.toContain(
      "Upload:",
    );
  });

  it("shows the failed checks of a plan that failed before recording one", () => {
    const request = upgrade("web-plan-y", {
      status: {
        preflight: [
          { name: "Target", passed: true, message: "2.0.0 is newer than 1.0.0" },
          { name: "GitAccess", passed: false, message: "secret web-git has no password" },
        ],
        conditions: [complete("False", "PlanFailed", "GitAccess: secret web-git has no password")],
      },
    });
    const text = renderPlan(request, "web");
    expect(text).toContain("  (no plan was recorded)");
    expect(text).toContain("  ✗ GitAccess  secret web-git has no password");
    expect(text).toContain("  ✓ Target     2.0.0 is newer than 1.0.0");
    expect(text).not.toContain("Diff:");
    expect(text.trimEnd().split("\n").at(-1)).toBe(
      "Result: the dry run failed (PlanFailed): GitAccess: secret web-git has no password",
    );
  });

  it("says when a plan suspends nothing and has no workloads or volumes", () => {
    const request = upgrade("web-plan-z", {
      status: {
        plan: plan({ flux: [], workloads: [], volumes: [] }),
        conditions: [complete("True", "DryRunSucceeded")],
      },
    });
    const text = renderPlan(request, "web");
    expect(text).toContain("  Suspend:   nothing\n  Workloads: none\n  Volumes:   none\n");
  });
});
