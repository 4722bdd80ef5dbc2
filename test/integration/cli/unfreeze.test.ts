// kubectl cairn unfreeze against a real API server with Flux running: it refuses while a request
// runs and after a restore that left a PVC missing, and resumes the HelmRelease before the
// Kustomization. The Flux objects point at sources that do not exist; they only go not-Ready.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeClient, KubeObject, ObjectRef } from "../../../src/kube/client.ts";
import { testClient } from "../../support/kube.ts";
import {
  condition,
  createApp,
  createRollback,
  createUpgrade,
  deleteIsolatedNamespace,
  ensureCurrentCrds,
  isolatedNamespace,
  runCli,
  setStatus,
} from "./support.ts";

let client: KubeClient;
let ns: string;
let helmRelease: ObjectRef;
let kustomization: ObjectRef;

const suspended = (obj: KubeObject) => (obj["spec"] as { suspend?: boolean }).suspend === true;

async function suspendBoth(): Promise<void> {
  for (const ref of [helmRelease, kustomization])
    await client.mergePatch(ref, { spec: { suspend: true } });
}

beforeAll(async () => {
  client = testClient();
  ns = await isolatedNamespace(client, "cli-unfreeze");
  await ensureCurrentCrds(client, ns);
  helmRelease = {
    apiVersion: "helm.toolkit.fluxcd.io/v2",
    kind: "HelmRelease",
    namespace: ns,
    name: "web",
  };
  kustomization = {
    apiVersion: "kustomize.toolkit.fluxcd.io/v1",
    kind: "Kustomization",
    namespace: ns,
    name: "apps",
  };
  await client.create({
    ...helmRelease,
    metadata: { name: helmRelease.name, namespace: ns },
    spec: {
      interval: "1h",
      suspend: true,
      chart: { spec: { chart: "web", sourceRef: { kind: "HelmRepository", name: "nowhere" } } },
    },
  });
  await client.create({
    ...kustomization,
    metadata: { name: kustomization.name, namespace: ns },
    spec: {
      interval: "1h",
      suspend: true,
      path: "./apps",
      prune: false,
      sourceRef: { kind: "GitRepository", name: "nowhere" },
    },
  });
  await createApp(client, ns, "web", {
    spec: { kustomizationRef: { name: "apps" }, helmReleaseRef: { name: "web" } },
  });
  await client.create({
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name: "data-web-1", namespace: ns },
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
  });
});

afterAll(async () => {
  if (ns) await deleteIsolatedNamespace(client, ns);
});

describe("kubectl cairn unfreeze", () => {
  it("refuses while a request of the app runs, and resumes nothing", async () => {
    const running = await createUpgrade(client, ns, "web-upgrade-running", "web");
    await setStatus(client, running, { phase: "Committing", startedAt: "2026-03-01T10:00:00Z" });
    const result = await runCli(["unfreeze", "web", "--force", "-n", ns]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'error: refusing to unfreeze "web": upgraderequest "web-upgrade-running" is still running ' +
        "(Committing); Cairn resumes Flux itself when it finishes\n",
    );
    expect(suspended(await client.get(helmRelease))).toBe(true);
    expect(suspended(await client.get(kustomization))).toBe(true);
    await setStatus(client, running, {
      conditions: [condition("Complete", "False", "RollbackRequired", "unhealthy")],
    });
  });

  it("refuses after a restore that left a PVC missing, naming it, unless forced", async () => {
    const rollback = await createRollback(
      client,
      ns,
      "web-upgrade-running-rollback",
      "web-upgrade-running",
      "web",
    );
    await setStatus(client, rollback, {
      plan: {
        git: {
          branch: "main",
          path: "apps/web.yaml",
          versionPath: "spec.chart.spec.version",
          from: "2.0.0",
          to: "1.0.0",
        },
        flux: [],
        workloads: [],
        volumes: [
          { namespace: ns, name: "data-web-0", snapshot: "data-web-0-snap" },
          { namespace: ns, name: "data-web-1", snapshot: "data-web-1-snap" },
        ],
      },
      conditions: [
        condition("Complete", "False", "RestoreIncomplete", "data-web-0 was not recreated"),
      ],
    });
    const refused = await runCli(["unfreeze", "web", "-n", ns]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `error: refusing to unfreeze "web": rollbackrequest "web-upgrade-running-rollback" ended RestoreIncomplete ` +
        `and PVC ${ns}/data-web-0 is missing; resuming Flux now would recreate it empty. ` +
        "Restore the data first, or pass --force to resume anyway\n",
    );
    expect(suspended(await client.get(helmRelease))).toBe(true);

    const forced = await runCli(["unfreeze", "web", "--force", "-n", ns]);
    expect(forced.stderr).toBe("");
    expect(forced.code).toBe(0);
    expect(forced.stdout).toBe(`resumed HelmRelease ${ns}/web\nresumed Kustomization ${ns}/apps\n`);
  });

  it("refuses while a running request of another app holds a shared object, naming it", async () => {
    await suspendBoth();
    // Another app's upgrade holds the Kustomization both apps suspend.
    const other = await createUpgrade(client, ns, "other-upgrade", "other");
    await setStatus(client, other, { phase: "ScalingDown", startedAt: "2026-03-01T10:00:00Z" });
    const holder = {
      kind: "UpgradeRequest",
      namespace: ns,
      name: "other-upgrade",
      uid: other.metadata.uid,
      upgrade: "other-upgrade",
    };
    await client.mergePatch(kustomization, {
      metadata: { annotations: { "cairn.dev/suspended-by": JSON.stringify([holder]) } },
    });
    const refused = await runCli(["unfreeze", "web", "--force", "-n", ns]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `error: refusing to unfreeze "web": Kustomization ${ns}/apps is held suspended by ` +
        `UpgradeRequest ${ns}/other-upgrade, still running; Cairn resumes it when the last holder finishes\n`,
    );
    // Nothing resumed, not even the HelmRelease that comes first.
    expect(suspended(await client.get(helmRelease))).toBe(true);
    expect(suspended(await client.get(kustomization))).toBe(true);

    // Once that request has finished, its entry no longer holds: both resume, the list goes.
    await setStatus(client, other, {
      conditions: [condition("Complete", "True", "Succeeded", "upgraded")],
    });
    const result = await runCli(["unfreeze", "web", "--force", "-n", ns]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`resumed HelmRelease ${ns}/web\nresumed Kustomization ${ns}/apps\n`);
    const ks = await client.get(kustomization);
    expect(suspended(ks)).toBe(false);
    expect(ks.metadata.annotations?.["cairn.dev/suspended-by"]).toBeUndefined();
  });

  it("resumes the HelmRelease first, then the Kustomization, and says when nothing is suspended", async () => {
    await suspendBoth();
    const [hrBefore, ksBefore] = await Promise.all([
      client.get(helmRelease),
      client.get(kustomization),
    ]);
    // One watch per object from its current version: the first event that lifts the suspension
    // carries the resourceVersion of that write, and etcd orders writes across the cluster.
    const abort = new AbortController();
    const firstResume = (ref: ObjectRef, from: KubeObject) =>
      (async () => {
        for await (const event of client.watch(ref.apiVersion, ref.kind, {
          namespace: ns,
          fieldSelector: `metadata.name=${ref.name}`,
          resourceVersion: from.metadata.resourceVersion ?? "",
          signal: abort.signal,
        })) {
          if (event.type === "MODIFIED" && !suspended(event.object))
            return BigInt(event.object.metadata.resourceVersion ?? "0");
        }
        throw new Error(`${ref.kind} was never resumed`);
      })();
    const hrResumed = firstResume(helmRelease, hrBefore);
    const ksResumed = firstResume(kustomization, ksBefore);

    const result = await runCli(["unfreeze", "web", "-n", ns, "--force"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`resumed HelmRelease ${ns}/web\nresumed Kustomization ${ns}/apps\n`);
    const [hrAt, ksAt] = await Promise.all([hrResumed, ksResumed]);
    abort.abort();
    expect(hrAt < ksAt).toBe(true);

    for (const ref of [helmRelease, kustomization]) {
      const obj = await client.get(ref);
      expect(suspended(obj)).toBe(false);
      // Flux is asked to reconcile at once rather than at its next interval.
      expect(obj.metadata.annotations?.["reconcile.fluxcd.io/requestedAt"]).toBeDefined();
      const managers = (
        obj.metadata["managedFields"] as { manager: string; fieldsV1?: unknown }[]
      ).filter((m) => m.manager === "cairn" && JSON.stringify(m.fieldsV1).includes("f:suspend"));
      expect(managers).toHaveLength(1);
    }

    const again = await runCli(["unfreeze", "web", "-n", ns, "--force"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(
      `nothing to resume: HelmRelease ${ns}/web and Kustomization ${ns}/apps are not suspended\n`,
    );
  });
});
