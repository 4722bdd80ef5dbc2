import { describe, expect, it } from "vitest";
import { planDifferences } from "../../../../src/controllers/upgrade/plan-differences.ts";
import { NS, planWith } from "../../../fakes/requests.ts";

const impact = {
  added: 0,
  changed: 1,
  removed: 0,
  unchanged: 3,
  objects: [
    { change: "Changed" as const, group: "apps", kind: "StatefulSet", namespace: NS, name: "db" },
  ],
  detailConfigMap: "up-1-impact",
};
const base = planWith({
  volumes: [{ namespace: NS, name: "data-db-0", size: "1Gi" }],
  workloads: [{ kind: "StatefulSet", namespace: NS, name: "db", replicas: 1 }],
  impact,
});

describe("planDifferences", () => {
  it("finds none between a plan and itself, whatever commit it was made on", () => {
    expect(planDifferences(base, structuredClone(base))).toEqual([]);
    expect(
      planDifferences(
        { ...base, git: { ...base.git, baseCommit: "a".repeat(40) } },
        { ...base, git: { ...base.git, baseCommit: "b".repeat(40) } },
      ),
    ).toEqual([]);
  });

  it("names the Git fields, images and lists that differ", () => {
    const now = {
      ...base,
      git: {
        ...base.git,
        to: "1.2.0",
        images: [{ name: "ghcr.io/acme/db", from: "1", to: "2" }],
      },
      flux: [...base.flux].reverse(),
      volumes: [{ namespace: NS, name: "data-db-0", size: "2Gi" }],
      workloads: [],
      volumeSnapshotClassName: "fast",
    };
    expect(planDifferences(base, now)).toEqual([
      'git.to: "1.1.0" → "1.2.0"',
      "git.images: ghcr.io/acme/db added",
      "flux: reordered",
      `volumes: ${NS}/data-db-0 changed`,
      `workloads: StatefulSet ${NS}/db removed`,
      'volumeSnapshotClassName: (none) → "fast"',
    ]);
  });

  it("compares the impact by its counts, then by the objects it lists", () => {
    const counts = { ...base, impact: { ...impact, changed: 2, unchanged: 2 } };
    expect(planDifferences(base, counts)).toEqual([
      'impact: {"added":0,"changed":1,"removed":0,"unchanged":3} → {"added":0,"changed":2,"removed":0,"unchanged":2}',
    ]);
    const other = {
      ...base,
      impact: {
        ...impact,
        objects: [
          {
            change: "Changed" as const,
            group: "apps",
            kind: "Deployment",
            namespace: NS,
            name: "web",
          },
        ],
      },
    };
    expect(planDifferences(base, other)).toEqual([
      `impact.objects: Changed Deployment ${NS}/web added; Changed StatefulSet ${NS}/db removed`,
    ]);
    expect(planDifferences(base, { ...base, impact: undefined })).toEqual([
      'impact: {"added":0,"changed":1,"removed":0,"unchanged":3} → (none)',
    ]);
  });
});
