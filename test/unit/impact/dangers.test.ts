import { describe, expect, it } from "vitest";
import {
  type AppOwner,
  configUses,
  findDangers,
  unacknowledged,
} from "../../../src/impact/dangers.ts";
import { type CompareMode, computeImpact } from "../../../src/impact/diff.ts";
import {
  type KubeObject,
  objectKey,
  parseObjects,
  type RenderedObject,
} from "../../../src/impact/objects.ts";

function objects(yaml: string): RenderedObject[] {
  const parsed = parseObjects(yaml, "demo");
  if (!parsed.ok) throw new Error(parsed.message);
  return [...parsed.objects];
}

const OWNER: AppOwner = { kind: "HelmRelease", releaseName: "demo", namespace: "demo" };

function dangers(
  current: string,
  target: string,
  options: { mode?: CompareMode; live?: Map<string, KubeObject>; owner?: AppOwner } = {},
) {
  const c = objects(current);
  const t = objects(target);
  const mode = options.mode ?? "manifest";
  return findDangers({
    current: c,
    target: t,
    impact: computeImpact(c, t, mode),
    mode,
    owner: options.owner ?? OWNER,
    live: options.live ?? new Map(),
  });
}

const deployment = (podSpec: string) => `
apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  selector: { matchLabels: { app: web } }
  template:
    spec: ${podSpec}
`;

const SECRET = `
---
apiVersion: v1
kind: Secret
metadata: { name: db }
`;

describe("ReferencedConfigRemoved", () => {
  const uses = deployment(
    `{ containers: [{ name: web, envFrom: [{ secretRef: { name: db } }] }] }`,
  );

  it("catches the incident: a Secret the Deployment uses stops being rendered", () => {
    const found = dangers(uses + SECRET, uses);
    expect(found).toEqual([
      {
        check: "ReferencedConfigRemoved",
        object: { group: "", kind: "Secret", namespace: "demo", name: "db" },
        message:
          "Secret demo/db is no longer rendered but Deployment.apps demo/web still references it: their pods will fail to start",
      },
    ]);
  });

  it("catches an ExternalSecret whose target Secret is used", () => {
    const es = `
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: { name: db-source }
spec: { target: { name: db } }
`;
    const found = dangers(uses + es, uses);
    expect(found.map((f) => [f.check, f.object.kind, f.object.name])).toEqual([
      ["ReferencedConfigRemoved", "ExternalSecret", "db-source"],
    ]);
    expect(found[0]?.message).toContain("(its Secret db)");
  });

  it("catches a SealedSecret and a ConfigMap mounted through a projected volume", () => {
    const both = deployment(`
      containers: [{ name: web }]
      volumes:
        - name: p
          projected: { sources: [{ configMap: { name: settings } }, { secret: { name: sealed } }] }`);
    const extra = `
---
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata: { name: sealed }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: settings }
`;
    expect(dangers(both + extra, both).map((f) => f.object.kind)).toEqual([
      "ConfigMap",
      "SealedSecret",
    ]);
  });

  it("is quiet when the reference is optional, unused, or another object still provides it", () => {
    const optional = deployment(
      `{ containers: [{ name: web, envFrom: [{ secretRef: { name: db, optional: true } }] }] }`,
    );
    expect(dangers(optional + SECRET, optional)).toEqual([]);
    const unused = deployment(`{ containers: [{ name: web }] }`);
    expect(dangers(unused + SECRET, unused)).toEqual([]);
    const viaEso = `
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: { name: db }
`;
    expect(dangers(uses + SECRET, uses + viaEso)).toEqual([]);
  });

  it("reads every place a pod spec names a Secret or ConfigMap", () => {
    const spec = {
      imagePullSecrets: [{ name: "pull" }],
      initContainers: [{ env: [{ valueFrom: { configMapKeyRef: { name: "init-cm" } } }] }],
      containers: [
        {
          env: [{ valueFrom: { secretKeyRef: { name: "env-secret" } } }],
          envFrom: [{ configMapRef: { name: "env-cm" } }],
        },
      ],
      volumes: [{ secret: { secretName: "vol-secret" } }, { configMap: { name: "vol-cm" } }],
    };
    expect(
      configUses(spec)
        .map((u) => `${u.kind}/${u.name}`)
        .sort(),
    ).toEqual([
      "ConfigMap/env-cm",
      "ConfigMap/init-cm",
      "ConfigMap/vol-cm",
      "Secret/env-secret",
      "Secret/pull",
      "Secret/vol-secret",
    ]);
  });
});

describe("VolumeDataRemoved", () => {
  const sts = `
apiVersion: apps/v1
kind: StatefulSet
metadata: { name: db }
spec: { volumeClaimTemplates: [{ metadata: { name: data } }] }
`;
  const pvc = `
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: { name: files }
`;

  it("names a removed PVC and a removed StatefulSet with claims", () => {
    const found = dangers(sts + pvc, "");
    expect(found.map((f) => [f.check, f.object.kind, f.object.name])).toEqual([
      ["VolumeDataRemoved", "PersistentVolumeClaim", "files"],
      ["VolumeDataRemoved", "StatefulSet", "db"],
    ]);
    expect(found[1]?.message).toContain("(data)");
  });

  it("is quiet for a PVC Helm keeps by its resource policy", () => {
    const kept = `
apiVersion: v1
kind: PersistentVolumeClaim
metadata: { name: files, annotations: { helm.sh/resource-policy: keep } }
`;
    expect(dangers(kept, "")).toEqual([]);
  });
});

describe("ImmutableFieldChanged", () => {
  const sts = (size: string, serviceName = "db") => `
apiVersion: apps/v1
kind: StatefulSet
metadata: { name: db }
spec:
  serviceName: ${serviceName}
  selector: { matchLabels: { app: db } }
  template: { spec: { containers: [{ name: db, image: "db:${size}" }] } }
  volumeClaimTemplates: [{ metadata: { name: data }, spec: { resources: { requests: { storage: ${size} } } } }]
`;

  it("names the StatefulSet and the fields the API server refuses", () => {
    const found = dangers(sts("1Gi"), sts("2Gi", "db2"));
    expect(found).toEqual([
      {
        check: "ImmutableFieldChanged",
        object: { group: "apps", kind: "StatefulSet", namespace: "demo", name: "db" },
        message:
          "StatefulSet.apps demo/db changes spec.volumeClaimTemplates, spec.serviceName, which the API server refuses to update: the apply will fail",
      },
    ]);
  });

  it("is quiet when only mutable fields change", () => {
    const a = sts("1Gi");
    expect(dangers(a, a.replace("db:1Gi", "db:2"))).toEqual([]);
  });

  it("catches a Deployment selector and a PVC class; in live mode ignores fields the build omits", () => {
    const dep = (app: string) =>
      deployment(`{ containers: [] }`).replace("app: web", `app: ${app}`);
    expect(dangers(dep("web"), dep("web2")).map((f) => f.check)).toEqual(["ImmutableFieldChanged"]);
    const liveClaim = `
apiVersion: v1
kind: PersistentVolumeClaim
metadata: { name: files }
spec: { storageClassName: standard, accessModes: [ReadWriteOnce] }
`;
    const built = `
apiVersion: v1
kind: PersistentVolumeClaim
metadata: { name: files }
spec: { accessModes: [ReadWriteOnce] }
`;
    expect(dangers(liveClaim, built, { mode: "live" })).toEqual([]);
    expect(
      dangers(liveClaim, built.replace("ReadWriteOnce", "ReadWriteMany"), { mode: "live" })[0]
        ?.message,
    ).toContain("spec.accessModes");
  });
});

describe("CustomResourceDefinitionRemoved and OwnershipChanged", () => {
  it("names a removed CRD", () => {
    const crd = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: widgets.example.com }
`;
    expect(dangers(crd, "").map((f) => [f.check, f.object.name])).toEqual([
      ["CustomResourceDefinitionRemoved", "widgets.example.com"],
    ]);
  });

  it("names an object another release or Kustomization owns, and not one of ours", () => {
    const target = objects(`
apiVersion: v1
kind: ConfigMap
metadata: { name: shared }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: mine }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: flux }
`);
    const keyAt = (i: number) => {
      const o = target[i];
      if (!o) throw new Error(`no object ${i}`);
      return objectKey(o.id);
    };
    const annotated = (release: string): KubeObject => ({
      metadata: {
        annotations: {
          "meta.helm.sh/release-name": release,
          "meta.helm.sh/release-namespace": "demo",
        },
      },
    });
    const live = new Map<string, KubeObject>([
      [keyAt(0), annotated("other")],
      [keyAt(1), annotated("demo")],
      [
        keyAt(2),
        {
          metadata: {
            labels: {
              "kustomize.toolkit.fluxcd.io/name": "apps",
              "kustomize.toolkit.fluxcd.io/namespace": "flux-system",
            },
          },
        },
      ],
    ]);
    const found = findDangers({
      current: [],
      target,
      impact: computeImpact([], target, "manifest"),
      mode: "manifest",
      owner: OWNER,
      live,
    });
    expect(found.map((f) => f.message)).toEqual([
      "ConfigMap demo/shared exists and belongs to HelmRelease release demo/other; this upgrade takes it over",
      "ConfigMap demo/flux exists and belongs to Kustomization flux-system/apps; this upgrade takes it over",
    ]);
  });
});

describe("unacknowledged", () => {
  it("keeps only the findings whose check the request did not name", () => {
    const object = { group: "", kind: "Secret", namespace: "demo", name: "db" };
    const findings = [
      { check: "ReferencedConfigRemoved" as const, object, message: "a" },
      { check: "VolumeDataRemoved" as const, object, message: "b" },
    ];
    expect(unacknowledged(findings, ["VolumeDataRemoved"]).map((f) => f.message)).toEqual(["a"]);
    expect(unacknowledged(findings, [])).toHaveLength(2);
  });
});
