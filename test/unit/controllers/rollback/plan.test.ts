import { describe, expect, it } from "vitest";
import { UpgradeRequest, type PlannedVolume } from "../../../../src/api/index.ts";
import {
  composeRollbackPlan,
  isRestoredBy,
  laterUpgradeRefusal,
  mergeWorkloads,
  replicasNow,
  restoredClaim,
  restoreSizeFor,
  rollbackGit,
  siblingOf,
  siblingRefusal,
  snapshotProblem,
  upgradeGitOf,
  upgradeRefusal,
  type GitProbe,
  type OtherUpgrade,
  type RollbackPlanInput,
  type SiblingRollback,
} from "../../../../src/controllers/rollback/plan.ts";
import type { KubeObject } from "../../../../src/kube/client.ts";

const SHA = "a".repeat(40);
const HEAD = "b".repeat(40);
const UPGRADE_UID = "u-1111";

const condition = (type: string, status = "True", reason = "Succeeded") => ({
  type,
  status,
  reason,
  message: "",
  lastTransitionTime: "2026-01-01T00:00:00Z",
});

const uploads: PlannedVolume = {
  namespace: "shop",
  name: "demo-uploads",
  accessModes: ["ReadWriteOnce"],
  storageClassName: "fast",
  volumeMode: "Filesystem",
  size: "1Gi",
  snapshot: "demo-uploads-u1111",
  labels: { "app.kubernetes.io/managed-by": "Helm" },
  annotations: { "meta.helm.sh/release-name": "demo" },
};
const dbData: PlannedVolume = {
  namespace: "shop",
  name: "data-demo-db-0",
  accessModes: ["ReadWriteOnce"],
  storageClassName: "fast",
  size: "1Gi",
  snapshot: "data-demo-db-0-u1111",
  labels: { "app.kubernetes.io/instance": "demo" },
};

function upgrade(opts: {
  conditions?: ReturnType<typeof condition>[];
  dryRun?: boolean;
  skipSnapshot?: boolean;
  volumes?: PlannedVolume[];
  name?: string;
  created?: string;
}): UpgradeRequest {
  return UpgradeRequest.parse({
    apiVersion: "cairn.dev/v1alpha1",
    kind: "UpgradeRequest",
    metadata: {
      name: opts.name ?? "to-110",
      namespace: "shop",
      uid: UPGRADE_UID,
      creationTimestamp: opts.created ?? "2026-01-01T10:00:00Z",
    },
    spec: {
      managedAppRef: { name: "demo" },
      targetVersion: { chart: "1.1.0" },
      dryRun: opts.dryRun ?? false,
      skipSnapshot: opts.skipSnapshot ?? false,
    },
    status: {
      conditions: opts.conditions ?? [
        condition("Committed"),
        condition("Complete", "True", "Succeeded"),
      ],
      commit: { sha: SHA, adopted: false },
      plan: {
        git: {
          branch: "main",
          path: "apps/demo/release.yaml",
          versionPath: "spec.chart.spec.version",
          from: "1.0.0",
          to: "1.1.0",
        },
        flux: [
          { kind: "Kustomization", namespace: "shop", name: "apps" },
          { kind: "HelmRelease", namespace: "shop", name: "demo" },
        ],
        volumes: opts.volumes ?? [dbData, uploads],
        workloads: [
          { kind: "StatefulSet", namespace: "shop", name: "demo-db", replicas: 1 },
          { kind: "Deployment", namespace: "shop", name: "demo-web", replicas: 1 },
        ],
        source: { namespace: "shop", name: "config" },
      },
      replicas: [{ kind: "StatefulSet", namespace: "shop", name: "demo-db", original: 3 }],
    },
  });
}

function snapshot(
  v: PlannedVolume,
  status: Record<string, unknown>,
  uid = UPGRADE_UID,
): KubeObject {
  return {
    apiVersion: "snapshot.storage.k8s.io/v1",
    kind: "VolumeSnapshot",
    metadata: {
      name: v.snapshot,
      namespace: v.namespace,
      labels: { "cairn.dev/request-uid": uid },
    },
    spec: { source: { persistentVolumeClaimName: v.name } },
    status,
  };
}

const ready = (v: PlannedVolume) => snapshot(v, { readyToUse: true, restoreSize: "1Gi" });

const fluxObject = (kind: string, name: string, suspend = false): KubeObject => ({
  apiVersion: "x",
  kind,
  metadata: { name, namespace: "shop" },
  spec: { suspend },
});

const gitOk = (revert: Extract<GitProbe, { ok: true }>["revert"]): GitProbe => ({
  ok: true,
  url: "https://git.example/config.git",
  branch: "main",
  head: HEAD,
  canPush: { ok: true, message: "the credentials may push to main" },
  revert,
});

function input(overrides: Partial<RollbackPlanInput> = {}): RollbackPlanInput {
  const u = overrides.upgrade ?? upgrade({});
  return {
    upgrade: u,
    commit: SHA,
    flux: [
      {
        ref: { kind: "Kustomization", namespace: "shop", name: "apps" },
        object: fluxObject("Kustomization", "apps"),
        adopted: false,
      },
      {
        ref: { kind: "HelmRelease", namespace: "shop", name: "demo" },
        object: fluxObject("HelmRelease", "demo"),
        adopted: false,
      },
    ],
    snapshots: [
      { volume: dbData, object: ready(dbData) },
      { volume: uploads, object: ready(uploads) },
    ],
    retainedVolumes: [],
    workloads: u.status?.plan?.workloads ?? [],
    unstoppable: [],
    git: gitOk({ kind: "revert", diff: '-  version: "1.1.0"\n+  version: "1.0.0"' }),
    ...overrides,
  };
}

describe("which upgrades can be rolled back", () => {
  it("accepts an upgrade that committed, whether it then succeeded or failed", () => {
    expect(upgradeRefusal(upgrade({}))).toBeUndefined();
    expect(
      upgradeRefusal(
        upgrade({
          conditions: [
            condition("Committed"),
            condition("Healthy", "False", "DeadlineExceeded"),
            condition("Complete", "False", "RollbackRequired"),
          ],
        }),
      ),
    ).toBeUndefined();
  });

  it("refuses a dry run and an upgrade that ended before its commit, saying why", () => {
    expect(upgradeRefusal(upgrade({ dryRun: true }))?.reason).toBe("UpgradeIsDryRun");
    const early = upgradeRefusal(
      upgrade({ conditions: [condition("Complete", "False", "PlanFailed")] }),
    );
    expect(early).toEqual({
      reason: "UpgradeNotCommitted",
      message:
        "UpgradeRequest to-110 ended PlanFailed before its commit: Git and the volumes are as they were, so there is nothing to roll back",
    });
  });
});

describe("one rollback per upgrade", () => {
  const me = { name: "b", uid: "me", creationTimestamp: "2026-01-02T00:00:00Z" };
  const sibling = (s: Partial<SiblingRollback>): SiblingRollback => ({
    name: "a",
    uid: "other",
    creationTimestamp: "2026-01-01T00:00:00Z",
    dryRun: false,
    planned: false,
    complete: undefined,
    reason: undefined,
    suspended: [],
    replicas: [],
    ...s,
  });

  it("refuses when another rollback of the upgrade succeeded", () => {
    expect(siblingRefusal(me, "to-110", [sibling({ complete: "True" })])).toMatchObject({
      reason: "AlreadyRolledBack",
    });
  });

  it("refuses when another is in flight and planned, or older; the older of two new ones goes on", () => {
    expect(siblingRefusal(me, "u", [sibling({ planned: true })])?.reason).toBe(
      "RollbackInProgress",
    );
    expect(siblingRefusal(me, "u", [sibling({})])?.reason).toBe("RollbackInProgress");
    const younger = sibling({ name: "c", creationTimestamp: "2026-01-03T00:00:00Z" });
    expect(siblingRefusal(me, "u", [younger])).toBeUndefined();
    // Same second: the name breaks the tie, the same way for both.
    const twin = sibling({ name: "c", creationTimestamp: me.creationTimestamp });
    expect(siblingRefusal(me, "u", [twin])).toBeUndefined();
    expect(
      siblingRefusal({ ...me, name: "c", uid: "c" }, "u", [
        sibling({ name: "b", uid: "me", creationTimestamp: me.creationTimestamp }),
      ])?.reason,
    ).toBe("RollbackInProgress");
  });

  it("lets a new attempt follow a failed one, and ignores dry runs and itself", () => {
    expect(
      siblingRefusal(me, "u", [
        sibling({ complete: "False", reason: "PlanFailed" }),
        sibling({ complete: "False", reason: "RestoreIncomplete", planned: true }),
        sibling({ dryRun: true, complete: "True" }),
        sibling({ uid: "me", planned: true }),
      ]),
    ).toBeUndefined();
  });

  it("reads a sibling from the API object", () => {
    const s = siblingOf({
      apiVersion: "cairn.dev/v1alpha1",
      kind: "RollbackRequest",
      metadata: { name: "x", uid: "1", creationTimestamp: "2026-01-01T00:00:00Z" },
      spec: { upgradeRequestRef: { name: "u" }, dryRun: false },
      status: {
        conditions: [condition("Planned"), condition("Complete", "False", "RestoreIncomplete")],
        suspended: [{ kind: "Kustomization", namespace: "shop", name: "apps" }],
      },
    });
    expect(s).toMatchObject({
      planned: true,
      complete: "False",
      reason: "RestoreIncomplete",
      suspended: [{ kind: "Kustomization", namespace: "shop", name: "apps" }],
    });
  });

  it("refuses an upgrade that a later committed upgrade of the app builds on, unless that was rolled back", () => {
    const later = (o: Partial<OtherUpgrade>): OtherUpgrade => ({
      name: "to-200",
      app: "demo",
      creationTimestamp: "2026-01-02T00:00:00Z",
      committed: true,
      dryRun: false,
      rolledBack: false,
      ...o,
    });
    expect(laterUpgradeRefusal(upgrade({}), [later({})])?.reason).toBe("LaterUpgrade");
    expect(laterUpgradeRefusal(upgrade({}), [later({ rolledBack: true })])).toBeUndefined();
    expect(laterUpgradeRefusal(upgrade({}), [later({ committed: false })])).toBeUndefined();
    expect(laterUpgradeRefusal(upgrade({}), [later({ app: "other" })])).toBeUndefined();
    expect(
      laterUpgradeRefusal(upgrade({}), [later({ creationTimestamp: "2025-12-31T00:00:00Z" })]),
    ).toBeUndefined();
  });
});

describe("snapshots and sizes", () => {
  it("accepts only the upgrade's own ready snapshot of the same PVC", () => {
    expect(snapshotProblem(ready(uploads), uploads, UPGRADE_UID)).toBeUndefined();
    expect(snapshotProblem(undefined, uploads, UPGRADE_UID)).toContain("not found");
    expect(
      snapshotProblem(snapshot(uploads, { readyToUse: true }, "someone"), uploads, UPGRADE_UID),
    ).toContain("was not taken by the upgrade");
    expect(snapshotProblem(ready(uploads), { ...uploads, name: "other" }, UPGRADE_UID)).toContain(
      "was taken from PVC demo-uploads",
    );
    expect(snapshotProblem(snapshot(uploads, { readyToUse: false }), uploads, UPGRADE_UID)).toBe(
      "VolumeSnapshot shop/demo-uploads-u1111 of PVC demo-uploads is not ready to use: being cut (readyToUse is false)",
    );
    expect(
      snapshotProblem(
        snapshot(uploads, { readyToUse: false, error: { message: "quota" } }),
        uploads,
        UPGRADE_UID,
      ),
    ).toContain("failed: quota");
    // Right before a delete the name alone is checked (ownership was checked at plan time).
    expect(
      snapshotProblem(snapshot(uploads, { readyToUse: true }, "someone"), uploads, undefined),
    ).toBeUndefined();
  });

  it("requests max(original, restoreSize), but never grows a PVC Git declares", () => {
    expect(restoreSizeFor(dbData, "512Mi")).toEqual({ ok: true, size: "1Gi" });
    expect(restoreSizeFor(dbData, "2Gi")).toMatchObject({ ok: true, size: "2Gi" });
    const grown = restoreSizeFor(uploads, "2Gi");
    expect(grown.ok).toBe(false);
    expect(grown.ok ? "" : grown.message).toContain("declared in Git");
    expect(restoreSizeFor(dbData, undefined)).toEqual({ ok: true, size: "1Gi" });
  });
});

describe("workloads", () => {
  const sts = { kind: "StatefulSet" as const, namespace: "shop", name: "demo-db", replicas: 1 };
  const live = (replicas: number): KubeObject => ({
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: "demo-db", namespace: "shop" },
    spec: { replicas },
  });

  it("goes back to the replicas running now, or to a recorded count when stopped", () => {
    expect(replicasNow(sts, live(2), [])).toBe(2);
    const frozen = [
      { kind: "StatefulSet" as const, namespace: "shop", name: "demo-db", original: 4 },
    ];
    const upgraded = [
      { kind: "StatefulSet" as const, namespace: "shop", name: "demo-db", original: 3 },
    ];
    expect(replicasNow(sts, live(0), [frozen, upgraded])).toBe(4);
    expect(replicasNow(sts, live(0), [[], upgraded])).toBe(3);
    expect(replicasNow(sts, live(0), [[], []])).toBe(1);
    expect(replicasNow(sts, undefined, [[], []])).toBe(1);
  });

  it("adds workloads that mount a planned PVC today to the upgrade's", () => {
    const extra = { kind: "Deployment" as const, namespace: "shop", name: "backup", replicas: 1 };
    expect(mergeWorkloads([sts], [{ ...sts, replicas: 5 }, extra])).toEqual([sts, extra]);
  });
});

describe("the Git side", () => {
  it("turns the upgrade's change around and back without loss", () => {
    const images = {
      branch: "main",
      path: "apps/web/deploy.yaml",
      versionPath: "images",
      from: "1.0",
      to: "1.1",
      images: [{ name: "ghcr.io/acme/web", from: "1.0,1.0-debug", to: "1.1" }],
    };
    const back = rollbackGit(images, SHA, { branch: "main", url: "u", head: HEAD, diff: "d" });
    expect(back).toMatchObject({
      from: "1.1",
      to: "1.0",
      revertOf: SHA,
      baseCommit: HEAD,
      images: [{ name: "ghcr.io/acme/web", from: "1.1", to: "1.0,1.0-debug" }],
    });
    expect(upgradeGitOf(back)).toEqual({ ...images, url: "u" });
  });

  it("keeps an OCIRepository tag the chart version AwaitFlux waits for, both ways", () => {
    const tag = {
      branch: "main",
      path: "apps/web/release.yaml",
      versionPath: "spec.ref.tag",
      from: "1.0.0",
      to: "1.1.0",
      ociChartTag: true,
    };
    const back = rollbackGit(tag, SHA, { branch: "main", url: "u", head: HEAD, diff: "d" });
    expect(back).toMatchObject({ from: "1.1.0", to: "1.0.0", ociChartTag: true });
    expect(upgradeGitOf(back)).toEqual({ ...tag, url: "u" });
  });
});

describe("composing the plan", () => {
  it("plans every PVC from the upgrade's recorded spec, the workloads, and the revert", () => {
    const { plan, checks } = composeRollbackPlan(input());
    expect(checks.filter((c) => !c.passed)).toEqual([]);
    expect(checks.map((c) => c.name)).toEqual([
      "Upgrade",
      "FluxObjects",
      "FluxObjects",
      "Snapshots",
      "RestoreSize",
      "Workloads",
      "GitReachable",
      "GitPush",
      "Revert",
    ]);
    expect(plan?.git).toMatchObject({
      from: "1.1.0",
      to: "1.0.0",
      revertOf: SHA,
      baseCommit: HEAD,
    });
    expect(plan?.volumes).toEqual([dbData, uploads]);
    expect(plan?.workloads.map((w) => w.name)).toEqual(["demo-db", "demo-web"]);
    expect(plan?.source).toEqual({ namespace: "shop", name: "config" });
    expect(plan?.gitOnly).toBeUndefined();
  });

  it("is a Git-only plan, saying so, when the upgrade skipped snapshots", () => {
    const u = upgrade({ skipSnapshot: true, volumes: [{ ...dbData, snapshot: undefined }] });
    const { plan, checks } = composeRollbackPlan(input({ upgrade: u, snapshots: [] }));
    expect(plan?.gitOnly).toBe(true);
    expect(plan?.volumes).toEqual([]);
    expect(plan?.workloads).toEqual([]);
    expect(checks.find((c) => c.name === "Snapshots")?.message).toBe(
      "Git-only rollback: the upgrade skipped snapshots (skipSnapshot); no volume is restored",
    );
    expect(checks.some((c) => c.name === "Workloads")).toBe(false);
  });

  it("lists every problem: missing and failing snapshots, a writer it cannot stop, Flux suspended by someone else, Git changed", () => {
    const { checks } = composeRollbackPlan(
      input({
        flux: [
          {
            ref: { kind: "Kustomization", namespace: "shop", name: "apps" },
            object: fluxObject("Kustomization", "apps", true),
            adopted: false,
          },
        ],
        snapshots: [
          { volume: dbData, object: undefined },
          { volume: uploads, object: snapshot(uploads, { error: { message: "quota" } }) },
        ],
        unstoppable: ["pod shop/backup (a Job) mounts demo-uploads"],
        git: gitOk({ kind: "changed", value: "1.2.0" }),
      }),
    );
    const failed = checks.filter((c) => !c.passed);
    expect(failed.map((c) => c.name)).toEqual(["FluxObjects", "Snapshots", "Workloads", "Revert"]);
    expect(failed[1]?.message).toContain("data-demo-db-0-u1111 of PVC data-demo-db-0 not found");
    expect(failed[1]?.message).toContain("failed: quota");
    expect(failed[3]?.message).toContain("holds 1.2.0, neither 1.1.0 (the upgrade's) nor 1.0.0");
  });

  it("takes over Flux objects a frozen rollback left suspended", () => {
    const { checks } = composeRollbackPlan(
      input({
        flux: [
          {
            ref: { kind: "Kustomization", namespace: "shop", name: "apps" },
            object: fluxObject("Kustomization", "apps", true),
            adopted: true,
          },
        ],
      }),
    );
    expect(checks.find((c) => c.name === "FluxObjects")).toMatchObject({ passed: true });
  });

  it("reports the fallback and the adoption of a branch that already holds the old version", () => {
    const fallback = composeRollbackPlan(
      input({ git: gitOk({ kind: "fallback", why: "git revert conflicts", diff: "d" }) }),
    );
    expect(fallback.checks.find((c) => c.name === "Revert")?.message).toBe(
      "git revert conflicts; Cairn writes 1.0.0 at apps/demo/release.yaml spec.chart.spec.version as a new commit instead",
    );
    expect(fallback.plan?.git.diff).toBe("d");
    const adopt = composeRollbackPlan(input({ git: gitOk({ kind: "adopt", head: HEAD }) }));
    expect(adopt.checks.find((c) => c.name === "Revert")).toMatchObject({ passed: true });
  });

  it("has no plan when Git cannot be reached", () => {
    const { plan, checks } = composeRollbackPlan(input({ git: { ok: false, message: "404" } }));
    expect(plan).toBeUndefined();
    expect(checks.find((c) => c.name === "GitReachable")).toEqual({
      name: "GitReachable",
      passed: false,
      message: "404",
    });
  });
});

describe("the restored claim", () => {
  it("keeps name, class, modes, size, labels and annotations, and restores from the snapshot", () => {
    const claim = restoredClaim(uploads, "r-2222");
    expect(claim).toEqual({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: {
        name: "demo-uploads",
        namespace: "shop",
        labels: { "app.kubernetes.io/managed-by": "Helm", "cairn.dev/request-uid": "r-2222" },
        annotations: {
          "meta.helm.sh/release-name": "demo",
          "cairn.dev/restored-from": "demo-uploads-u1111",
        },
      },
      spec: {
        accessModes: ["ReadWriteOnce"],
        storageClassName: "fast",
        volumeMode: "Filesystem",
        resources: { requests: { storage: "1Gi" } },
        dataSource: {
          apiGroup: "snapshot.storage.k8s.io",
          kind: "VolumeSnapshot",
          name: "demo-uploads-u1111",
        },
      },
    });
    expect((claim["spec"] as Record<string, unknown>)["volumeName"]).toBeUndefined();
  });

  it("is recognised as ours once the API mirrored dataSource into dataSourceRef", () => {
    const created = restoredClaim(uploads, "r-2222");
    const spec = created["spec"] as { dataSource: unknown };
    const live = { ...created, spec: { ...spec, dataSourceRef: spec.dataSource } };
    expect(isRestoredBy(live, uploads, "r-2222")).toBe(true);
    expect(isRestoredBy(live, uploads, "another-rollback")).toBe(false);
    expect(isRestoredBy(live, { ...uploads, snapshot: "older" }, "r-2222")).toBe(false);
  });
});

describe("an upgrade whose push landed after Commit gave up", () => {
  it("can be rolled back once its compensation recorded the commit and ended after-commit", () => {
    const landed = upgrade({
      conditions: [
        condition("Committed", "False", "DeadlineExceeded"),
        condition("Complete", "False", "RollbackTriggered"),
      ],
    });
    expect(upgradeRefusal(landed)).toBeUndefined();
    const untouched = upgrade({
      conditions: [
        condition("Committed", "False", "DeadlineExceeded"),
        condition("Complete", "False", "DeadlineExceeded"),
      ],
    });
    expect(upgradeRefusal(untouched)?.reason).toBe("UpgradeNotCommitted");
  });
});
