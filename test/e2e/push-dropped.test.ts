// A push that lands while its client sees an error (issue 14, "a commit that landed is never
// reported as not made"), end to end on the full test bed. The bed's Git server takes the push
// (the branch moves) and then drops the connection without the report (DROP_PUSH_FILE in
// testbed/src/git-server.ts), holding it past the step's deadline: Commit's deadline is the app's
// timeouts.commit (1 s here), the push itself runs under the Git workspace's own timeout (60 s),
// so the error arrives after the deadline and the runner fails the step with DeadlineExceeded
// instead of retrying it (a retry would find and adopt the commit). Compensation must then see
// the commit on the branch (the request's trailer) and take the after-commit path: never "Git
// untouched" with Flux resumed on a version nobody reports.
import { execFile } from "node:child_process";
import { access, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { KubeClient, KubeObject, ObjectRef } from "../../src/kube/client.ts";
import { repoPath, revParse } from "../../testbed/src/git-fixtures.ts";
import type { GitAccess } from "../../testbed/src/cluster.ts";
import { DROP_PUSH_FILE } from "../../testbed/src/git-server.ts";
import { TestController } from "../support/controller.ts";
import { chartVersionInGit, setUpDemoApp, type DemoOptions } from "../support/demo-app.ts";
import { deleteNamespace, eventually, testClient } from "../support/kube.ts";
import { isReadyNow, statusOf } from "../support/objects.ts";
import { assertAlive, completeOf, requestFinished } from "../support/requests.ts";

const API = "cairn.dev/v1alpha1";
const KS_API = "kustomize.toolkit.fluxcd.io/v1";
const HR_API = "helm.toolkit.fluxcd.io/v2";
/** Longer than Commit's 1 s timeout by a wide margin: the client's error comes after it. */
const DROP_AFTER_MS = 4000;
const run = promisify(execFile);

interface RequestStatus {
  commit?: { sha: string; adopted: boolean };
  history?: { name: string; reason: string }[];
  rollbackRef?: { name: string };
}

// A case runs an upgrade and its rollback: it may take more than the tier's 300 s when loaded.
describe.concurrent("a push that landed but whose answer was lost", { timeout: 600_000 }, () => {
  const admin: KubeClient = testClient();
  const gitOrNull = inject("git");
  const git = (): GitAccess => {
    if (!gitOrNull) throw new Error("the e2e tier needs the full test bed");
    return gitOrNull;
  };
  let controller: TestController;
  const namespaces: string[] = [];

  beforeAll(async () => {
    git();
    controller = await TestController.prepare({
      admin,
      clusterKubeconfig: inject("kubeconfig"),
      suffix: "-pushdrop",
      extraArgs: ["--workers=4"],
    });
    await controller.start();
  }, 120_000);

  afterAll(async () => {
    await controller.cleanup();
    await Promise.all(namespaces.map((ns) => deleteNamespace(admin, ns)));
  });

  const ref = (ns: string, apiVersion: string, kind: string, name: string): ObjectRef => ({
    apiVersion,
    kind,
    namespace: ns,
    name,
  });
  const complete = completeOf;

  const alive = () => assertAlive(controller);

  const finished = (ns: string, kind: string, name: string, timeoutMs = 300_000) =>
    requestFinished(admin, ref(ns, API, kind, name), { alive, timeoutMs });

  async function demoApp(opts: Omit<DemoOptions, "labels">) {
    const app = await setUpDemoApp(admin, git(), inject("helmRepoUrl"), {
      ...opts,
      labels: controller.labels,
    });
    namespaces.push(app.namespace);
    const managed = await eventually(
      `ManagedApp ${app.namespace}/demo Ready`,
      async () => {
        const a = await admin.get(ref(app.namespace, API, "ManagedApp", "demo"));
        return isReadyNow(a) ? a : undefined;
      },
      240_000,
    );
    const head = await revParse(git().root, app.repo, "main");
    if (!head) throw new Error(`no main in ${app.repo}`);
    return { ...app, head, uid: managed.metadata.uid ?? "" };
  }

  /** Arms the Git server: the repository's next pack upload lands and then loses its answer. */
  async function dropNextPush(repo: string): Promise<string> {
    const marker = join(repoPath(git().root, repo), DROP_PUSH_FILE);
    await writeFile(marker, `${DROP_AFTER_MS}\n`);
    return marker;
  }

  async function consumed(marker: string): Promise<boolean> {
    return access(marker).then(
      () => false,
      () => true,
    );
  }

  async function suspendOf(ns: string, kind: "Kustomization" | "HelmRelease", name: string) {
    const obj = await admin.get(ref(ns, kind === "Kustomization" ? KS_API : HR_API, kind, name));
    return (obj["spec"] as { suspend?: boolean }).suspend ?? false;
  }

  async function expectFluxResumed(ns: string): Promise<void> {
    expect(await suspendOf(ns, "Kustomization", "apps")).toBe(false);
    expect(await suspendOf(ns, "HelmRelease", "demo")).toBe(false);
  }

  async function replicasOf(ns: string, kind: string, name: string): Promise<number | undefined> {
    const w = await admin.get(ref(ns, "apps/v1", kind, name));
    return (w["spec"] as { replicas?: number }).replicas;
  }

  /** The commit that failed: the last step in history before Compensate. */
  function failedStep(r: KubeObject) {
    return (statusOf<RequestStatus>(r).history ?? []).filter((h) => h.name !== "Compensate").at(-1);
  }

  /** The branch's head is the commit the request reports, and carries the request's trailer. */
  async function expectHeadIsRequests(repo: string, request: KubeObject, sha: string) {
    expect(await revParse(git().root, repo, "main")).toBe(sha);
    const { stdout } = await run("git", [
      "--git-dir",
      repoPath(git().root, repo),
      "log",
      "-1",
      "--format=%B",
      sha,
    ]);
    const { namespace, name, uid } = request.metadata;
    expect(stdout).toContain(`Cairn-Request: ${namespace ?? ""}/${name} ${uid ?? ""}`);
  }

  it("without autoRollback: RollbackRequired naming the commit that landed, never 'Git untouched'", async () => {
    const app = await demoApp({
      prefix: "drop-push",
      spec: { timeouts: { health: "45s", commit: "1s" } },
    });
    const ns = app.namespace;
    const marker = await dropNextPush(app.repo);
    const created = await admin.create({
      apiVersion: API,
      kind: "UpgradeRequest",
      metadata: { name: "to-110", namespace: ns, labels: { ...controller.labels } },
      spec: { managedAppRef: { name: "demo" }, targetVersion: { chart: "1.1.0" } },
    });
    const r = await finished(ns, "UpgradeRequest", "to-110");
    expect(await consumed(marker)).toBe(true);
    const message = complete(r)?.message ?? "";
    expect(failedStep(r), message).toMatchObject({ name: "Commit", reason: "DeadlineExceeded" });
    expect(complete(r)?.reason, message).toBe("RollbackRequired");
    expect(message).not.toContain("Git untouched");
    const sha = statusOf<RequestStatus>(r).commit?.sha ?? "";
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
    expect(sha).not.toBe(app.head);
    expect(message).toContain(`After the commit (${sha.slice(0, 12)})`);
    expect(message).toContain(`kubectl cairn rollback to-110 -n ${ns}`);
    // Git holds exactly what the request reports: its own commit, the new version.
    await expectHeadIsRequests(app.repo, created, sha);
    expect(await chartVersionInGit(git(), app.repo)).toBe("1.1.0");
    await expectFluxResumed(ns);
    expect(await replicasOf(ns, "StatefulSet", "demo-db")).toBe(1);
    expect(await replicasOf(ns, "Deployment", "demo-web")).toBe(1);
  });

  it("with autoRollback: the landed commit is handed to a RollbackRequest that reverts it", async () => {
    const app = await demoApp({
      prefix: "drop-auto",
      spec: { autoRollback: true, timeouts: { health: "45s", commit: "1s" } },
    });
    const ns = app.namespace;
    const marker = await dropNextPush(app.repo);
    const created = await admin.create({
      apiVersion: API,
      kind: "UpgradeRequest",
      metadata: { name: "to-110", namespace: ns, labels: { ...controller.labels } },
      spec: { managedAppRef: { name: "demo" }, targetVersion: { chart: "1.1.0" } },
    });
    const r = await finished(ns, "UpgradeRequest", "to-110");
    expect(await consumed(marker)).toBe(true);
    const message = complete(r)?.message ?? "";
    expect(failedStep(r), message).toMatchObject({ name: "Commit", reason: "DeadlineExceeded" });
    expect(complete(r)?.reason, message).toBe("RollbackTriggered");
    expect(message).not.toContain("Git untouched");
    expect(statusOf<RequestStatus>(r).rollbackRef).toEqual({ name: "to-110-rollback" });
    const sha = statusOf<RequestStatus>(r).commit?.sha ?? "";
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
    await expectHeadIsRequests(app.repo, created, sha);

    const back = await finished(ns, "RollbackRequest", "to-110-rollback", 400_000);
    expect(complete(back)?.reason, complete(back)?.message).toBe("Succeeded");
    // The rollback reverted the commit that landed: Git is back at the old version, on top of it.
    expect(await chartVersionInGit(git(), app.repo)).toBe("1.0.0");
    const reverted = statusOf<RequestStatus>(back).commit?.sha ?? "";
    expect(await revParse(git().root, app.repo, "main")).toBe(reverted);
    expect(reverted).not.toBe(sha);
    await expectFluxResumed(ns);
    expect(await replicasOf(ns, "StatefulSet", "demo-db")).toBe(1);
    expect(await replicasOf(ns, "Deployment", "demo-web")).toBe(1);
  });

  it("a rollback's Revert that landed: RestoreIncomplete says Git was reverted, at the commit on the branch", async () => {
    const app = await demoApp({
      prefix: "drop-revert",
      spec: { timeouts: { health: "45s", commit: "1s" } },
    });
    const ns = app.namespace;
    await admin.create({
      apiVersion: API,
      kind: "UpgradeRequest",
      metadata: { name: "to-110", namespace: ns, labels: { ...controller.labels } },
      spec: { managedAppRef: { name: "demo" }, targetVersion: { chart: "1.1.0" } },
    });
    const up = await finished(ns, "UpgradeRequest", "to-110");
    expect(complete(up)?.reason, complete(up)?.message).toBe("Succeeded");
    const upgraded = statusOf<RequestStatus>(up).commit?.sha ?? "";

    const marker = await dropNextPush(app.repo);
    const created = await admin.create({
      apiVersion: API,
      kind: "RollbackRequest",
      metadata: { name: "to-110-back", namespace: ns, labels: { ...controller.labels } },
      spec: { upgradeRequestRef: { name: "to-110" } },
    });
    const back = await finished(ns, "RollbackRequest", "to-110-back", 400_000);
    expect(await consumed(marker)).toBe(true);
    const message = complete(back)?.message ?? "";
    expect(failedStep(back), message).toMatchObject({ name: "Revert", reason: "DeadlineExceeded" });
    // The volumes were replaced before Revert: the documented freeze, which must tell the truth
    // about Git.
    expect(complete(back)?.reason, message).toBe("RestoreIncomplete");
    expect(message).not.toContain("Git not reverted");
    const sha = statusOf<RequestStatus>(back).commit?.sha ?? "";
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
    expect(sha).not.toBe(upgraded);
    expect(message).toContain(`Git reverted at ${sha.slice(0, 12)}`);
    await expectHeadIsRequests(app.repo, created, sha);
    expect(await chartVersionInGit(git(), app.repo)).toBe("1.0.0");
  });
});
