// RollbackRequest end to end on the full test bed: the real controller (src/main.ts) under the
// RBAC it ships, a Flux-managed Helm app whose two PVCs hold known bytes, real upgrades through
// the UpgradeRequest controller, real snapshots and restores in the CSI simulator, real commits
// and reverts on the Git server.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { KubeClient, KubeObject, ObjectRef } from "../../src/kube/client.ts";
import { STORAGE_CLASS_WFFC } from "../../testbed/src/cluster-objects.ts";
import { DEMO_RELEASE_PATH, demoFluxObjects, seedDemoRepo } from "../../testbed/src/demo-app.ts";
import {
  commitFiles,
  fixtureGitEnv,
  readFileAt,
  repoPath,
  revParse,
} from "../../testbed/src/git-fixtures.ts";
import { gitWriteSecret, TestController } from "../support/controller.ts";
import {
  createTestNamespace,
  deleteNamespace,
  eventually,
  isPodReady,
  testClient,
} from "../support/kube.ts";
import { conditions, getOrUndefined, isReadyNow, statusOf } from "../support/objects.ts";
import { readVolumeFile, writeVolumeFile } from "../support/volumes.ts";

const API = "cairn.dev/v1alpha1";
const SNAP = "snapshot.storage.k8s.io/v1";
const PVCS = ["data-demo-db-0", "demo-uploads"] as const;
const DATA_FILE = "rows.txt";
const run = promisify(execFile);

interface RequestStatus {
  phase: string;
  plan: {
    git: { from: string; to: string; diff?: string; revertOf?: string };
    volumes: { name: string; snapshot?: string; size?: string }[];
    workloads: { kind: string; name: string; replicas: number }[];
    gitOnly?: boolean;
    runWhileUploading?: boolean;
  };
  preflight: { name: string; passed: boolean; message: string }[];
  commit: { sha: string; adopted: boolean };
  snapshots: { name: string; pvcName: string }[];
  suspended: { kind: string; name: string }[];
  history: { name: string; reason: string; startedAt: string }[];
  rollbackRef: { name: string };
  uploadWindow?: { openedAt: string; closedAt?: string };
}

/** One Flux-managed demo app in a namespace of its own, with its Git repository. */
interface TestApp {
  readonly ns: string;
  readonly repo: string;
}

describe("RollbackRequest", () => {
  const admin: KubeClient = testClient();
  const git = inject("git");
  let ctl: TestController;
  let app: TestApp = { ns: "", repo: "" };

  const ref = (a: TestApp, kind: string, name: string, apiVersion = API): ObjectRef => ({
    apiVersion,
    kind,
    namespace: a.ns,
    name,
  });
  const appRef = (a: TestApp) => ref(a, "ManagedApp", "demo");
  const hrRef = (a: TestApp) => ref(a, "HelmRelease", "demo", "helm.toolkit.fluxcd.io/v2");
  const ksRef = (a: TestApp) => ref(a, "Kustomization", "apps", "kustomize.toolkit.fluxcd.io/v1");
  const pvcRef = (a: TestApp, name: string) => ref(a, "PersistentVolumeClaim", name, "v1");

  async function createApp(
    prefix: string,
    spec: Record<string, unknown>,
    values?: Record<string, string>,
  ): Promise<TestApp> {
    if (!git) throw new Error("the e2e tier needs the full test bed");
    const ns = await createTestNamespace(admin, prefix);
    const repo = `${ns}-config`;
    await seedDemoRepo(git.root, repo, inject("helmRepoUrl"));
    if (values) {
      const release = await readFileAt(git.root, repo, DEMO_RELEASE_PATH);
      let edited = release;
      for (const [k, v] of Object.entries(values))
        edited = edited.replace(new RegExp(`${k}: .*`), `${k}: ${v}`);
      await commitFiles(git.root, repo, { [DEMO_RELEASE_PATH]: edited }, "Test values");
    }
    for (const obj of demoFluxObjects(ns, `${git.url}/${repo}.git`)) await admin.create(obj);
    await admin.create(gitWriteSecret(ns, "git-write", git.username, git.password));
    await admin.create({
      apiVersion: API,
      kind: "ManagedApp",
      // The selector of this file's controller: other files' controllers leave the app alone.
      metadata: { name: "demo", namespace: ns, labels: { ...ctl.labels } },
      spec: {
        gitPath: DEMO_RELEASE_PATH,
        kustomizationRef: { name: "apps" },
        helmReleaseRef: { name: "demo" },
        volumeSnapshots: { enabled: true, retentionPolicy: { maxCount: 0 } },
        git: { secretRef: { name: "git-write" } },
        ...spec,
      },
    });
    const a = { ns, repo };
    await eventually(
      "the ManagedApp Ready",
      async () => (isReadyNow(await admin.get(appRef(a))) ? true : undefined),
      240_000,
    );
    return a;
  }

  async function finished(
    a: TestApp,
    kind: "UpgradeRequest" | "RollbackRequest",
    name: string,
    timeoutMs = 300_000,
  ): Promise<KubeObject> {
    return eventually(
      `${kind} ${name} to finish`,
      async () => {
        if (!ctl.process?.running) throw new Error(`controller exited:\n${ctl.logTail()}`);
        const r = await admin.get(ref(a, kind, name));
        const c = conditions(r).find((x) => x.type === "Complete");
        // The app's lock goes after the final status write, then the finalizer.
        const holding = ((r.metadata["finalizers"] ?? []) as string[]).length > 0;
        return c && c.status !== "Unknown" && !holding ? r : undefined;
      },
      timeoutMs,
    );
  }

  const complete = (r: KubeObject) => conditions(r).find((c) => c.type === "Complete");

  async function upgrade(
    a: TestApp,
    name: string,
    spec: Record<string, unknown>,
  ): Promise<KubeObject> {
    await admin.create({
      apiVersion: API,
      kind: "UpgradeRequest",
      metadata: { name, namespace: a.ns },
      // The tests flip between 1.0.0 and 1.1.0, so every other upgrade is a downgrade.
      spec: { managedAppRef: { name: "demo" }, allowDowngrade: true, ...spec },
    });
    const r = await finished(a, "UpgradeRequest", name);
    expect(complete(r)?.reason, `UpgradeRequest ${name}: ${complete(r)?.message ?? ""}`).toBe(
      "Succeeded",
    );
    return r;
  }

  async function rollback(
    a: TestApp,
    name: string,
    upgradeName: string,
    extra: Record<string, unknown> = {},
    labels: Record<string, string> = {},
  ): Promise<KubeObject> {
    await admin.create({
      apiVersion: API,
      kind: "RollbackRequest",
      metadata: { name, namespace: a.ns, labels },
      spec: { upgradeRequestRef: { name: upgradeName }, ...extra },
    });
    return finished(a, "RollbackRequest", name);
  }

  async function writeData(a: TestApp, content: string): Promise<void> {
    for (const pvc of PVCS)
      await writeVolumeFile(admin, a.ns, pvc, DATA_FILE, `${pvc}: ${content}`);
  }
  async function readData(a: TestApp): Promise<string[]> {
    return Promise.all(PVCS.map((pvc) => readVolumeFile(admin, a.ns, pvc, DATA_FILE)));
  }
  const expected = (content: string) => PVCS.map((pvc) => `${pvc}: ${content}`);

  /** The other of the two good chart versions: later scenarios start wherever earlier ones left. */
  const flip = (version: string | undefined) => (version === "1.0.0" ? "1.1.0" : "1.0.0");
  const chartInGit = async (a: TestApp) =>
    /version: "([^"]+)"/.exec(await readFileAt(git?.root ?? "", a.repo, DEMO_RELEASE_PATH))?.[1];
  const headMessage = async (a: TestApp) =>
    (
      await run(
        "git",
        ["--git-dir", repoPath(git?.root ?? "", a.repo), "log", "-1", "--format=%B", "main"],
        { env: fixtureGitEnv() },
      )
    ).stdout;
  const hrChart = async (a: TestApp) =>
    (statusOf<{ history: { chartVersion: string }[] }>(await admin.get(hrRef(a))).history ?? [])[0]
      ?.chartVersion;
  const fluxSuspended = async (a: TestApp) =>
    Promise.all(
      [ksRef(a), hrRef(a)].map(
        async (r) => ((await admin.get(r))["spec"] as { suspend?: boolean }).suspend === true,
      ),
    );
  const pvcUids = async (a: TestApp) =>
    Promise.all(PVCS.map(async (p) => (await admin.get(pvcRef(a, p))).metadata.uid));
  async function podsReady(a: TestApp): Promise<void> {
    await eventually("every pod of the app Ready", async () => {
      const { items } = await admin.list("v1", "Pod", { namespace: a.ns });
      return items.length === 2 && items.every(isPodReady) ? true : undefined;
    });
  }
  /** The runner takes the finalizer off right after the final status write. */
  async function finalizerGone(a: TestApp, name: string): Promise<void> {
    await eventually("the request's finalizer gone", async () => {
      const r = await admin.get(ref(a, "RollbackRequest", name));
      return ((r.metadata["finalizers"] as string[] | undefined) ?? []).length === 0
        ? true
        : undefined;
    });
  }
  async function lease(a: TestApp): Promise<KubeObject | undefined> {
    const uid = (await admin.get(appRef(a))).metadata.uid ?? "";
    return getOrUndefined(admin, ref(a, "Lease", `cairn-app-${uid}`, "coordination.k8s.io/v1"));
  }

  beforeAll(async () => {
    ctl = await TestController.prepare({
      admin,
      clusterKubeconfig: inject("kubeconfig"),
      suffix: "-rollback",
    });
    await ctl.start();
    app = await createApp("rb", {});
  }, 400_000);

  afterAll(async () => {
    await ctl.cleanup();
    if (app.ns) await deleteNamespace(admin, app.ns);
  });

  it("restores every volume's bytes from the upgrade's snapshots and reverts Git: old chart, pods Ready", async () => {
    await writeData(app, "version 1 rows");
    const up = await upgrade(app, "to-110", { targetVersion: { chart: "1.1.0" } });
    const upgradeCommit = statusOf<RequestStatus>(up).commit?.sha;
    // The new version's migration, as far as the volumes can tell.
    await writeData(app, "version 1.1 migrated rows");
    const before = await pvcUids(app);

    const r = await rollback(app, "to-110-back", "to-110");
    expect(complete(r)?.reason, complete(r)?.message).toBe("Succeeded");
    const s = statusOf<RequestStatus>(r);
    expect(s.history?.map((h) => h.name)).toEqual([
      "Admit",
      "Plan",
      "Suspend",
      "ScaleDown",
      "RestoreVolumes",
      "Revert",
      "Resume",
      "AwaitFlux",
      "ScaleUp",
      "HealthCheck",
      "Finish",
    ]);
    expect(s.plan?.git).toMatchObject({ from: "1.1.0", to: "1.0.0", revertOf: upgradeCommit });
    expect(s.plan?.volumes.map((v) => v.name).sort()).toEqual([...PVCS]);

    expect(await readData(app)).toEqual(expected("version 1 rows"));
    const after = await pvcUids(app);
    after.forEach((uid, i) => expect(uid).not.toBe(before[i]));
    for (const pvc of PVCS) {
      const claim = await admin.get(pvcRef(app, pvc));
      const planned = s.plan?.volumes.find((v) => v.name === pvc);
      expect(claim.metadata.annotations?.["cairn.dev/restored-from"]).toBe(planned?.snapshot);
      expect(claim.metadata.labels?.["cairn.dev/request-uid"]).toBe(r.metadata.uid);
      expect((claim["spec"] as { dataSourceRef?: { name: string } }).dataSourceRef?.name).toBe(
        planned?.snapshot,
      );
      expect(statusOf<{ phase: string }>(claim).phase).toBe("Bound");
    }
    // Helm's ownership marks survive the recreate, so the release still owns its PVC.
    const uploads = await admin.get(pvcRef(app, "demo-uploads"));
    expect(uploads.metadata.annotations?.["meta.helm.sh/release-name"]).toBe("demo");
    expect(uploads.metadata.labels?.["app.kubernetes.io/managed-by"]).toBe("Helm");

    expect(await chartInGit(app)).toBe("1.0.0");
    expect(await revParse(git?.root ?? "", app.repo, "main")).toBe(s.commit?.sha);
    const message = await headMessage(app);
    expect(message).toContain(`This reverts commit ${upgradeCommit ?? "?"}`);
    expect(message).toContain(`Cairn-Request: ${app.ns}/to-110-back ${r.metadata.uid ?? ""}`);
    expect(await hrChart(app)).toBe("1.0.0");
    await podsReady(app);
    expect(await fluxSuspended(app)).toEqual([false, false]);

    const managed = statusOf<{
      currentVersion: string;
      lastUpgrade: { name: string; outcome: string; version: string };
    }>(await admin.get(appRef(app)));
    expect(managed.currentVersion).toBe("1.0.0");
    expect(managed.lastUpgrade).toMatchObject({
      name: "to-110",
      outcome: "RolledBack",
      version: "1.1.0",
    });
    // The upgrade's snapshots are kept until retention says otherwise.
    const snaps = await admin.list(SNAP, "VolumeSnapshot", {
      namespace: app.ns,
      labelSelector: `cairn.dev/request-uid=${up.metadata.uid ?? ""}`,
    });
    expect(snaps.items).toHaveLength(2);
    await finalizerGone(app, "to-110-back");
    expect(await lease(app)).toBeUndefined();
    expect(await ctl.metrics()).toMatch(
      /cairn_operations_total\{kind="RollbackRequest",outcome="Succeeded",class="succeeded"\} 1/,
    );
  });

  it("refuses, before acting, a second rollback of one upgrade, a rollback of a rollback, and one of a dry run", async () => {
    const uids = await pvcUids(app);
    const again = await rollback(app, "to-110-again", "to-110");
    expect(complete(again)?.reason).toBe("AlreadyRolledBack");
    expect(complete(again)?.message).toContain(
      "already rolled back by RollbackRequest to-110-back",
    );
    const ofRollback = await rollback(app, "back-of-back", "to-110-back");
    expect(complete(ofRollback)?.reason).toBe("RollbackOfRollback");
    expect(complete(ofRollback)?.message).toContain("a rollback cannot be rolled back");
    // Nothing names an app here: the request carries this controller's labels instead.
    const missing = await rollback(app, "of-nothing", "no-such-upgrade", {}, { ...ctl.labels });
    expect(complete(missing)?.reason).toBe("UpgradeNotFound");
    await admin.create({
      apiVersion: API,
      kind: "UpgradeRequest",
      metadata: { name: "dry-110", namespace: app.ns },
      spec: { managedAppRef: { name: "demo" }, targetVersion: { chart: "1.1.0" }, dryRun: true },
    });
    expect(complete(await finished(app, "UpgradeRequest", "dry-110"))?.reason).toBe(
      "DryRunSucceeded",
    );
    const ofDry = await rollback(app, "of-dry", "dry-110");
    expect(complete(ofDry)?.reason).toBe("UpgradeIsDryRun");
    for (const r of [again, ofRollback, missing, ofDry])
      expect(conditions(r).some((c) => c.type === "Suspended")).toBe(false);
    expect(await pvcUids(app)).toEqual(uids);
    expect(await fluxSuspended(app)).toEqual([false, false]);
  });

  it("dry-runs the revert, then falls back to writing the old value when a later commit changed the same line", async () => {
    await writeData(app, "version 1 rows, second round");
    await upgrade(app, "again-110", { targetVersion: { chart: "1.1.0" } });
    await writeData(app, "migrated again");
    const head = await revParse(git?.root ?? "", app.repo, "main");

    const clean = await rollback(app, "again-dry-1", "again-110", { dryRun: true });
    expect(complete(clean)?.reason, complete(clean)?.message).toBe("DryRunSucceeded");
    const cleanStatus = statusOf<RequestStatus>(clean);
    expect(cleanStatus.preflight?.map((c) => c.name)).toEqual(
      expect.arrayContaining([
        "Upgrade",
        "FluxObjects",
        "Snapshots",
        "RestoreSize",
        "Workloads",
        "GitReachable",
        "GitPush",
        "Revert",
      ]),
    );
    expect(cleanStatus.preflight?.every((c) => c.passed)).toBe(true);
    expect(cleanStatus.preflight?.find((c) => c.name === "Revert")?.message).toMatch(
      /git revert of [0-9a-f]{12} applies cleanly/,
    );
    expect(cleanStatus.plan?.git.diff).toContain('+      version: "1.0.0"');

    // Someone pins the version on the very line the upgrade changed.
    const release = await readFileAt(git?.root ?? "", app.repo, DEMO_RELEASE_PATH);
    await commitFiles(
      git?.root ?? "",
      app.repo,
      {
        [DEMO_RELEASE_PATH]: release.replace(
          'version: "1.1.0"',
          'version: "1.1.0" # pinned by ops',
        ),
      },
      "Pin the chart",
    );
    const pinned = await revParse(git?.root ?? "", app.repo, "main");
    expect(pinned).not.toBe(head);
    const conflicted = await rollback(app, "again-dry-2", "again-110", { dryRun: true });
    expect(complete(conflicted)?.reason, complete(conflicted)?.message).toBe("DryRunSucceeded");
    const revertCheck = statusOf<RequestStatus>(conflicted).preflight?.find(
      (c) => c.name === "Revert",
    );
    expect(revertCheck?.message).toMatch(
      /conflicts with later commits in apps\/demo\/release.yaml; Cairn writes 1.0.0/,
    );
    expect(statusOf<RequestStatus>(conflicted).plan?.git.diff).toContain(
      '+      version: "1.0.0" # pinned by ops',
    );
    // Dry runs change nothing: no commit, no suspend, no PVC replaced, no finalizer, no lock.
    expect(await revParse(git?.root ?? "", app.repo, "main")).toBe(pinned);
    expect(await fluxSuspended(app)).toEqual([false, false]);
    expect(conflicted.metadata["finalizers"] ?? []).toEqual([]);
    expect(await lease(app)).toBeUndefined();

    const r = await rollback(app, "again-back", "again-110");
    expect(complete(r)?.reason, complete(r)?.message).toBe("Succeeded");
    expect(conditions(r).find((c) => c.type === "Reverted")?.message).toContain(
      "conflicts with later commits",
    );
    const file = await readFileAt(git?.root ?? "", app.repo, DEMO_RELEASE_PATH);
    expect(file).toContain('version: "1.0.0" # pinned by ops');
    const message = await headMessage(app);
    expect(message).toContain("Roll back demo 1.1.0 → 1.0.0");
    expect(message).toContain(`Cairn-Request: ${app.ns}/again-back ${r.metadata.uid ?? ""}`);
    expect(await readData(app)).toEqual(expected("version 1 rows, second round"));
    expect(await hrChart(app)).toBe("1.0.0");
    await podsReady(app);
  });

  it("refuses before deleting anything when a snapshot is missing or not ready", async () => {
    const up = await upgrade(app, "third-110", { targetVersion: { chart: "1.1.0" } });
    const uploads =
      statusOf<RequestStatus>(up).plan?.volumes.find((v) => v.name === "demo-uploads")?.snapshot ??
      "";
    const snapRef = ref(app, "VolumeSnapshot", uploads, SNAP);
    const original = await admin.get(snapRef);
    const uids = await pvcUids(app);
    await admin.delete(snapRef);
    await eventually("the snapshot gone", async () =>
      (await getOrUndefined(admin, snapRef)) ? undefined : true,
    );

    const gone = await rollback(app, "third-back-1", "third-110");
    expect(complete(gone)?.reason).toBe("PlanFailed");
    expect(complete(gone)?.message).toContain(
      `VolumeSnapshot ${app.ns}/${uploads} of PVC demo-uploads not found`,
    );

    // The same name again, cut from the same PVC, but the storage takes an hour to cut it.
    await admin.mergePatch(pvcRef(app, "demo-uploads"), {
      metadata: { annotations: { "csi-sim.cairn.dev/snapshot-delay-seconds": "3600" } },
    });
    await admin.create({
      apiVersion: SNAP,
      kind: "VolumeSnapshot",
      metadata: { name: uploads, namespace: app.ns, labels: original.metadata.labels ?? {} },
      spec: original["spec"] ?? {},
    });
    const slow = await rollback(app, "third-back-2", "third-110");
    expect(complete(slow)?.reason).toBe("PlanFailed");
    expect(complete(slow)?.message).toContain(
      `VolumeSnapshot ${app.ns}/${uploads} of PVC demo-uploads is not ready to use`,
    );
    expect(
      statusOf<RequestStatus>(slow).preflight?.find((c) => c.name === "Snapshots")?.passed,
    ).toBe(false);

    for (const r of [gone, slow])
      expect(conditions(r).some((c) => c.type === "Suspended")).toBe(false);
    expect(await pvcUids(app)).toEqual(uids);
    expect(await fluxSuspended(app)).toEqual([false, false]);
    expect(await lease(app)).toBeUndefined();
    await admin.mergePatch(pvcRef(app, "demo-uploads"), {
      metadata: { annotations: { "csi-sim.cairn.dev/snapshot-delay-seconds": null } },
    });
    await admin.delete(snapRef);
  });

  it("refuses while a pod Cairn cannot stop mounts a PVC to restore", async () => {
    await writeData(app, "before fourth");
    await upgrade(app, "fourth", { targetVersion: { chart: flip(await chartInGit(app)) } });
    await writeData(app, "after fourth");
    const uids = await pvcUids(app);
    await admin.create({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "intruder", namespace: app.ns },
      spec: {
        containers: [
          {
            name: "sh",
            image: "registry.cairn.invalid/sh:1",
            volumeMounts: [{ name: "v", mountPath: "/v" }],
          },
        ],
        volumes: [{ name: "v", persistentVolumeClaim: { claimName: "demo-uploads" } }],
      },
    });
    const podRef = ref(app, "Pod", "intruder", "v1");
    await eventually("the intruder running", async () =>
      isPodReady(await admin.get(podRef)) ? true : undefined,
    );
    const r = await rollback(app, "fourth-back-1", "fourth");
    expect(complete(r)?.reason).toBe("PlanFailed");
    const workloads = statusOf<RequestStatus>(r).preflight?.find((c) => c.name === "Workloads");
    expect(workloads?.passed).toBe(false);
    expect(workloads?.message).toContain("intruder");
    expect(await pvcUids(app)).toEqual(uids);
    expect(await fluxSuspended(app)).toEqual([false, false]);
    await admin.delete(podRef, { gracePeriodSeconds: 0 });
    await eventually("the intruder gone", async () =>
      (await getOrUndefined(admin, podRef)) ? undefined : true,
    );
  });

  it("survives a crash right after every step's side effects: completes, no PVC missing without a ready snapshot, data as snapshotted", async () => {
    // The rollback of "fourth" that the intruder blocked, now with the controller killed after
    // each step in turn (each restart reruns the step whose status write was lost).
    const up = await admin.get(ref(app, "UpgradeRequest", "fourth"));
    const upgradeUid = up.metadata.uid ?? "";
    const violations: string[] = [];
    const monitoring = { on: true };
    const monitor = (async () => {
      while (monitoring.on) {
        const [pvcs, snaps] = await Promise.all([
          admin.list("v1", "PersistentVolumeClaim", { namespace: app.ns }),
          admin.list(SNAP, "VolumeSnapshot", {
            namespace: app.ns,
            labelSelector: `cairn.dev/request-uid=${upgradeUid}`,
          }),
        ]);
        for (const pvc of PVCS) {
          if (pvcs.items.some((p) => p.metadata.name === pvc)) continue;
          const snap = snaps.items.find((x) => x.metadata.labels?.["cairn.dev/pvc"] === pvc);
          if ((snap?.["status"] as { readyToUse?: boolean } | undefined)?.readyToUse !== true)
            violations.push(
              `${pvc} missing while its snapshot ${snap?.metadata.name ?? "(none)"} was not ready`,
            );
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    const before = await pvcUids(app);
    const steps = [
      "Admit",
      "Plan",
      "Suspend",
      "ScaleDown",
      "RestoreVolumes",
      "Revert",
      "Resume",
      "AwaitFlux",
      "ScaleUp",
      "HealthCheck",
      "Finish",
    ];
    await ctl.stop();
    try {
      for (const [i, step] of steps.entries()) {
        await ctl.start([`--failpoint=RollbackRequest/${step}`]);
        if (i === 0)
          await admin.create({
            apiVersion: API,
            kind: "RollbackRequest",
            metadata: { name: "fourth-back", namespace: app.ns },
            spec: { upgradeRequestRef: { name: "fourth" } },
          });
        await ctl.exited();
        expect(ctl.process?.describeExit(), `killed at ${step}`).toBe("was killed by SIGKILL");
        expect(ctl.logTail()).toContain(`"failpoint":"RollbackRequest/${step}"`);
      }
      await ctl.start();
      const r = await finished(app, "RollbackRequest", "fourth-back");
      expect(complete(r)?.reason, complete(r)?.message).toBe("Succeeded");
      expect(statusOf<RequestStatus>(r).history?.map((h) => h.name)).toEqual(steps);
    } finally {
      monitoring.on = false;
      await monitor;
    }
    expect(violations).toEqual([]);
    expect(await readData(app)).toEqual(expected("before fourth"));
    (await pvcUids(app)).forEach((uid, i) => expect(uid).not.toBe(before[i]));
    const previous = statusOf<RequestStatus>(up).plan?.git.from;
    expect(await chartInGit(app)).toBe(previous);
    expect(await hrChart(app)).toBe(previous);
    // One revert, however often Revert ran.
    const { stdout } = await run(
      "git",
      [
        "--git-dir",
        repoPath(git?.root ?? "", app.repo),
        "log",
        "--format=%H",
        "--fixed-strings",
        "--grep=Cairn-Request: " + `${app.ns}/fourth-back `,
        "main",
      ],
      { env: fixtureGitEnv() },
    );
    expect(stdout.trim().split("\n")).toHaveLength(1);
    await podsReady(app);
    expect(await fluxSuspended(app)).toEqual([false, false]);
  });

  it("rolls back Git only when the upgrade skipped snapshots, leaving the volumes alone", async () => {
    const previous = await chartInGit(app);
    await upgrade(app, "no-snapshots", {
      targetVersion: { chart: flip(previous) },
      skipSnapshot: true,
    });
    await writeData(app, "written after the upgrade");
    const uids = await pvcUids(app);
    const r = await rollback(app, "no-snapshots-back", "no-snapshots");
    expect(complete(r)?.reason, complete(r)?.message).toBe("Succeeded");
    const s = statusOf<RequestStatus>(r);
    expect(s.plan?.gitOnly).toBe(true);
    expect(s.plan?.volumes).toEqual([]);
    expect(s.preflight?.find((c) => c.name === "Snapshots")?.message).toContain(
      "Git-only rollback: the upgrade skipped snapshots",
    );
    expect(s.history?.filter((h) => h.reason === "NotNeeded").map((h) => h.name)).toEqual([
      "ScaleDown",
      "RestoreVolumes",
      "ScaleUp",
    ]);
    expect(await pvcUids(app)).toEqual(uids);
    expect(await readData(app)).toEqual(expected("written after the upgrade"));
    expect(await chartInGit(app)).toBe(previous);
    expect(await hrChart(app)).toBe(previous);
    await podsReady(app);
  });

  it("undoes its freeze when deleted in flight before any PVC was deleted: Flux resumed, replicas back", async () => {
    await upgrade(app, "seventh", { targetVersion: { chart: flip(await chartInGit(app)) } });
    const uids = await pvcUids(app);
    await ctl.stop();
    await ctl.start(["--failpoint=RollbackRequest/ScaleDown"]);
    await admin.create({
      apiVersion: API,
      kind: "RollbackRequest",
      metadata: { name: "seventh-back", namespace: app.ns },
      spec: { upgradeRequestRef: { name: "seventh" } },
    });
    await ctl.exited();
    expect(await fluxSuspended(app)).toEqual([true, true]);
    const stsRef = ref(app, "StatefulSet", "demo-db", "apps/v1");
    expect(((await admin.get(stsRef))["spec"] as { replicas: number }).replicas).toBe(0);
    // The finalizer holds the request until the restarted controller has cleaned up.
    await admin.delete(ref(app, "RollbackRequest", "seventh-back"));
    await ctl.start();
    await eventually("the deleted request gone", async () =>
      (await getOrUndefined(admin, ref(app, "RollbackRequest", "seventh-back"))) ? undefined : true,
    );
    expect(await fluxSuspended(app)).toEqual([false, false]);
    expect(((await admin.get(stsRef))["spec"] as { replicas: number }).replicas).toBe(1);
    expect(await pvcUids(app)).toEqual(uids);
    expect(await lease(app)).toBeUndefined();
    await podsReady(app);
  });

  it("rolls back a broken upgrade automatically: data, Git and chart back, pods Ready", async () => {
    await admin.mergePatch(appRef(app), {
      spec: { autoRollback: true, timeouts: { fluxApply: "90s", health: "30s" } },
    });
    const previous = await chartInGit(app);
    await writeData(app, "before the broken upgrade");
    await admin.create({
      apiVersion: API,
      kind: "UpgradeRequest",
      metadata: { name: "broken", namespace: app.ns },
      spec: { managedAppRef: { name: "demo" }, targetVersion: { chart: "2.0.0" } },
    });
    await eventually(
      "the broken upgrade committed",
      async () => {
        const u = await admin.get(ref(app, "UpgradeRequest", "broken"));
        return conditions(u).some((c) => c.type === "Committed" && c.status === "True")
          ? true
          : undefined;
      },
      120_000,
    );
    await writeData(app, "half-migrated by 2.0.0");
    const up = await finished(app, "UpgradeRequest", "broken", 400_000);
    expect(complete(up)?.reason, complete(up)?.message).toBe("RollbackTriggered");
    expect(statusOf<RequestStatus>(up).rollbackRef?.name).toBe("broken-rollback");
    const r = await finished(app, "RollbackRequest", "broken-rollback", 400_000);
    expect(complete(r)?.reason, complete(r)?.message).toBe("Succeeded");
    expect((r["spec"] as { autoTriggered?: boolean }).autoTriggered).toBe(true);
    expect(await readData(app)).toEqual(expected("before the broken upgrade"));
    expect(await chartInGit(app)).toBe(previous);
    expect(await hrChart(app)).toBe(previous);
    await podsReady(app);
    expect(await fluxSuspended(app)).toEqual([false, false]);
    await admin.mergePatch(appRef(app), { spec: { autoRollback: false, timeouts: null } });
  });

  it("after RestoreIncomplete, a new rollback of the same upgrade takes over the freeze and finishes", async () => {
    await writeData(app, "before sixth");
    const up = await upgrade(app, "sixth", {
      targetVersion: { chart: flip(await chartInGit(app)) },
    });
    const { from: previous = "", to: target = "" } = statusOf<RequestStatus>(up).plan?.git ?? {};
    await writeData(app, "after sixth");
    await ctl.stop();
    await ctl.start(["--failpoint=RollbackRequest/RestoreVolumes"]);
    await admin.create({
      apiVersion: API,
      kind: "RollbackRequest",
      metadata: { name: "sixth-back-1", namespace: app.ns },
      spec: { upgradeRequestRef: { name: "sixth" } },
    });
    await ctl.exited();
    // While the controller is down, someone edits the version: the revert cannot tell what to undo.
    const release = await readFileAt(git?.root ?? "", app.repo, DEMO_RELEASE_PATH);
    await commitFiles(
      git?.root ?? "",
      app.repo,
      { [DEMO_RELEASE_PATH]: release.replace(`version: "${target}"`, 'version: "9.9.9"') },
      "Try 9.9.9",
    );
    await ctl.start();
    const first = await finished(app, "RollbackRequest", "sixth-back-1");
    expect(complete(first)?.reason, complete(first)?.message).toBe("RestoreIncomplete");
    expect(complete(first)?.message).toContain("GitChanged");
    for (const pvc of PVCS)
      expect(complete(first)?.message).toContain(`${app.ns}/${pvc} restored from`);
    expect(complete(first)?.message).toContain(
      `Git not reverted (apps/demo/release.yaml still at ${target})`,
    );
    expect(await fluxSuspended(app)).toEqual([true, true]);
    await eventually("the frozen gauge at 1", async () =>
      /cairn_frozen_apps 1/.test(await ctl.metrics()) ? true : undefined,
    );

    // The human puts Git back and asks again: the new rollback resumes what the first suspended.
    await commitFiles(
      git?.root ?? "",
      app.repo,
      { [DEMO_RELEASE_PATH]: release },
      "Back to the upgrade's version",
    );
    const second = await rollback(app, "sixth-back-2", "sixth");
    expect(complete(second)?.reason, complete(second)?.message).toBe("Succeeded");
    expect(
      statusOf<RequestStatus>(second)
        .preflight?.filter((c) => c.name === "FluxObjects")
        .map((c) => c.message),
    ).toEqual([
      `Kustomization ${app.ns}/apps stays suspended from the failed upgrade or an earlier rollback that did not finish; this rollback takes it over`,
      `HelmRelease ${app.ns}/demo stays suspended from the failed upgrade or an earlier rollback that did not finish; this rollback takes it over`,
    ]);
    expect(await readData(app)).toEqual(expected("before sixth"));
    expect(await chartInGit(app)).toBe(previous);
    expect(await hrChart(app)).toBe(previous);
    expect(await fluxSuspended(app)).toEqual([false, false]);
    await podsReady(app);
    await eventually("the frozen gauge back at 0", async () =>
      /cairn_frozen_apps 0/.test(await ctl.metrics()) ? true : undefined,
    );
  });

  it("restores volumes of a WaitForFirstConsumer class, letting the first pod bind them", async () => {
    const wffc = await createApp("rbw", {}, { storageClassName: `"${STORAGE_CLASS_WFFC}"` });
    try {
      const sc = (await admin.get(pvcRef(wffc, "demo-uploads")))["spec"] as {
        storageClassName?: string;
      };
      expect(sc.storageClassName).toBe(STORAGE_CLASS_WFFC);
      await writeData(wffc, "wffc rows");
      await upgrade(wffc, "w-110", { targetVersion: { chart: "1.1.0" } });
      await writeData(wffc, "wffc migrated");
      const r = await rollback(wffc, "w-110-back", "w-110");
      expect(complete(r)?.reason, complete(r)?.message).toBe("Succeeded");
      expect(conditions(r).find((c) => c.type === "VolumesRestored")?.message).toContain(
        "WaitForFirstConsumer",
      );
      for (const pvc of PVCS)
        expect(statusOf<{ phase: string }>(await admin.get(pvcRef(wffc, pvc))).phase).toBe("Bound");
      expect(await readData(wffc)).toEqual(expected("wffc rows"));
      await podsReady(wffc);
    } finally {
      await deleteNamespace(admin, wffc.ns);
    }
  });
  // Last: the app stays broken (a PVC is gone for good), as a human who accepts the loss leaves it.
  it("runWhileUploading: the app runs at the old version while the snapshots upload, stops again for the commit; a rollback restores the data as of the cut", async () => {
    const UPLOAD = "csi-sim.cairn.dev/upload-delay-seconds";
    // The storage cuts at once and uploads for 30 s.
    for (const pvc of PVCS)
      await admin.mergePatch(pvcRef(app, pvc), { metadata: { annotations: { [UPLOAD]: "30" } } });
    await admin.mergePatch(appRef(app), { spec: { volumeSnapshots: { runWhileUploading: true } } });
    await writeData(app, "before the upload");
    await admin.create({
      apiVersion: API,
      kind: "UpgradeRequest",
      metadata: { name: "uploading", namespace: app.ns },
      spec: {
        managedAppRef: { name: "demo" },
        allowDowngrade: true,
        targetVersion: { chart: flip(await chartInGit(app)) },
      },
    });
    const requestRef = ref(app, "UpgradeRequest", "uploading");
    const during = await eventually(
      "the upload window open",
      async () => {
        const r = await admin.get(requestRef);
        return statusOf<RequestStatus>(r).uploadWindow ? r : undefined;
      },
      120_000,
    );
    expect(statusOf<RequestStatus>(during).plan?.runWhileUploading).toBe(true);
    expect(statusOf<RequestStatus>(during).commit).toBeUndefined();
    // Every snapshot is cut and still uploading, and the pods run again at the old version.
    const { items: snaps } = await admin.list(SNAP, "VolumeSnapshot", {
      namespace: app.ns,
      labelSelector: `cairn.dev/request-uid=${during.metadata.uid ?? ""}`,
    });
    expect(snaps).toHaveLength(2);
    for (const snap of snaps) {
      const st = statusOf<{ creationTime?: string; readyToUse?: boolean }>(snap);
      expect(st.creationTime, snap.metadata.name).toBeTruthy();
      expect(st.readyToUse, snap.metadata.name).toBe(false);
    }
    await podsReady(app);
    // The app writes while it runs: these bytes are not in the snapshots.
    await writeData(app, "written during the upload");
    // Its pods are up, yet the ManagedApp is not checked while the request holds it: one
    // Ready=Unknown naming the request, however the app's state moves underneath.
    const held = conditions(await admin.get(appRef(app))).find((c) => c.type === "Ready");
    expect(held?.status).toBe("Unknown");
    expect(held?.reason).toBe("OperationInProgress");
    expect(held?.message).toContain("UpgradeRequest uploading");

    const up = await finished(app, "UpgradeRequest", "uploading");
    expect(complete(up)?.reason, complete(up)?.message).toBe("Succeeded");
    await eventually(
      "the ManagedApp checked again and Ready once the request ended",
      async () => (isReadyNow(await admin.get(appRef(app))) ? true : undefined),
      120_000,
    );
    const s = statusOf<RequestStatus>(up);
    const window = s.uploadWindow;
    expect(window?.closedAt).toBeTruthy();
    // Writers stopped again before the commit: the Snapshot step ended once they were.
    const step = (name: string) => s.history?.find((h) => h.name === name);
    expect(Date.parse(step("Commit")?.startedAt ?? "")).toBeGreaterThanOrEqual(
      Date.parse(window?.closedAt ?? ""),
    );
    expect(Date.parse(window?.closedAt ?? "") - Date.parse(window?.openedAt ?? "")).toBeGreaterThan(
      10_000,
    );
    const snapshotStep = conditions(up).find((c) => c.type === "SnapshotsReady");
    expect(snapshotStep?.message).toMatch(
      /^2\/2 snapshots ready; the workloads ran at the old version for \d+s while they uploaded and are stopped again$/,
    );
    await podsReady(app);

    // What the docs say a rollback loses: the writes made while the app ran during the upload.
    await writeData(app, "after the upgrade");
    const rb = await rollback(app, "uploading-back", "uploading");
    expect(complete(rb)?.reason, complete(rb)?.message).toBe("Succeeded");
    expect(await readData(app)).toEqual(expected("before the upload"));

    for (const pvc of PVCS)
      await admin.mergePatch(pvcRef(app, pvc), { metadata: { annotations: { [UPLOAD]: null } } });
    await admin.mergePatch(appRef(app), {
      spec: { volumeSnapshots: { runWhileUploading: false } },
    });
  });

  it("fails loudly and stays frozen when a snapshot vanishes after the first PVC delete (RestoreIncomplete)", async () => {
    await writeData(app, "before fifth");
    const up = await upgrade(app, "fifth", {
      targetVersion: { chart: flip(await chartInGit(app)) },
    });
    await writeData(app, "after fifth");
    const uploads =
      statusOf<RequestStatus>(up).plan?.volumes.find((v) => v.name === "demo-uploads")?.snapshot ??
      "";
    await ctl.stop();
    await ctl.start(["--failpoint=RollbackRequest/RestoreVolumes"]);
    await admin.create({
      apiVersion: API,
      kind: "RollbackRequest",
      metadata: { name: "fifth-back", namespace: app.ns },
      spec: { upgradeRequestRef: { name: "fifth" } },
    });
    await ctl.exited();
    // The PVCs are being deleted; now the data of one of them is lost for good.
    await admin.delete(ref(app, "VolumeSnapshot", uploads, SNAP));
    await eventually("the snapshot gone", async () =>
      (await getOrUndefined(admin, ref(app, "VolumeSnapshot", uploads, SNAP))) ? undefined : true,
    );
    await ctl.start();
    const r = await finished(app, "RollbackRequest", "fifth-back");
    const c = complete(r);
    expect(c?.reason, c?.message).toBe("RestoreIncomplete");
    expect(c?.message).toContain(
      `RestoreBlocked: the restore cannot finish: VolumeSnapshot ${app.ns}/${uploads} of PVC demo-uploads not found`,
    );
    expect(c?.message).toContain("The app is left frozen on purpose");
    expect(c?.message).toContain(
      `${app.ns}/demo-uploads MISSING (its data is in VolumeSnapshot ${app.ns}/${uploads})`,
    );
    expect(c?.message).toContain(`${app.ns}/data-demo-db-0 restored from`);
    expect(c?.message).toContain("Git not reverted");
    expect(await fluxSuspended(app)).toEqual([true, true]);
    const sts = await admin.get(ref(app, "StatefulSet", "demo-db", "apps/v1"));
    expect((sts["spec"] as { replicas: number }).replicas).toBe(0);
    expect(await getOrUndefined(admin, pvcRef(app, "demo-uploads"))).toBeUndefined();
    const { items } = await admin.list("events.k8s.io/v1", "Event", { namespace: app.ns });
    const onApp = items.filter(
      (e) =>
        (e["regarding"] as { kind?: string }).kind === "ManagedApp" &&
        e["reason"] === "RestoreIncomplete",
    );
    expect(onApp.length).toBeGreaterThan(0);
    await eventually("the frozen gauge at 1", async () =>
      /cairn_frozen_apps 1/.test(await ctl.metrics()) ? true : undefined,
    );
    // A human decides: here, to accept the loss and resume Flux by hand. The gauge follows.
    for (const f of [ksRef(app), hrRef(app)])
      await admin.mergePatch(f, { spec: { suspend: false } });
    await eventually("the frozen gauge back at 0", async () =>
      /cairn_frozen_apps 0/.test(await ctl.metrics()) ? true : undefined,
    );
  });
});
