// The approval gate (spec.approval: Manual) end to end on the full test bed: the real controller
// under its shipped RBAC, a Flux-managed Helm app with two PVCs, the plugin as a user runs it.
// An upgrade that waits for approval has planned and done nothing else; a plan that changed by
// the time it is approved is refused; a wait nobody ends fails at timeouts.approval; an approved
// plan runs, after a kill -9 of the controller during the wait, and status says who approved it.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { KubeClient, KubeObject } from "../../src/kube/client.ts";
import { revParse } from "../../testbed/src/git-fixtures.ts";
import { runCli } from "../integration/cli/support.ts";
import { TestController } from "../support/controller.ts";
import { chartVersionInGit, setUpDemoApp } from "../support/demo-app.ts";
import { deleteNamespace, eventually, testClient } from "../support/kube.ts";
import { conditions, isReadyNow, statusOf } from "../support/objects.ts";
import { assertAlive, completeOf, requestFinished } from "../support/requests.ts";

interface RequestStatus {
  phase: string;
  step: { name: string };
  plan: { git: { from: string; to: string } };
  approval: { approvedBy: string; approvedAt: string };
  history: { name: string; reason: string }[];
}

const API = "cairn.dev/v1alpha1";
const missingGit = (): never => {
  throw new Error("the e2e tier needs the full test bed");
};

describe("approval gate", () => {
  const admin: KubeClient = testClient();
  const git = inject("git");
  let controller: TestController;
  let ns = "";
  let repo = "";
  let me = "";

  const appRef = () => ({ apiVersion: API, kind: "ManagedApp", namespace: ns, name: "demo" });
  const requestRef = (name: string) => ({
    apiVersion: API,
    kind: "UpgradeRequest",
    namespace: ns,
    name,
  });
  const fluxRefs = () => [
    {
      apiVersion: "kustomize.toolkit.fluxcd.io/v1",
      kind: "Kustomization",
      namespace: ns,
      name: "apps",
    },
    { apiVersion: "helm.toolkit.fluxcd.io/v2", kind: "HelmRelease", namespace: ns, name: "demo" },
  ];
  const webRef = () => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    namespace: ns,
    name: "demo-web",
  });
  const complete = completeOf;
  const approved = (r: KubeObject) => conditions(r).find((c) => c.type === "Approved");
  const head = () => revParse(git?.root ?? missingGit(), repo, "main");

  const alive = () => assertAlive(controller);

  /** Finished, Complete set and the finalizer gone: the request let go of everything. */
  const finished = (name: string) =>
    requestFinished(admin, requestRef(name), { alive, released: true });

  async function awaitingApproval(name: string): Promise<KubeObject> {
    return eventually(
      `UpgradeRequest ${name} waiting for approval`,
      async () => {
        alive();
        const r = await admin.get(requestRef(name));
        const c = complete(r);
        if (c && c.status !== "Unknown")
          throw new Error(`${name} finished: ${c.reason}: ${c.message}`);
        return approved(r)?.reason === "AwaitingApproval" ? r : undefined;
      },
      240_000,
    );
  }

  /** What an upgrade changes before its commit, as it stands now. */
  async function world() {
    const suspended = await Promise.all(
      fluxRefs().map(
        async (r) => ((await admin.get(r))["spec"] as { suspend?: boolean }).suspend === true,
      ),
    );
    const web = (await admin.get(webRef()))["spec"] as { replicas?: number };
    const db = (
      await admin.get({
        apiVersion: "apps/v1",
        kind: "StatefulSet",
        namespace: ns,
        name: "demo-db",
      })
    )["spec"] as { replicas?: number };
    const snapshots = await admin.list("snapshot.storage.k8s.io/v1", "VolumeSnapshot", {
      namespace: ns,
    });
    return {
      suspended,
      replicas: [web.replicas, db.replicas],
      snapshots: snapshots.items.length,
      head: await head(),
      chart: await chartVersionInGit(git ?? missingGit(), repo),
    };
  }

  async function upgrade(name: string, spec: Record<string, unknown> = {}): Promise<void> {
    await admin.create({
      apiVersion: API,
      kind: "UpgradeRequest",
      metadata: { name, namespace: ns },
      spec: { managedAppRef: { name: "demo" }, targetVersion: { chart: "1.1.0" }, ...spec },
    });
  }

  beforeAll(async () => {
    if (!git) missingGit();
    controller = await TestController.prepare({
      admin,
      clusterKubeconfig: inject("kubeconfig"),
      suffix: "-approval",
    });
    const app = await setUpDemoApp(admin, git ?? missingGit(), inject("helmRepoUrl"), {
      prefix: "approval",
      helmTimeout: "20s",
      labels: controller.labels,
      replicas: { web: 2 },
      spec: { approval: "Manual" },
    });
    ns = app.namespace;
    repo = app.repo;
    await controller.start();
    await eventually(
      "the ManagedApp Ready",
      async () => (isReadyNow(await admin.get(appRef())) ? true : undefined),
      240_000,
    );
    const review = await admin.create({
      apiVersion: "authentication.k8s.io/v1",
      kind: "SelfSubjectReview",
      metadata: {},
    });
    me = (review["status"] as { userInfo: { username: string } }).userInfo.username;
  }, 400_000);

  afterAll(async () => {
    await controller.cleanup();
    if (ns) await deleteNamespace(admin, ns);
  });

  it("waits after planning with no side effect, and refuses a plan that changed by its approval", async () => {
    const before = await world();
    expect(before).toMatchObject({ suspended: [false, false], replicas: [2, 1], snapshots: 0 });
    // The plugin stops following where a person has to decide, and says how to.
    const cli = await runCli([
      "upgrade",
      "demo",
      "--to",
      "1.1.0",
      "--watch",
      "--timeout",
      "4m",
      "-n",
      ns,
    ]);
    expect(cli.stderr).toBe("");
    expect(cli.code).toBe(0);
    const name = /upgraderequest\/(\S+) created/.exec(cli.stdout)?.[1] ?? "";
    expect(name).not.toBe("");
    expect(cli.stdout).toContain(`upgraderequest/${name} waits for approval of its plan:`);
    expect(cli.stdout).toContain("1.0.0 → 1.1.0");
    expect(cli.stdout).toContain(`approve it with: kubectl cairn approve ${name} -n ${ns}`);
    const waiting = await awaitingApproval(name);
    expect(statusOf<RequestStatus>(waiting)).toMatchObject({
      phase: "AwaitingApproval",
      step: { name: "Approve" },
      plan: { git: { from: "1.0.0", to: "1.1.0" } },
    });
    expect(approved(waiting)?.message).toContain(`kubectl cairn approve ${name} -n ${ns}`);
    // Planned and nothing else: Flux runs, the workloads run, no snapshot, Git as it was.
    expect(await world()).toEqual(before);

    // The plan recorded 2 web replicas; by the time it is approved there is 1.
    await admin.patchScale(webRef(), 1);
    const approvedCli = await runCli(["approve", name, "--yes", "-n", ns]);
    expect(approvedCli.stderr).toBe("");
    expect(approvedCli.code).toBe(0);
    const r = await finished(name);
    expect(complete(r)).toMatchObject({ status: "False", reason: "PlanChanged" });
    expect(complete(r)?.message).toContain(
      `approved by ${me}, but the plan changed since it was shown`,
    );
    expect(complete(r)?.message).toContain(`workloads: Deployment ${ns}/demo-web changed`);
    expect(await world()).toEqual({ ...before, replicas: [1, 1] });
    await admin.patchScale(webRef(), 2);
  });

  it("ends a wait nobody ends at the app's timeouts.approval, for a request that asks for approval itself", async () => {
    await admin.mergePatch(appRef(), {
      spec: { approval: "Automatic", timeouts: { approval: "5s" } },
    });
    const before = await world();
    await upgrade("unanswered", { approval: "Manual" });
    const r = await finished("unanswered");
    expect(complete(r)).toMatchObject({ status: "False", reason: "DeadlineExceeded" });
    expect(complete(r)?.message).toContain("Approve did not finish by its deadline");
    expect(statusOf<RequestStatus>(r).history?.map((h) => h.name)).toContain("Approve");
    expect(await world()).toEqual(before);
  });

  it("runs the approved plan and records who approved it", async () => {
    await admin.mergePatch(appRef(), { spec: { approval: "Manual", timeouts: null } });
    await upgrade("approved");
    await awaitingApproval("approved");
    // kill -9 while it waits: a fresh controller finds the request waiting where it was.
    controller.process?.killNow();
    await controller.stop();
    await controller.start();
    const resumed = await awaitingApproval("approved");
    expect(statusOf<RequestStatus>(resumed).step?.name).toBe("Approve");
    expect((await world()).suspended).toEqual([false, false]);
    const cli = await runCli(["approve", "approved", "--yes", "-n", ns]);
    expect(cli.code).toBe(0);
    const r = await finished("approved");
    expect(complete(r)?.reason, complete(r)?.message).toBe("Succeeded");
    const s = statusOf<RequestStatus>(r);
    expect(s.approval?.approvedBy).toBe(me);
    expect(Date.parse(s.approval?.approvedAt ?? "")).not.toBeNaN();
    expect(approved(r)).toMatchObject({
      status: "True",
      reason: "Succeeded",
      message: `approved by ${me}; planned again, the plan still holds`,
    });
    expect(s.history?.map((h) => h.name).slice(0, 4)).toEqual([
      "Admit",
      "Plan",
      "Approve",
      "Suspend",
    ]);
    const after = await world();
    expect(after).toMatchObject({
      suspended: [false, false],
      replicas: [2, 1],
      snapshots: 2,
      chart: "1.1.0",
    });
  });
});
