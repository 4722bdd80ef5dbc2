// Freezes that outlive one request, on the full test bed (real Flux, Git, CSI): two apps whose
// suspend target is the same Kustomization, upgraded at once, share its suspension and only the
// last one out resumes it; and an upgrade that fails after its commit hands its freeze to the
// automatic rollback, so the version that failed never runs on live data.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { KubeClient } from "../../src/kube/client.ts";
import { commitFiles, readFileAt } from "../../testbed/src/git-fixtures.ts";
import { TestController } from "../support/controller.ts";
import { chartVersionInGit, setUpDemoApp } from "../support/demo-app.ts";
import { deleteNamespace, eventually, testClient } from "../support/kube.ts";
import { isReadyNow } from "../support/objects.ts";
import { completeOf, requestFinished } from "../support/requests.ts";

const API = "cairn.dev/v1alpha1";
const HOLDERS = "cairn.dev/suspended-by";
const OTHER_PATH = "apps/demo/other.yaml";

/** A second release of the demo chart in the same folder: the same Kustomization applies both. */
const OTHER_RELEASE = `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: other
spec:
  interval: 1m
  chart:
    spec:
      chart: demo
      version: "1.0.0"
      sourceRef:
        kind: HelmRepository
        name: demo
  values:
    storageClassName: ""
`;

describe("freezes shared between requests", () => {
  const admin: KubeClient = testClient();
  const git = inject("git");
  let controller: TestController;
  let ns = "";
  let repo = "";

  const ref = (apiVersion: string, kind: string, name: string) => ({
    apiVersion,
    kind,
    namespace: ns,
    name,
  });
  const ksRef = () => ref("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "apps");
  const hrRef = (name: string) => ref("helm.toolkit.fluxcd.io/v2", "HelmRelease", name);
  const suspendedNow = async (r: ReturnType<typeof ksRef>) =>
    ((await admin.get(r))["spec"] as { suspend?: boolean }).suspend === true;
  const complete = completeOf;
  const alive = () => {
    if (!controller.process?.running)
      throw new Error(`controller exited:\n${controller.logTail()}`);
  };

  const finished = (kind: string, name: string, timeoutMs = 420_000) =>
    requestFinished(admin, ref(API, kind, name), { alive, timeoutMs });

  async function upgrade(name: string, app: string, spec: Record<string, unknown>) {
    await admin.create({
      apiVersion: API,
      kind: "UpgradeRequest",
      metadata: { name, namespace: ns },
      spec: { managedAppRef: { name: app }, ...spec },
    });
  }

  async function appsReady() {
    for (const name of ["demo", "other"])
      await eventually(
        `ManagedApp ${name} Ready`,
        async () => (isReadyNow(await admin.get(ref(API, "ManagedApp", name))) ? true : undefined),
        240_000,
      );
  }

  beforeAll(async () => {
    if (!git) throw new Error("the e2e tier needs the full test bed");
    controller = await TestController.prepare({
      admin,
      clusterKubeconfig: inject("kubeconfig"),
      suffix: "-freeze",
    });
    const app = await setUpDemoApp(admin, git, inject("helmRepoUrl"), {
      prefix: "freeze",
      labels: controller.labels,
    });
    ns = app.namespace;
    repo = app.repo;
    await commitFiles(git.root, repo, { [OTHER_PATH]: OTHER_RELEASE }, "Add other");
    // Both apps' suspend target is their kustomizationRef: the one Kustomization `apps`.
    await admin.create({
      apiVersion: API,
      kind: "ManagedApp",
      metadata: { name: "other", namespace: ns, labels: { ...controller.labels } },
      spec: {
        gitPath: OTHER_PATH,
        kustomizationRef: { name: "apps" },
        helmReleaseRef: { name: "other" },
        volumeSnapshots: { enabled: true },
        git: { secretRef: { name: "git-write" } },
        timeouts: { health: "45s" },
      },
    });
    await controller.start();
    await appsReady();
  }, 600_000);

  afterAll(async () => {
    await controller.cleanup();
    if (ns) await deleteNamespace(admin, ns);
  });

  it("an upgrade that fails after its commit hands its freeze to the rollback: the failed version never runs", async () => {
    await admin.mergePatch(ref(API, "ManagedApp", "demo"), { spec: { autoRollback: true } });
    const db = ref("apps/v1", "StatefulSet", "demo-db");
    const replicas = async () =>
      ((await admin.get(db))["spec"] as { replicas?: number }).replicas ?? 1;
    // Every replica count the StatefulSet goes through, until the rollback has finished.
    const seen: number[] = [await replicas()];
    const watch = { on: true };
    const watcher = (async () => {
      while (watch.on) {
        const n = await replicas();
        if (seen.at(-1) !== n) seen.push(n);
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const source = ref("source.toolkit.fluxcd.io/v1", "GitRepository", "config");
    try {
      // Flux cannot fetch the commit (its source is held back by hand), so the upgrade's Resume
      // runs out of time after the commit: the HelmRelease still suspended, replicas at 0.
      await admin.mergePatch(source, { spec: { suspend: true } });
      await admin.mergePatch(ref(API, "ManagedApp", "demo"), {
        spec: { timeouts: { fluxApply: "20s" } },
      });
      await upgrade("to-110", "demo", { targetVersion: { chart: "1.1.0" } });
      const up = await finished("UpgradeRequest", "to-110");
      expect(complete(up)?.reason, complete(up)?.message).toBe("RollbackTriggered");
      expect(complete(up)?.message).toContain(
        `the app stays frozen for the rollback (suspended: HelmRelease ${ns}/demo;`,
      );
      expect(complete(up)?.message).toContain(`StatefulSet ${ns}/demo-db (was 1)`);
      // The failed upgrade left nothing running: what it held is the rollback's now.
      expect(await suspendedNow(hrRef("demo"))).toBe(true);
      await admin.mergePatch(source, { spec: { suspend: false } });
      await admin.mergePatch(ref(API, "ManagedApp", "demo"), {
        spec: { timeouts: { fluxApply: null } },
      });
      const rb = await finished("RollbackRequest", "to-110-rollback");
      expect(complete(rb)?.reason, complete(rb)?.message).toBe("Succeeded");
      // Handed over at Plan, not suspended and scaled down anew.
      const preflight = (rb["status"] as { preflight?: { message: string }[] }).preflight ?? [];
      expect(preflight.map((c) => c.message)).toContain(
        `HelmRelease ${ns}/demo stays suspended from the failed upgrade or an earlier rollback that did not finish; this rollback takes it over`,
      );
    } finally {
      watch.on = false;
      await watcher;
      await admin.mergePatch(source, { spec: { suspend: false } });
    }
    // Stopped once, started once: the failed upgrade never restarted the app on the new version.
    expect(seen).toEqual([1, 0, 1]);
    if (git) expect(await chartVersionInGit(git, repo)).toBe("1.0.0");
    expect(await suspendedNow(ksRef())).toBe(false);
    expect(await suspendedNow(hrRef("demo"))).toBe(false);
    expect((await admin.get(hrRef("demo"))).metadata.annotations?.[HOLDERS]).toBeUndefined();
    await admin.mergePatch(ref(API, "ManagedApp", "demo"), { spec: { autoRollback: false } });
  });

  it("two apps that suspend the same Kustomization, upgraded at once, both succeed; the last one out resumes it", async () => {
    await appsReady();
    let most = 0;
    const watch = { on: true };
    const watcher = (async () => {
      while (watch.on) {
        const k = await admin.get(ksRef());
        const raw = k.metadata.annotations?.[HOLDERS];
        if (raw) most = Math.max(most, (JSON.parse(raw) as unknown[]).length);
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    try {
      await Promise.all([
        upgrade("demo-up", "demo", { targetVersion: { chart: "1.1.0" } }),
        upgrade("other-up", "other", { targetVersion: { chart: "1.1.0" } }),
      ]);
      const [a, b] = await Promise.all([
        finished("UpgradeRequest", "demo-up"),
        finished("UpgradeRequest", "other-up"),
      ]);
      expect(complete(a)?.reason, complete(a)?.message).toBe("Succeeded");
      expect(complete(b)?.reason, complete(b)?.message).toBe("Succeeded");
    } finally {
      watch.on = false;
      await watcher;
    }
    // Both held the Kustomization at once, and it is free again.
    expect(most).toBe(2);
    expect(await suspendedNow(ksRef())).toBe(false);
    expect((await admin.get(ksRef())).metadata.annotations?.[HOLDERS]).toBeUndefined();
    expect(await suspendedNow(hrRef("demo"))).toBe(false);
    expect(await suspendedNow(hrRef("other"))).toBe(false);
    expect(await readFileAt(git?.root ?? "", repo, OTHER_PATH)).toContain('version: "1.1.0"');
  });
});
