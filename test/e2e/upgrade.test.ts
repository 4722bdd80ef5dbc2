// UpgradeRequest end to end on the full test bed: the real controller under its shipped RBAC,
// a Flux-managed Helm app with two PVCs, real snapshots, real commits to the Git server.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { KubeClient } from "../../src/kube/client.ts";
import { DEMO_RELEASE_PATH } from "../../testbed/src/demo-app.ts";
import { revParse } from "../../testbed/src/git-fixtures.ts";
import { TestController } from "../support/controller.ts";
import { chartVersionInGit, setUpDemoApp } from "../support/demo-app.ts";
import { pushEdit } from "../support/git.ts";
import { deleteNamespace, eventually, testClient } from "../support/kube.ts";
import { conditions, getOrUndefined, isReadyNow, statusOf } from "../support/objects.ts";
import { assertAlive, completeOf, requestFinished } from "../support/requests.ts";

interface RequestStatus {
  phase: string;
  plan: {
    git: { from: string; to: string; diff: string; path: string };
    volumes: { name: string; snapshot?: string }[];
    workloads: { kind: string; name: string; replicas: number }[];
    flux: { kind: string; name: string }[];
  };
  preflight: { name: string; passed: boolean; message: string }[];
  commit: { sha: string; adopted: boolean };
  replicas: { name: string; original: number }[];
  history: { name: string }[];
  rollbackRef: { name: string };
  startedAt: string;
}

const API = "cairn.dev/v1alpha1";
const WEB_REPLICAS = 3;
const missingGit = (): never => {
  throw new Error("the e2e tier needs the full test bed");
};

describe("UpgradeRequest", () => {
  const admin: KubeClient = testClient();
  const git = inject("git");
  let controller: TestController;
  let ns = "";
  let repo = "";

  const appRef = () => ({ apiVersion: API, kind: "ManagedApp", namespace: ns, name: "demo" });
  const requestRef = (name: string) => ({
    apiVersion: API,
    kind: "UpgradeRequest",
    namespace: ns,
    name,
  });
  const hrRef = () => ({
    apiVersion: "helm.toolkit.fluxcd.io/v2",
    kind: "HelmRelease",
    namespace: ns,
    name: "demo",
  });
  const ksRef = () => ({
    apiVersion: "kustomize.toolkit.fluxcd.io/v1",
    kind: "Kustomization",
    namespace: ns,
    name: "apps",
  });

  async function request(name: string, spec: Record<string, unknown>): Promise<void> {
    await admin.create({
      apiVersion: API,
      kind: "UpgradeRequest",
      metadata: { name, namespace: ns },
      spec: { managedAppRef: { name: "demo" }, ...spec },
    });
  }

  const finished = (name: string, timeoutMs?: number) =>
    requestFinished(admin, requestRef(name), {
      alive: () => assertAlive(controller),
      ...(timeoutMs ? { timeoutMs } : {}),
    });

  // The finalizer goes right after the Complete write (a crash in between is redone on restart).
  const noFinalizer = (name: string) =>
    eventually(`${name} without finalizers`, async () => {
      const r = await admin.get(requestRef(name));
      return ((r.metadata["finalizers"] as string[] | undefined) ?? []).length === 0
        ? true
        : undefined;
    });

  const complete = completeOf;
  const chartInGit = () => chartVersionInGit(git ?? missingGit(), repo);

  async function webReplicas(): Promise<{ spec: number | undefined; ready: number | undefined }> {
    const d = await admin.get({
      apiVersion: "apps/v1",
      kind: "Deployment",
      namespace: ns,
      name: "demo-web",
    });
    return {
      spec: (d["spec"] as { replicas?: number }).replicas,
      ready: (d["status"] as { readyReplicas?: number } | undefined)?.readyReplicas,
    };
  }

  async function fluxSuspended(): Promise<boolean[]> {
    return Promise.all(
      [ksRef(), hrRef()].map(
        async (r) => ((await admin.get(r))["spec"] as { suspend?: boolean }).suspend === true,
      ),
    );
  }

  beforeAll(async () => {
    if (!git) throw new Error("the e2e tier needs the full test bed");
    controller = await TestController.prepare({
      admin,
      clusterKubeconfig: inject("kubeconfig"),
      suffix: "-upgrade",
    });
    const app = await setUpDemoApp(admin, git, inject("helmRepoUrl"), {
      prefix: "upg",
      helmTimeout: "20s",
      labels: controller.labels,
      // More than one replica, so a count that comes back is not the code's fallback of 1.
      replicas: { web: WEB_REPLICAS },
    });
    ns = app.namespace;
    repo = app.repo;
    await controller.start();
    await eventually(
      "the ManagedApp Ready",
      async () => (isReadyNow(await admin.get(appRef())) ? true : undefined),
      240_000,
    );
  }, 400_000);

  afterAll(async () => {
    await controller.cleanup();
    if (ns) await deleteNamespace(admin, ns);
  });

  it("plans a dry run and changes nothing: no suspend, no snapshot, no commit, no finalizer", async () => {
    const head = await revParse(git?.root ?? "", repo, "main");
    await request("dry", { targetVersion: { chart: "1.1.0" }, dryRun: true });
    const r = await finished("dry");
    expect(complete(r)?.reason).toBe("DryRunSucceeded");
    const s = statusOf<RequestStatus>(r);
    expect(s.plan?.git.from).toBe("1.0.0");
    expect(s.plan?.git.to).toBe("1.1.0");
    expect(s.plan?.git.diff).toContain('+      version: "1.1.0"');
    expect(s.plan?.flux.map((f) => `${f.kind}/${f.name}`)).toEqual([
      "Kustomization/apps",
      "HelmRelease/demo",
    ]);
    expect(s.plan?.volumes.map((v) => v.name).sort()).toEqual(["data-demo-db-0", "demo-uploads"]);
    expect(s.plan?.workloads.map((w) => `${w.kind}/${w.name}=${w.replicas}`).sort()).toEqual([
      `Deployment/demo-web=${WEB_REPLICAS}`,
      "StatefulSet/demo-db=1",
    ]);
    expect(s.preflight?.every((c) => c.passed)).toBe(true);
    expect(s.preflight?.map((c) => c.name)).toEqual(
      expect.arrayContaining(["GitPush", "SnapshotClass", "FluxObjects"]),
    );
    expect(await revParse(git?.root ?? "", repo, "main")).toBe(head);
    expect(await fluxSuspended()).toEqual([false, false]);
    const snaps = await admin.list("snapshot.storage.k8s.io/v1", "VolumeSnapshot", {
      namespace: ns,
    });
    expect(snaps.items).toHaveLength(0);
    await noFinalizer(r.metadata.name ?? "");
  });

  it("a dry run lists every failed check: a target equal to the current version", async () => {
    await request("dry-same", { targetVersion: { chart: "1.0.0" }, dryRun: true });
    const r = await finished("dry-same");
    expect(complete(r)?.reason).toBe("DryRunFailed");
    expect(complete(r)?.message).toContain("equals the current version");
  });

  it("upgrades the chart: snapshots, one commit with the trailer, Flux applied, workloads back, app healthy", async () => {
    await request("to-110", { targetVersion: { chart: "1.1.0" } });
    const r = await finished("to-110");
    expect(complete(r)?.reason, complete(r)?.message).toBe("Succeeded");
    const s = statusOf<RequestStatus>(r);
    // Nobody asked for approval: Plan's own write passed Approve, which took no pass.
    expect(conditions(r).find((c) => c.type === "Approved")).toMatchObject({
      status: "True",
      reason: "NotNeeded",
    });
    expect(s.history?.map((h) => h.name)).toEqual([
      "Admit",
      "Plan",
      "Suspend",
      "ScaleDown",
      "Snapshot",
      "Commit",
      "Resume",
      "AwaitFlux",
      "ScaleUp",
      "HealthCheck",
      "Finish",
    ]);
    expect(s.commit?.adopted).toBe(false);
    // Milliseconds: requests are listed in the order they started, within one second too.
    expect(s.startedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(await chartInGit()).toBe("1.1.0");
    expect(await revParse(git?.root ?? "", repo, "main")).toBe(s.commit?.sha);
    const snaps = await admin.list("snapshot.storage.k8s.io/v1", "VolumeSnapshot", {
      namespace: ns,
      labelSelector: `cairn.dev/request-uid=${r.metadata.uid ?? ""}`,
    });
    expect(snaps.items.map((x) => (x["status"] as { readyToUse?: boolean }).readyToUse)).toEqual([
      true,
      true,
    ]);
    const hr = await admin.get(hrRef());
    expect(
      (hr["status"] as { history?: { chartVersion: string }[] }).history?.[0]?.chartVersion,
    ).toBe("1.1.0");
    expect(await fluxSuspended()).toEqual([false, false]);
    const sts = await admin.get({
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      namespace: ns,
      name: "demo-db",
    });
    expect((sts["spec"] as { replicas: number }).replicas).toBe(1);
    expect(s.replicas?.find((w) => w.name === "demo-web")?.original).toBe(WEB_REPLICAS);
    expect(await webReplicas()).toEqual({ spec: WEB_REPLICAS, ready: WEB_REPLICAS });
    const app = await admin.get(appRef());
    expect(
      statusOf<{ lastUpgrade: { name: string; outcome: string }; currentVersion: string }>(app)
        .lastUpgrade,
    ).toMatchObject({ name: "to-110", outcome: "Succeeded" });
    await noFinalizer(r.metadata.name ?? "");
    const lease = await getOrUndefined(admin, {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      namespace: ns,
      name: `cairn-app-${app.metadata.uid ?? ""}`,
    });
    expect(lease).toBeUndefined();
    expect(await controller.metrics()).toMatch(
      /cairn_operations_total\{kind="UpgradeRequest",outcome="Succeeded",class="succeeded"\} 1/,
    );
  });

  it("a broken chart fails its health check after the commit: Flux resumed, replicas restored, RollbackRequired", async () => {
    await request("to-200", { targetVersion: { chart: "2.0.0" } });
    const r = await finished("to-200", 400_000);
    expect(complete(r)?.reason, complete(r)?.message).toBe("RollbackRequired");
    expect(complete(r)?.message).toContain("kubectl cairn rollback to-200");
    expect(await chartInGit()).toBe("2.0.0");
    expect(await fluxSuspended()).toEqual([false, false]);
    const sts = await admin.get({
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      namespace: ns,
      name: "demo-db",
    });
    expect((sts["spec"] as { replicas: number }).replicas).toBe(1);
    // Restored to what it ran before ScaleDown, not to 1.
    expect((await webReplicas()).spec).toBe(WEB_REPLICAS);
    // Put Git back for the next tests, as a user would after deciding not to roll back.
    await pushEdit(
      `${git?.url ?? ""}/${repo}.git`,
      { username: git?.username ?? "", password: git?.password ?? "" },
      DEMO_RELEASE_PATH,
      (t) => t.replace('version: "2.0.0"', 'version: "1.1.0"'),
      "back to 1.1.0",
    );
  });
});
