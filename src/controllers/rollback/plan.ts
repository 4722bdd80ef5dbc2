// A rollback's plan, as pure functions of what Plan gathered: whether the upgrade may be rolled
// back at all (refusals), the PVCs to restore with their full original spec (taken from the
// upgrade's plan, which recorded them before anything changed), the workloads with their
// replicas re-read now, the Git change to undo, and every preflight check, passed or not. A real
// run and a dry run plan the same way.
import {
  Annotation,
  ConditionReason,
  ConditionType,
  Label,
  type FluxObjectRef,
  type Plan,
  type PlanGit,
  type PlannedVolume,
  type PlannedWorkload,
  type PreflightCheck,
  type RecordedReplicas,
  type UpgradeRequest,
} from "../../api/index.ts";
import type { KubeObject } from "../../kube/client.ts";
import { getCondition, isTrue, type Conditions } from "../../runtime/conditions.ts";
import { quantityBytes, snapshotState } from "../request/snapshots.ts";
import { specReplicas } from "../request/workloads.ts";
import { suspendedObjectVerdict } from "../request/suspended-check.ts";

/** Complete reasons of a refused rollback; each names what is wrong with the request itself. */
export const RefusalReason = {
  UpgradeNotFound: "UpgradeNotFound",
  RollbackOfRollback: "RollbackOfRollback",
  UpgradeIsDryRun: "UpgradeIsDryRun",
  UpgradeNotCommitted: "UpgradeNotCommitted",
  AlreadyRolledBack: "AlreadyRolledBack",
  RollbackInProgress: "RollbackInProgress",
  LaterUpgrade: "LaterUpgrade",
} as const;
export type RefusalReason = (typeof RefusalReason)[keyof typeof RefusalReason];

export interface Refusal {
  readonly reason: RefusalReason;
  readonly message: string;
}

const conditionsOf = (status: { conditions?: unknown } | undefined): Conditions =>
  status?.conditions as Conditions;

/** Whether an upgrade got past its commit: Committed=True and the SHA in status. */
export function committedSha(upgrade: UpgradeRequest): string | undefined {
  return endedAfterCommit(upgrade.status) ? upgrade.status?.commit?.sha : undefined;
}

/**
 * Whether an upgrade's commit is on the branch: Committed=True, or a compensation that found a
 * push which landed after Commit gave up (Committed stays False then, the commit is recorded and
 * the upgrade ends with one of the after-commit reasons).
 */
export function endedAfterCommit(
  status: { conditions?: unknown; commit?: unknown } | undefined,
): boolean {
  const conditions = conditionsOf(status);
  if (isTrue(conditions, ConditionType.Committed)) return status?.commit !== undefined;
  const reason = getCondition(conditions, ConditionType.Complete)?.reason;
  return (
    status?.commit !== undefined &&
    (reason === ConditionReason.RollbackTriggered || reason === ConditionReason.RollbackRequired)
  );
}

/** Pure: why this UpgradeRequest cannot be rolled back, if it cannot. */
export function upgradeRefusal(upgrade: UpgradeRequest): Refusal | undefined {
  const name = upgrade.metadata.name;
  if (upgrade.spec.dryRun)
    return {
      reason: RefusalReason.UpgradeIsDryRun,
      message: `UpgradeRequest ${name} is a dry run; it changed nothing, so there is nothing to roll back`,
    };
  if (committedSha(upgrade) !== undefined && upgrade.status?.plan) return undefined;
  const complete = getCondition(conditionsOf(upgrade.status), ConditionType.Complete);
  return {
    reason: RefusalReason.UpgradeNotCommitted,
    message:
      complete && complete.status !== "Unknown"
        ? `UpgradeRequest ${name} ended ${complete.reason} before its commit: Git and the volumes are as they were, so there is nothing to roll back`
        : `UpgradeRequest ${name} has not committed yet (phase ${upgrade.status?.phase ?? "Pending"}); a rollback needs its commit`,
  };
}

/** Another RollbackRequest of the same upgrade, as the plan sees it. */
export interface SiblingRollback {
  readonly name: string;
  readonly uid: string;
  readonly creationTimestamp: string | undefined;
  readonly dryRun: boolean;
  readonly planned: boolean;
  /** Complete's status, when set. */
  readonly complete: "True" | "False" | undefined;
  readonly reason: string | undefined;
  readonly suspended: readonly FluxObjectRef[];
  readonly replicas: readonly RecordedReplicas[];
}

export function siblingOf(obj: KubeObject): SiblingRollback {
  const status = (obj["status"] ?? {}) as {
    conditions?: unknown;
    suspended?: FluxObjectRef[];
    replicas?: RecordedReplicas[];
  };
  const conditions = conditionsOf(status);
  const complete = getCondition(conditions, ConditionType.Complete);
  return {
    name: obj.metadata.name ?? "",
    uid: obj.metadata.uid ?? "",
    creationTimestamp: obj.metadata["creationTimestamp"] as string | undefined,
    dryRun: (obj["spec"] as { dryRun?: boolean } | undefined)?.dryRun === true,
    planned: isTrue(conditions, ConditionType.Planned),
    complete: complete && complete.status !== "Unknown" ? complete.status : undefined,
    reason: complete?.reason,
    suspended: status.suspended ?? [],
    replicas: status.replicas ?? [],
  };
}

const olderThan = (
  a: { creationTimestamp: string | undefined; name: string },
  b: { creationTimestamp: string | undefined; name: string },
) =>
  (a.creationTimestamp ?? "") < (b.creationTimestamp ?? "") ||
  ((a.creationTimestamp ?? "") === (b.creationTimestamp ?? "") && a.name < b.name);

/**
 * Pure: one rollback per upgrade. Refused when another real rollback of it succeeded (the data
 * would be restored a second time, losing what ran since), or is in flight and either planned or
 * older (two rollbacks created together: the older goes on, whichever plans first). A sibling
 * that failed does not block a new attempt: after a refusal or a compensated failure nothing was
 * changed, and after RestoreIncomplete a new rollback is how the restore is finished.
 */
export function siblingRefusal(
  me: { name: string; uid: string; creationTimestamp: string | undefined },
  upgrade: string,
  siblings: readonly SiblingRollback[],
): Refusal | undefined {
  for (const s of siblings) {
    if (s.uid === me.uid || s.dryRun) continue;
    if (s.complete === "True")
      return {
        reason: RefusalReason.AlreadyRolledBack,
        message: `UpgradeRequest ${upgrade} was already rolled back by RollbackRequest ${s.name}; restoring its snapshots again would throw away everything written since`,
      };
    if (s.complete === undefined && (s.planned || olderThan(s, me)))
      return {
        reason: RefusalReason.RollbackInProgress,
        message: `RollbackRequest ${s.name} is already rolling back UpgradeRequest ${upgrade}`,
      };
  }
  return undefined;
}

/** Rollbacks that ended RestoreIncomplete: their freeze is taken over by the new attempt. */
export function frozenSiblings(siblings: readonly SiblingRollback[]): SiblingRollback[] {
  return siblings.filter(
    (s) => !s.dryRun && s.complete === "False" && s.reason === "RestoreIncomplete",
  );
}

/** Another UpgradeRequest of the same app, as the plan sees it. */
export interface OtherUpgrade {
  readonly name: string;
  readonly app: string;
  readonly creationTimestamp: string | undefined;
  readonly committed: boolean;
  readonly dryRun: boolean;
  /** A rollback of it succeeded. */
  readonly rolledBack: boolean;
}

/**
 * Pure: rolling back an upgrade that a later committed upgrade of the same app builds on would
 * restore data from before both and revert only the first change; roll back the later one first.
 */
export function laterUpgradeRefusal(
  upgrade: UpgradeRequest,
  others: readonly OtherUpgrade[],
): Refusal | undefined {
  const me = {
    name: upgrade.metadata.name,
    creationTimestamp: upgrade.metadata.creationTimestamp,
  };
  const later = others.filter(
    (o) =>
      o.name !== me.name &&
      o.app === upgrade.spec.managedAppRef.name &&
      o.committed &&
      !o.dryRun &&
      !o.rolledBack &&
      olderThan(me, o),
  );
  if (later.length === 0) return undefined;
  return {
    reason: RefusalReason.LaterUpgrade,
    message: `UpgradeRequest ${later.map((o) => o.name).join(", ")} of the same app committed after ${me.name} and was not rolled back; roll back the latest upgrade first`,
  };
}

/**
 * Pure: what is wrong with a snapshot a PVC is to be restored from; undefined when usable.
 * `upgradeUid` undefined skips the ownership check (done at plan time; the name is the upgrade's).
 */
export function snapshotProblem(
  obj: KubeObject | undefined,
  volume: PlannedVolume,
  upgradeUid: string | undefined,
): string | undefined {
  const what = `VolumeSnapshot ${volume.namespace}/${volume.snapshot ?? ""} of PVC ${volume.name}`;
  if (!obj) return `${what} not found: the PVC's data cannot be restored`;
  if (upgradeUid !== undefined && obj.metadata.labels?.[Label.RequestUid] !== upgradeUid)
    return `${what} was not taken by the upgrade (its ${Label.RequestUid} label is ${obj.metadata.labels?.[Label.RequestUid] ?? "missing"})`;
  const source = (obj["spec"] as { source?: { persistentVolumeClaimName?: string } } | undefined)
    ?.source?.persistentVolumeClaimName;
  if (source !== volume.name) return `${what} was taken from PVC ${source ?? "?"}`;
  const state = snapshotState(obj);
  if (state.state === "error") return `${what} failed: ${state.message}`;
  if (state.state === "pending") return `${what} is not ready to use: ${state.message}`;
  return undefined;
}

const GIT_DECLARED_MARKS = {
  annotations: ["meta.helm.sh/release-name"],
  labels: ["kustomize.toolkit.fluxcd.io/name", "helm.toolkit.fluxcd.io/name"],
};

/** Whether Flux or Helm applies the PVC from Git (so its size is Git's, not ours to grow). */
export function declaredInGit(volume: PlannedVolume): boolean {
  return (
    GIT_DECLARED_MARKS.annotations.some((a) => volume.annotations?.[a] !== undefined) ||
    GIT_DECLARED_MARKS.labels.some((l) => volume.labels?.[l] !== undefined)
  );
}

export type RestoreSize =
  | { readonly ok: true; readonly size: string | undefined; readonly note?: string }
  | { readonly ok: false; readonly message: string };

/**
 * Pure: the size to request for a restored PVC, max(original request, restoreSize): a claim
 * smaller than its snapshot's restoreSize cannot be provisioned from it. A PVC declared in Git
 * keeps exactly Git's size: bigger would make Flux's next apply try to
 * shrink it, which the API refuses.
 */
export function restoreSizeFor(
  volume: PlannedVolume,
  restoreSize: string | undefined,
): RestoreSize {
  const requested = quantityBytes(volume.size);
  const needed = quantityBytes(restoreSize);
  if (needed === undefined || requested === undefined || needed <= requested)
    return { ok: true, size: volume.size ?? restoreSize };
  const what = `PVC ${volume.namespace}/${volume.name}`;
  if (declaredInGit(volume))
    return {
      ok: false,
      message: `${what} requests ${volume.size ?? "?"} but its snapshot needs ${restoreSize ?? "?"}; the PVC is declared in Git, so a larger restored claim would make Flux's next apply try to shrink it`,
    };
  return {
    ok: true,
    size: restoreSize,
    note: `${what} is restored at ${restoreSize ?? "?"} (its snapshot's restoreSize) instead of ${volume.size ?? "?"}`,
  };
}

const sameRef = (a: { kind: string; namespace: string; name: string }, b: typeof a) =>
  a.kind === b.kind && a.namespace === b.namespace && a.name === b.name;

/**
 * Pure: the replicas a workload goes back to. Read now, since the app may have been scaled since
 * the upgrade; a workload at 0 was stopped by a failed attempt (a frozen rollback, or the
 * upgrade's own compensation), so its recorded count wins, then the upgrade's plan.
 */
export function replicasNow(
  w: PlannedWorkload,
  live: KubeObject | undefined,
  recorded: readonly (readonly RecordedReplicas[])[],
): number {
  const now = specReplicas(live);
  if (now !== undefined && now > 0) return now;
  for (const list of recorded) {
    const r = list.find((x) => sameRef(x, w));
    if (r && r.original > 0) return r.original;
  }
  return w.replicas;
}

/** Pure: the union of the upgrade's workloads and any that mount a planned PVC today. */
export function mergeWorkloads(
  fromUpgrade: readonly PlannedWorkload[],
  foundNow: readonly PlannedWorkload[],
): PlannedWorkload[] {
  const out = [...fromUpgrade];
  for (const w of foundNow) if (!out.some((o) => sameRef(o, w))) out.push(w);
  return out;
}

/** Pure: the rollback's Git facts, seen from the rollback (from: the upgrade's target). */
export function rollbackGit(
  upgrade: PlanGit,
  commit: string,
  at: { branch: string; url: string; head: string; diff: string | undefined },
): PlanGit {
  return {
    branch: at.branch,
    path: upgrade.path,
    versionPath: upgrade.versionPath,
    from: upgrade.to,
    to: upgrade.from,
    ...(upgrade.ociChartTag ? { ociChartTag: true } : {}),
    baseCommit: at.head,
    ...(at.diff !== undefined ? { diff: at.diff.slice(0, 4096) } : {}),
    url: at.url,
    ...(upgrade.images
      ? { images: upgrade.images.map((i) => ({ name: i.name, from: i.to, to: i.from })) }
      : {}),
    revertOf: commit,
  };
}

/** Pure: the upgrade's Git facts back from the rollback's, for commitChange(direction "back"). */
export function upgradeGitOf(git: PlanGit): PlanGit {
  return {
    branch: git.branch,
    path: git.path,
    versionPath: git.versionPath,
    from: git.to,
    to: git.from,
    ...(git.ociChartTag ? { ociChartTag: true } : {}),
    ...(git.url !== undefined ? { url: git.url } : {}),
    ...(git.images
      ? { images: git.images.map((i) => ({ name: i.name, from: i.to, to: i.from })) }
      : {}),
  };
}

/** What trying the revert on the branch head (without pushing) showed. */
export type RevertProbe =
  /** `git revert` of the upgrade's commit applies cleanly. */
  | { readonly kind: "revert"; readonly diff: string }
  /** The previous value will be written as a new commit instead; `why` says why. */
  | { readonly kind: "fallback"; readonly why: string; readonly diff: string }
  /** The branch already holds the previous version: nothing to commit. */
  | { readonly kind: "adopt"; readonly head: string }
  /** The file holds neither version: Git changed since the upgrade. */
  | { readonly kind: "changed"; readonly value: string | undefined }
  | { readonly kind: "missing-file" };

export type GitProbe =
  | {
      readonly ok: true;
      readonly url: string;
      readonly branch: string;
      readonly head: string;
      readonly canPush: { readonly ok: boolean; readonly message: string };
      readonly revert: RevertProbe;
    }
  | { readonly ok: false; readonly message: string };

export interface RollbackPlanInput {
  readonly upgrade: UpgradeRequest;
  readonly commit: string;
  /**
   * The upgrade's Flux objects, as they are now; `adopted` ones the failed upgrade handed over or
   * a frozen rollback suspended; `holders` the Cairn requests its cairn.dev/suspended-by lists
   * besides those, and whether each is still live.
   */
  readonly flux: readonly {
    readonly ref: FluxObjectRef;
    readonly object: KubeObject | undefined;
    readonly adopted: boolean;
    readonly holders?: readonly { readonly name: string; readonly live: boolean }[];
  }[];
  /** Each planned volume with a snapshot, and that snapshot fresh from the API. */
  readonly snapshots: readonly {
    readonly volume: PlannedVolume;
    readonly object: KubeObject | undefined;
  }[];
  /** PVs of the planned PVCs kept after their claim goes (reclaim policy Retain). */
  readonly retainedVolumes: readonly string[];
  readonly workloads: readonly PlannedWorkload[];
  /** Pods that mount a planned PVC and that no planned workload controls. */
  readonly unstoppable: readonly string[];
  readonly git: GitProbe;
}

export interface RollbackPlanOutput {
  readonly plan: Plan | undefined;
  readonly checks: PreflightCheck[];
}

function check(name: string, passed: boolean, message: string): PreflightCheck {
  return {
    name,
    passed,
    message: message.length > 1024 ? `${message.slice(0, 1021)}...` : message,
  };
}

/** Pure: the plan and every check, from what the Plan step gathered. */
export function composeRollbackPlan(input: RollbackPlanInput): RollbackPlanOutput {
  const { upgrade } = input;
  const upgradePlan = upgrade.status?.plan;
  const checks: PreflightCheck[] = [];
  if (!upgradePlan) return { plan: undefined, checks: [check("Upgrade", false, "no plan")] };
  checks.push(
    check(
      "Upgrade",
      true,
      `UpgradeRequest ${upgrade.metadata.name} committed ${input.commit.slice(0, 12)}: ${upgradePlan.git.from} → ${upgradePlan.git.to}`,
    ),
  );

  // Flux: every object exists, and nobody but Cairn suspended it (a Kustomization someone else
  // keeps suspended would never apply the revert, and Cairn resumes only what it suspended).
  for (const f of input.flux) {
    const what = `${f.ref.kind} ${f.ref.namespace}/${f.ref.name}`;
    const suspended = (f.object?.["spec"] as { suspend?: unknown } | undefined)?.suspend === true;
    if (!f.object) checks.push(check("FluxObjects", false, `${what} not found`));
    else if (suspended && !f.adopted) {
      const v = suspendedObjectVerdict(
        what,
        f.holders ?? [],
        "this rollback",
        `resume it before rolling back (Cairn resumes only what it suspended, and a suspended object would never apply the revert)`,
      );
      checks.push(check("FluxObjects", v.passed, v.message));
    } else
      checks.push(
        check(
          "FluxObjects",
          true,
          f.adopted
            ? `${what} stays suspended from the failed upgrade or an earlier rollback that did not finish; this rollback takes it over`
            : `${what} exists`,
        ),
      );
  }

  // Data: a ready snapshot for every PVC, and a size the restored claim can hold it in.
  const gitOnly = input.snapshots.length === 0;
  const volumes: PlannedVolume[] = [];
  if (gitOnly) {
    const why = upgrade.spec.skipSnapshot
      ? "the upgrade skipped snapshots (skipSnapshot)"
      : upgradePlan.volumes.length === 0
        ? "the upgrade had no PVC to snapshot"
        : "the upgrade took no snapshots";
    checks.push(check("Snapshots", true, `Git-only rollback: ${why}; no volume is restored`));
  } else {
    const problems: string[] = [];
    const notes: string[] = [];
    for (const s of input.snapshots) {
      const problem = snapshotProblem(s.object, s.volume, upgrade.metadata.uid ?? "");
      if (problem) {
        problems.push(problem);
        continue;
      }
      const restoreSize = (s.object?.["status"] as { restoreSize?: string } | undefined)
        ?.restoreSize;
      const size = restoreSizeFor(s.volume, restoreSize);
      if (!size.ok) {
        checks.push(check("RestoreSize", false, size.message));
        continue;
      }
      if (size.note) notes.push(size.note);
      volumes.push(size.size !== undefined ? { ...s.volume, size: size.size } : s.volume);
    }
    checks.push(
      check(
        "Snapshots",
        problems.length === 0,
        problems.length === 0
          ? `${input.snapshots.length} snapshot(s) ready: ${input.snapshots.map((s) => s.volume.snapshot ?? "").join(", ")}`
          : problems.join("; "),
      ),
    );
    if (!checks.some((c) => c.name === "RestoreSize"))
      checks.push(
        check(
          "RestoreSize",
          true,
          notes.length > 0
            ? notes.join("; ")
            : "every restored PVC requests its original size, which holds its snapshot",
        ),
      );
  }
  for (const pv of input.retainedVolumes)
    checks.push(
      check(
        "ReclaimPolicy",
        true,
        `${pv} has reclaim policy Retain: it stays Released after the restore; delete it when its data is no longer needed`,
      ),
    );
  if (!gitOnly) {
    checks.push(
      check(
        "Workloads",
        input.unstoppable.length === 0,
        input.unstoppable.length === 0
          ? `${input.workloads.length} workload(s) to stop: ${input.workloads.map((w) => `${w.kind} ${w.namespace}/${w.name}=${w.replicas}`).join(", ")}`
          : `${input.unstoppable.join("; ")}: Cairn cannot stop these writers, and a PVC in use cannot be replaced`,
      ),
    );
  }

  // Git: reachable, writable, and the revert (or its fallback) possible.
  let git: PlanGit | undefined;
  if (!input.git.ok) {
    checks.push(check("GitReachable", false, input.git.message));
  } else {
    const g = input.git;
    const prev = upgradePlan.git.from;
    checks.push(
      check("GitReachable", true, `${g.url} branch ${g.branch} at ${g.head.slice(0, 12)}`),
    );
    checks.push(check("GitPush", g.canPush.ok, g.canPush.message));
    const file = `${upgradePlan.git.path} ${upgradePlan.git.versionPath}`;
    let diff: string | undefined;
    switch (g.revert.kind) {
      case "revert":
        diff = g.revert.diff;
        checks.push(
          check(
            "Revert",
            true,
            `git revert of ${input.commit.slice(0, 12)} applies cleanly onto ${g.head.slice(0, 12)}`,
          ),
        );
        break;
      case "fallback":
        diff = g.revert.diff;
        checks.push(
          check(
            "Revert",
            true,
            `${g.revert.why}; Cairn writes ${prev} at ${file} as a new commit instead`,
          ),
        );
        break;
      case "adopt":
        checks.push(
          check(
            "Revert",
            true,
            `${file} already holds ${prev} at ${g.revert.head.slice(0, 12)}; nothing to commit`,
          ),
        );
        break;
      case "changed":
        checks.push(
          check(
            "Revert",
            false,
            `${file} holds ${g.revert.value ?? "no readable value"}, neither ${upgradePlan.git.to} (the upgrade's) nor ${prev}: Git changed since the upgrade; put it back to ${upgradePlan.git.to} or roll back by hand`,
          ),
        );
        break;
      case "missing-file":
        checks.push(
          check("Revert", false, `${upgradePlan.git.path} does not exist on branch ${g.branch}`),
        );
        break;
    }
    git = rollbackGit(upgradePlan.git, input.commit, {
      branch: g.branch,
      url: g.url,
      head: g.head,
      diff,
    });
  }

  const plan: Plan | undefined = git
    ? {
        git,
        flux: input.flux.map((f) => f.ref),
        volumes,
        // Without volumes to restore nothing needs to stop: the app keeps running on its data.
        workloads: gitOnly ? [] : [...input.workloads],
        ...(upgradePlan.source ? { source: upgradePlan.source } : {}),
        ...(gitOnly ? { gitOnly: true } : {}),
      }
    : undefined;
  return { plan, checks };
}

/** Whether a live PVC is the one this rollback recreated from the snapshot. */
export function isRestoredBy(pvc: KubeObject, volume: PlannedVolume, requestUid: string): boolean {
  const spec = (pvc["spec"] ?? {}) as {
    dataSource?: { kind?: string; name?: string };
    dataSourceRef?: { kind?: string; name?: string };
  };
  const source = spec.dataSourceRef ?? spec.dataSource;
  return (
    pvc.metadata.annotations?.[Annotation.RestoredFrom] === volume.snapshot &&
    pvc.metadata.labels?.[Label.RequestUid] === requestUid &&
    source?.kind === "VolumeSnapshot" &&
    source.name === volume.snapshot
  );
}

/**
 * Pure: the PVC to create in place of the original, so that its workload mounts it unchanged:
 * same name, class, access
 * modes, volume mode, labels and annotations (the binding ones were dropped when the upgrade
 * planned it), no volumeName, the planned size, and the snapshot as its data source.
 */
export function restoredClaim(volume: PlannedVolume, requestUid: string): KubeObject {
  const snapshot = volume.snapshot ?? "";
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: {
      name: volume.name,
      namespace: volume.namespace,
      labels: { ...volume.labels, [Label.RequestUid]: requestUid },
      annotations: { ...volume.annotations, [Annotation.RestoredFrom]: snapshot },
    },
    spec: {
      ...(volume.accessModes ? { accessModes: volume.accessModes } : {}),
      ...(volume.storageClassName !== undefined
        ? { storageClassName: volume.storageClassName }
        : {}),
      ...(volume.volumeMode ? { volumeMode: volume.volumeMode } : {}),
      ...(volume.size ? { resources: { requests: { storage: volume.size } } } : {}),
      dataSource: { apiGroup: "snapshot.storage.k8s.io", kind: "VolumeSnapshot", name: snapshot },
    },
  };
}
