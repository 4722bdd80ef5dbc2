// A routine Flux reconcile is not a health change (issue 19.1): with the real kustomize- and
// helm-controller, a requested reconcile of an app's unchanged Kustomization and HelmRelease
// passes through Ready=Unknown/Reconciling=True, and the real controller process (under its
// shipped RBAC) writes nothing to the ManagedApp for it: no status write (the resourceVersion
// stays), no Ready flip, no Warning Event.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { classifyKustomization, Kustomization } from "../../src/health/flux.ts";
import type { KubeClient, KubeObject, ObjectRef } from "../../src/kube/client.ts";
import { REPO_ROOT } from "../../testbed/src/binaries.ts";
import { LocalCairn } from "../../testbed/src/cairn.ts";
import { demoFluxObjects, seedDemoRepo } from "../../testbed/src/demo-app.ts";
import { createTestNamespace, deleteNamespace, eventually, testClient } from "../support/kube.ts";
import { readObjects } from "../support/manifests.ts";
import { conditions, isReadyNow, statusOf } from "../support/objects.ts";
import { gitWriteSecret } from "../support/controller.ts";

const SUFFIX = `-quiet-${randomBytes(3).toString("hex")}`;
const TEST_LABELS = { "cairn.dev/test": `cairn${SUFFIX}` };
// After Flux is done, how long the controller gets to (wrongly) react before the verdict.
const SETTLE_MS = 5_000;

/** Every change of one object while the test looks, as the API server announces it. */
function record(
  client: KubeClient,
  ref: ObjectRef & { namespace: string },
  signal: AbortSignal,
): KubeObject[] {
  const seen: KubeObject[] = [];
  void (async () => {
    try {
      for await (const ev of client.watch(ref.apiVersion, ref.kind, {
        namespace: ref.namespace,
        fieldSelector: `metadata.name=${ref.name}`,
        timeoutSeconds: 600,
        signal,
      })) {
        if (ev.type === "MODIFIED") seen.push(ev.object);
      }
    } catch {
      // The test aborted the watch.
    }
  })();
  return seen;
}

describe("a routine Flux reconcile", () => {
  const admin: KubeClient = testClient();
  let ns = "";
  let cairn: LocalCairn | undefined;
  const git = inject("git");

  const appRef = () => ({
    apiVersion: "cairn.dev/v1alpha1",
    kind: "ManagedApp",
    namespace: ns,
    name: "demo",
  });
  const ksRef = () => ({
    apiVersion: "kustomize.toolkit.fluxcd.io/v1",
    kind: "Kustomization",
    namespace: ns,
    name: "apps",
  });
  const hrRef = () => ({
    apiVersion: "helm.toolkit.fluxcd.io/v2",
    kind: "HelmRelease",
    namespace: ns,
    name: "demo",
  });

  beforeAll(async () => {
    if (!git) throw new Error("the e2e tier needs the full test bed");
    for (const crd of readObjects(join(REPO_ROOT, "crds/cairn.dev_managedapps.yaml"))) {
      await admin.apply(crd, { force: true });
    }
    ns = await createTestNamespace(admin, "quiet");
    const repo = `${ns}-config`;
    await seedDemoRepo(git.root, repo, inject("helmRepoUrl"));
    for (const obj of demoFluxObjects(ns, `${git.url}/${repo}.git`)) await admin.create(obj);
    await admin.create(gitWriteSecret(ns, "git-write", git.username, git.password));
    await admin.create({
      apiVersion: "cairn.dev/v1alpha1",
      kind: "ManagedApp",
      metadata: { name: "demo", namespace: ns, labels: TEST_LABELS },
      spec: {
        gitPath: "apps/demo/release.yaml",
        kustomizationRef: { name: "apps" },
        helmReleaseRef: { name: "demo" },
        git: { secretRef: { name: "git-write" } },
      },
    });
    cairn = await LocalCairn.prepare({
      admin,
      clusterKubeconfig: inject("kubeconfig"),
      suffix: SUFFIX,
      labels: TEST_LABELS,
    });
    await cairn.start();
  }, 180_000);

  afterAll(async () => {
    if (ns) await deleteNamespace(admin, ns);
    await cairn?.cleanup();
  });

  it("of the app's unchanged Kustomization and HelmRelease writes nothing to the ManagedApp", async () => {
    await eventually(
      "the ManagedApp Ready",
      async () => ((await admin.get(appRef()).then(isReadyNow)) ? true : undefined),
      180_000,
    );
    // Quiet first: the controller has written everything it has to say about the app.
    let before = await admin.get(appRef());
    await eventually("the ManagedApp at rest", async () => {
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      const now = await admin.get(appRef());
      const same = now.metadata.resourceVersion === before.metadata.resourceVersion;
      before = now;
      return same ? true : undefined;
    });
    const warningsBefore = await managedAppWarnings(admin, ns);

    const abort = new AbortController();
    const appChanges = record(admin, appRef(), abort.signal);
    const ksChanges = record(admin, ksRef(), abort.signal);
    try {
      const token = new Date().toISOString();
      const annotate = { metadata: { annotations: { "reconcile.fluxcd.io/requestedAt": token } } };
      await admin.mergePatch(ksRef(), annotate);
      await admin.mergePatch(hrRef(), annotate);
      for (const ref of [ksRef(), hrRef()]) {
        await eventually(`${ref.kind} handled the request`, async () => {
          const obj = await admin.get(ref);
          const handled = statusOf<{ lastHandledReconcileAt: string }>(obj).lastHandledReconcileAt;
          return handled === token && isReadyNow(obj) ? true : undefined;
        });
      }
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    } finally {
      abort.abort();
    }

    // The reconcile really passed through "in progress", on the same revision, and the
    // classifier calls that shape settled.
    const inFlight = ksChanges.filter((k) =>
      conditions(k).some((c) => c.type === "Ready" && c.status === "Unknown"),
    );
    expect(inFlight.length).toBeGreaterThan(0);
    for (const k of inFlight) {
      expect(classifyKustomization(Kustomization.parse(k)).phase).toBe("settled");
    }

    const after = await admin.get(appRef());
    expect(appChanges.map((a) => a.metadata.resourceVersion)).toEqual([]);
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    const ready = conditions(after).find((c) => c.type === "Ready");
    const readyBefore = conditions(before).find((c) => c.type === "Ready");
    expect(ready).toEqual(readyBefore);
    expect(await managedAppWarnings(admin, ns)).toEqual(warningsBefore);
  });

  it("does not refuse a plan made while it runs (issue 19.2)", async () => {
    // The request is created right after the reconcile is asked for, as in the report: Plan
    // reads the Kustomization and HelmRelease mid-reconcile and must not refuse them.
    const token = new Date().toISOString();
    const annotate = { metadata: { annotations: { "reconcile.fluxcd.io/requestedAt": token } } };
    await admin.mergePatch(ksRef(), annotate);
    await admin.mergePatch(hrRef(), annotate);
    const name = "plan-during-reconcile";
    await admin.create({
      apiVersion: "cairn.dev/v1alpha1",
      kind: "UpgradeRequest",
      metadata: { name, namespace: ns, labels: TEST_LABELS },
      spec: { managedAppRef: { name: "demo" }, targetVersion: { chart: "1.1.0" }, dryRun: true },
    });
    const ref = { apiVersion: "cairn.dev/v1alpha1", kind: "UpgradeRequest", namespace: ns, name };
    const done = await eventually(
      "the dry run to finish",
      async () => {
        const r = await admin.get(ref);
        return conditions(r).find((c) => c.type === "Complete") ? r : undefined;
      },
      180_000,
    );
    const complete = conditions(done).find((c) => c.type === "Complete");
    expect(complete?.reason, complete?.message).toBe("DryRunSucceeded");
    const preflight = statusOf<{ preflight: { name: string; passed: boolean }[] }>(done).preflight;
    const flux = (preflight ?? []).filter((c) => c.name === "FluxObjects");
    expect(flux.length).toBeGreaterThan(0);
    expect(flux.every((c) => c.passed)).toBe(true);
  });
});

/** The Warning Events about ManagedApps in the namespace, by name and count. */
async function managedAppWarnings(admin: KubeClient, namespace: string): Promise<string[]> {
  const { items } = await admin.list("events.k8s.io/v1", "Event", { namespace });
  return items
    .filter((e) => e["type"] === "Warning")
    .filter((e) => (e["regarding"] as { kind?: string } | undefined)?.kind === "ManagedApp")
    .map((e) => {
      const series = e["series"] as { count?: number } | undefined;
      return `${String(e["reason"])} x${series?.count ?? 1}: ${String(e["note"])}`;
    })
    .sort();
}
