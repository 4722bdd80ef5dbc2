// ManagedApp evaluation over the demo app as captured from the test bed: the Helm storage
// fallback for a HelmRelease without an inventory (captured release Secrets, corrupt ones derived
// from them), explicit and excluded PVCs, ReadWriteMany claims, and workloads outside the app's
// objects that mount its PVCs.
import { describe, expect, it } from "vitest";
import { ManagedApp } from "../../../src/api/index.ts";
import { evaluate, type EvaluateInput } from "../../../src/controllers/managedapp/evaluate.ts";
import type { ReleaseStorageView } from "../../../src/controllers/managedapp/release-storage.ts";
import { selectRelease } from "../../../src/helm/select.ts";
import type { KubeObject } from "../../../src/kube/client.ts";
import { captured, capturedList, derive } from "../../fixtures/load.ts";
import { encodeRelease, releaseJson } from "../helm/encode.ts";

const LOCATION = { name: "demo", namespace: "shop", storageNamespace: "shop" };

function demoApp(volumeSnapshots: Record<string, unknown> = {}) {
  return ManagedApp.parse({
    apiVersion: "cairn.dev/v1alpha1",
    kind: "ManagedApp",
    metadata: { name: "demo", namespace: "shop", generation: 1 },
    spec: {
      gitPath: "apps/demo/release.yaml",
      kustomizationRef: { name: "apps" },
      helmReleaseRef: { name: "demo" },
      volumeSnapshots,
    },
  });
}

const withoutInventory = () =>
  derive(captured("helmrelease.json"), (hr) => {
    delete (hr["status"] as Record<string, unknown>)["inventory"];
  });

interface Extra {
  readonly deployments?: KubeObject[];
  readonly pods?: KubeObject[];
  readonly pvcs?: KubeObject[];
}

function input(overrides: Partial<EvaluateInput> = {}, extra: Extra = {}): EvaluateInput {
  return {
    app: demoApp(),
    allowCrossNamespaceRefs: false,
    kustomization: captured("kustomization.json"),
    helmRelease: captured("helmrelease.json"),
    // Read for every HelmRelease, inventory or not.
    releaseStorage: storage([captured("helm-secret-v1.json"), captured("helm-secret-v2.json")]),
    objects: (namespaces) => {
      expect(namespaces).toEqual(["shop"]);
      return {
        deployments: [captured("deployment.json"), ...(extra.deployments ?? [])],
        statefulSets: [captured("statefulset.json")],
        replicaSets: capturedList("replicasets.json"),
        pods: [...capturedList("pods.json"), ...(extra.pods ?? [])],
        pvcs: [...capturedList("pvcs.json"), ...(extra.pvcs ?? [])],
      };
    },
    ...overrides,
  };
}

function storage(secrets: readonly unknown[]): ReleaseStorageView {
  return { kind: "read", location: LOCATION, selection: selectRelease(secrets) };
}

/** A second Deployment, not part of the release, mounting the release's uploads PVC. */
const backup: KubeObject = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "uploads-backup", namespace: "shop", uid: "b-1" },
  spec: {
    replicas: 1,
    template: {
      spec: {
        containers: [{ name: "b", image: "x" }],
        volumes: [{ name: "src", persistentVolumeClaim: { claimName: "demo-uploads" } }],
      },
    },
  },
};

describe("ManagedApp discovery from Helm's storage (HelmRelease without an inventory)", () => {
  it("reads the workloads from the deployed release's manifest and says so", () => {
    const r = evaluate(
      input({
        helmRelease: withoutInventory(),
        releaseStorage: storage([captured("helm-secret-v1.json"), captured("helm-secret-v2.json")]),
      }),
    );
    expect(r.ready).toMatchObject({ status: "True", reason: "Succeeded" });
    expect(r.discovery).toEqual({
      pvcs: [
        { namespace: "shop", name: "data-demo-db-0" },
        { namespace: "shop", name: "demo-uploads" },
      ],
      workloads: [
        {
          kind: "Deployment",
          namespace: "shop",
          name: "demo-web",
          reason: "rendered by Helm release demo revision 2",
        },
        {
          kind: "StatefulSet",
          namespace: "shop",
          name: "demo-db",
          reason: "rendered by Helm release demo revision 2",
        },
      ],
      source: { kind: "HelmRelease", namespace: "shop", name: "demo" },
      via: "HelmReleaseSecrets",
    });
  });

  it("turns Ready=False naming a corrupt Secret above the deployed revision", () => {
    const corrupt = derive(captured("helm-secret-v3-failed.json"), (s) => {
      (s["data"] as { release: string }).release = "bm90IGd6aXA="; // "not gzip", one layer only
    });
    const r = evaluate(
      input({
        helmRelease: withoutInventory(),
        releaseStorage: storage([captured("helm-secret-v2.json"), corrupt]),
      }),
    );
    expect(r.ready.status).toBe("False");
    expect(r.ready.reason).toBe("ReleaseUnreadable");
    expect(r.ready.message).toContain("Secret shop/sh.helm.release.v1.demo.v3");
    // Discovery still reports what the deployed revision rendered.
    expect(r.discovery?.workloads.map((w) => w.name)).toEqual(["demo-web", "demo-db"]);
  });

  it("reports a corrupt only revision without guessing any workload", () => {
    const corrupt = derive(captured("helm-secret-v1-deployed.json"), (s) => {
      (s["data"] as { release: string }).release = "!!!";
    });
    const r = evaluate(
      input({ helmRelease: withoutInventory(), releaseStorage: storage([corrupt]) }),
    );
    expect(r.ready).toMatchObject({ status: "False", reason: "ReleaseUnreadable" });
    expect(r.ready.message).toMatch(
      /^Helm release demo \(Secrets in namespace shop\): Secret shop\/sh\.helm\.release\.v1\.demo\.v1: data\.release is not valid base64$/,
    );
    expect(r.discovery?.workloads).toEqual([]);
  });

  it("names a pending revision left above the deployed one", () => {
    const r = evaluate(
      input({
        helmRelease: withoutInventory(),
        releaseStorage: storage([
          captured("helm-secret-v2.json"),
          captured("helm-secret-v3-pending.json"),
        ]),
      }),
    );
    expect(r.ready).toMatchObject({ status: "False", reason: "ReleasePending" });
    expect(r.ready.message).toContain("revision 3");
    expect(r.ready.message).toContain("pending-upgrade");
  });

  it("adds a failed revision to the message when the HelmRelease's own failure comes first", () => {
    const failing = derive(withoutInventory(), (hr) => {
      const status = hr["status"] as { conditions: { type: string; status: string }[] };
      status.conditions = status.conditions.map((c) =>
        c.type === "Ready" ? { ...c, status: "False", reason: "UpgradeFailed" } : c,
      );
    });
    const r = evaluate(
      input({
        helmRelease: failing,
        releaseStorage: storage([
          captured("helm-secret-v2.json"),
          captured("helm-secret-v3-failed.json"),
        ]),
      }),
    );
    expect(r.ready.status).toBe("False");
    expect(r.ready.reason).toBe("HelmReleaseUpgradeFailed");
    expect(r.ready.message).toMatch(/; Helm storage: .*revision 3 .* is failed above the deployed/);
  });

  it("reports a manifest that cannot be parsed, naming the Secret and revision", () => {
    const json = releaseJson(captured("helm-secret-v2.json"));
    const broken = derive(captured("helm-secret-v2.json"), (s) => {
      (s["data"] as { release: string }).release = encodeRelease({
        ...json,
        manifest: "kind: Deployment\nmetadata: {name: x}\n",
      });
    });
    const r = evaluate(
      input({ helmRelease: withoutInventory(), releaseStorage: storage([broken]) }),
    );
    expect(r.ready).toMatchObject({ status: "False", reason: "ReleaseManifestInvalid" });
    expect(r.ready.message).toBe(
      "Secret shop/sh.helm.release.v1.demo.v2: the manifest of revision 2 cannot be parsed: document 1 has no apiVersion",
    );
  });

  it("says when Cairn may not list the release Secrets", () => {
    const r = evaluate(
      input({
        helmRelease: withoutInventory(),
        releaseStorage: {
          kind: "unavailable",
          reason: "ReleaseStorageForbidden",
          message: "Cairn may not list …",
        },
      }),
    );
    expect(r.ready).toEqual({
      status: "False",
      reason: "ReleaseStorageForbidden",
      message: "Cairn may not list …",
    });
  });

  it("takes the objects from the inventory, and still reads the storage's state", () => {
    const r = evaluate(input());
    expect(r.discovery?.via).toBe("Inventory");
    expect(r.ready.status).toBe("True");
  });

  it("reports a release stuck in pending-upgrade although the HelmRelease has an inventory", () => {
    const r = evaluate(
      input({
        releaseStorage: storage([
          captured("helm-secret-v1.json"),
          captured("helm-secret-v2.json"),
          captured("helm-secret-v3-pending.json"),
        ]),
      }),
    );
    expect(r.discovery?.via).toBe("Inventory");
    expect(r.ready).toEqual({
      status: "False",
      reason: "ReleasePending",
      message:
        "Helm release: shop/demo revision 3 (demo 2.0.0) is pending-upgrade above the deployed revision 2 (Secret shop/sh.helm.release.v1.demo.v3): an action was interrupted and the release is stuck; Helm refuses every further action until it is rolled back: helm rollback demo 2 --namespace shop --no-hooks",
    });
  });

  it("reports a release Secret that does not decode although the HelmRelease has an inventory, naming it", () => {
    const corrupt = derive(captured("helm-secret-v2.json"), (s) => {
      (s["data"] as { release: string }).release = "not!base64";
    });
    const r = evaluate(
      input({ releaseStorage: storage([captured("helm-secret-v1.json"), corrupt]) }),
    );
    expect(r.ready.status).toBe("False");
    expect(r.ready.reason).toBe("ReleaseUnreadable");
    expect(r.ready.message).toContain("Secret shop/sh.helm.release.v1.demo.v2");
  });

  it("is not Ready when the storage of a HelmRelease with an inventory was not read", () => {
    const r = evaluate(input({ releaseStorage: undefined }));
    expect(r.ready).toMatchObject({ status: "False", reason: "ReleaseStorageNotRead" });
  });
});

describe("ManagedApp discovery of PVCs and of the workloads that mount them", () => {
  it("lists a Deployment outside the release that mounts the app's PVC, with its reason", () => {
    const r = evaluate(input({}, { deployments: [backup] }));
    expect(r.discovery?.workloads).toContainEqual({
      kind: "Deployment",
      namespace: "shop",
      name: "uploads-backup",
      reason:
        "outside the HelmRelease's objects; its pod template mounts PVC demo-uploads (volume src)",
    });
    // It is not part of the app, so its health does not count.
    expect(r.ready.status).toBe("True");
  });

  it("names a pod's mount only where the outside workload's template no longer has it", () => {
    const rs: KubeObject = {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: {
        name: "uploads-backup-1",
        namespace: "shop",
        uid: "rs-1",
        ownerReferences: [
          {
            apiVersion: "apps/v1",
            kind: "Deployment",
            name: "uploads-backup",
            uid: "b-1",
            controller: true,
          },
        ],
      },
    };
    const pod = (name: string, claims: string[]): KubeObject => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name,
        namespace: "shop",
        ownerReferences: [
          {
            apiVersion: "apps/v1",
            kind: "ReplicaSet",
            name: "uploads-backup-1",
            uid: "rs-1",
            controller: true,
          },
        ],
      },
      spec: {
        volumes: claims.map((c, i) => ({ name: `v${i}`, persistentVolumeClaim: { claimName: c } })),
      },
      status: { phase: "Running" },
    });
    const base = input({}, { deployments: [backup] });
    const r = evaluate({
      ...base,
      objects: (ns) => {
        const o = base.objects(ns);
        return {
          ...o,
          replicaSets: [...o.replicaSets, rs],
          pods: [...o.pods, pod("uploads-backup-1-a", ["demo-uploads", "data-demo-db-0"])],
        };
      },
    });
    expect(r.discovery?.workloads.find((w) => w.name === "uploads-backup")?.reason).toBe(
      "outside the HelmRelease's objects; its pod template mounts PVC demo-uploads (volume src); pod uploads-backup-1-a mounts PVC data-demo-db-0 (volume v1)",
    );
  });

  it("drops an outside workload once its PVC is excluded", () => {
    const r = evaluate(
      input(
        { app: demoApp({ excludePVCs: [{ name: "demo-uploads" }] }) },
        { deployments: [backup] },
      ),
    );
    expect(r.discovery?.pvcs).toEqual([{ namespace: "shop", name: "data-demo-db-0" }]);
    expect(r.discovery?.workloads.map((w) => w.name)).toEqual(["demo-web", "demo-db"]);
  });

  it("replaces discovery with explicit PVCs, and requires them to exist", () => {
    const r = evaluate(input({ app: demoApp({ pvcs: [{ name: "demo-uploads" }] }) }));
    expect(r.discovery?.pvcs).toEqual([{ namespace: "shop", name: "demo-uploads" }]);
    expect(r.ready.status).toBe("True");
    const missing = evaluate(input({ app: demoApp({ pvcs: [{ name: "scratch" }] }) }));
    expect(missing.ready).toMatchObject({ status: "False", reason: "PvcMissing" });
    expect(missing.ready.message).toBe("PersistentVolumeClaim shop/scratch not found");
  });

  it("ignores a ReadWriteMany PVC the app mounts", () => {
    const shared: KubeObject = {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "shared", namespace: "shop" },
      spec: { accessModes: ["ReadWriteMany"] },
      status: { phase: "Bound" },
    };
    const web = derive(captured("deployment.json"), (d) => {
      const spec = (d["spec"] as { template: { spec: { volumes: unknown[] } } }).template.spec;
      spec.volumes.push({ name: "shared", persistentVolumeClaim: { claimName: "shared" } });
    });
    const base = input({}, { pvcs: [shared] });
    const r = evaluate({
      ...base,
      objects: (ns) => ({ ...base.objects(ns), deployments: [web] }),
    });
    expect(r.discovery?.pvcs.map((p) => p.name)).toEqual(["data-demo-db-0", "demo-uploads"]);
  });

  it("denies a suspendRef in another namespace like the other references", () => {
    const app = ManagedApp.parse({
      ...demoApp(),
      spec: { ...demoApp().spec, suspendRef: { name: "root", namespace: "flux-system" } },
    });
    const r = evaluate(input({ app }));
    expect(r.ready).toMatchObject({ status: "False", reason: "ReferenceDenied" });
    expect(r.ready.message).toContain("spec.suspendRef.namespace");
  });
});
