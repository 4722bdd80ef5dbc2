// Crash safety of the upgrade workflow: for each step with a side effect, the controller kills
// itself (SIGKILL, --failpoint) right after the step's effect and before its status write; a
// fresh controller must then finish the request with no duplicate commit or snapshot, the
// original replicas and Flux resumed.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { KubeClient, KubeObject } from "../../src/kube/client.ts";
import { repoPath } from "../../testbed/src/git-fixtures.ts";
import { TestController } from "../support/controller.ts";
import { chartVersionInGit, setUpDemoApp, type DemoApp } from "../support/demo-app.ts";
import { deleteNamespace, eventually, testClient } from "../support/kube.ts";
import { conditions, isReadyNow } from "../support/objects.ts";

const run = promisify(execFile);
const API = "cairn.dev/v1alpha1";
const STEPS_WITH_EFFECTS = [
  "Admit",
  // Plan puts the app label on the request and takes the lock again (a no-op under Admit's).
  "Plan",
  "Suspend",
  "ScaleDown",
  "Snapshot",
  "Commit",
  "Resume",
  "ScaleUp",
  "Finish",
];

describe("UpgradeRequest survives kill -9 after every step's side effect", () => {
  const admin: KubeClient = testClient();
  const git = inject("git");
  let controller: TestController;
  let app: DemoApp;
  const versions = ["1.1.0", "1.0.0"];

  beforeAll(async () => {
    if (!git) throw new Error("the e2e tier needs the full test bed");
    controller = await TestController.prepare({
      admin,
      clusterKubeconfig: inject("kubeconfig"),
      suffix: "-crash",
    });
    app = await setUpDemoApp(admin, git, inject("helmRepoUrl"), {
      prefix: "crash",
      labels: controller.labels,
    });
    await controller.start();
    await eventually(
      "the ManagedApp Ready",
      async () =>
        isReadyNow(
          await admin.get({
            apiVersion: API,
            kind: "ManagedApp",
            namespace: app.namespace,
            name: "demo",
          }),
        )
          ? true
          : undefined,
      240_000,
    );
    await controller.stop();
  }, 400_000);

  afterAll(async () => {
    await controller.cleanup();
    await deleteNamespace(admin, app.namespace);
  });

  async function commitsWithTrailer(uid: string): Promise<number> {
    const { stdout } = await run("git", [
      "--git-dir",
      repoPath(git?.root ?? "", app.repo),
      "log",
      "--format=%B%x00",
      "main",
    ]);
    return stdout.split("\0").filter((m) => m.includes(` ${uid}`) && m.includes("Cairn-Request:"))
      .length;
  }

  STEPS_WITH_EFFECTS.forEach((step, i) => {
    it(`finishes after a crash right after ${step}`, async () => {
      const to = versions[i % 2] ?? "1.1.0";
      const name = `crash-${step.toLowerCase()}`;
      await controller.start([`--failpoint=UpgradeRequest/${step}`]);
      const created = await admin.create({
        apiVersion: API,
        kind: "UpgradeRequest",
        metadata: { name, namespace: app.namespace },
        // Every other case goes back to 1.0.0: a downgrade.
        spec: {
          managedAppRef: { name: "demo" },
          targetVersion: { chart: to },
          allowDowngrade: true,
        },
      });
      await controller.exited(240_000);
      expect(controller.logTail()).toContain(`"failpoint":"UpgradeRequest/${step}"`);
      await controller.start();
      const done: KubeObject = await eventually(
        `${name} to finish`,
        async () => {
          const r = await admin.get({
            apiVersion: API,
            kind: "UpgradeRequest",
            namespace: app.namespace,
            name,
          });
          const complete = conditions(r).find((c) => c.type === "Complete");
          return complete && complete.status !== "Unknown" ? r : undefined;
        },
        240_000,
      );
      await controller.stop();
      const complete = conditions(done).find((c) => c.type === "Complete");
      expect(complete?.reason, complete?.message).toBe("Succeeded");
      const uid = created.metadata.uid ?? "";
      expect(await commitsWithTrailer(uid)).toBe(1);
      expect(await chartVersionInGit(git ?? ({ root: "" } as never), app.repo)).toBe(to);
      const snaps = await admin.list("snapshot.storage.k8s.io/v1", "VolumeSnapshot", {
        namespace: app.namespace,
        labelSelector: `cairn.dev/request-uid=${uid}`,
      });
      expect(snaps.items).toHaveLength(2);
      for (const [kind, apiVersion, n] of [
        ["Kustomization", "kustomize.toolkit.fluxcd.io/v1", "apps"],
        ["HelmRelease", "helm.toolkit.fluxcd.io/v2", "demo"],
      ] as const) {
        const obj = await admin.get({ apiVersion, kind, namespace: app.namespace, name: n });
        expect((obj["spec"] as { suspend?: boolean }).suspend ?? false).toBe(false);
      }
      for (const [kind, n] of [
        ["StatefulSet", "demo-db"],
        ["Deployment", "demo-web"],
      ] as const) {
        const w = await admin.get({
          apiVersion: "apps/v1",
          kind,
          namespace: app.namespace,
          name: n,
        });
        expect((w["spec"] as { replicas: number }).replicas).toBe(1);
      }
    });
  });
});
