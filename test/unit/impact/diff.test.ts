import { describe, expect, it } from "vitest";
import { REDACTED, computeImpact, fieldChanges } from "../../../src/impact/diff.ts";
import { parseObjects, type RenderedObject } from "../../../src/impact/objects.ts";

function objects(yaml: string, namespace = "demo"): RenderedObject[] {
  const parsed = parseObjects(yaml, namespace);
  if (!parsed.ok) throw new Error(parsed.message);
  return [...parsed.objects];
}

const CURRENT = `
apiVersion: v1
kind: ConfigMap
metadata: { name: settings }
data: { mode: a }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 1
  template:
    spec:
      containers: [{ name: web, image: "web:1" }]
---
apiVersion: v1
kind: Secret
metadata: { name: creds }
stringData: { password: hunter2 }
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: widgets.example.com }
`;

const TARGET = `
# Source: demo/templates/configmap.yaml
apiVersion: v1
kind: ConfigMap
metadata: { name: settings }
data: { mode: a }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 1
  template:
    spec:
      containers: [{ name: web, image: "web:2" }]
---
apiVersion: v1
kind: Secret
metadata: { name: creds }
stringData: { password: swordfish }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: other }
spec: { ports: [{ port: 80 }] }
`;

describe("parseObjects", () => {
  it("keys objects by group, kind, namespace and name, defaulting the namespace", () => {
    const ids = objects(TARGET).map((o) => o.id);
    expect(ids).toEqual([
      { group: "", kind: "ConfigMap", namespace: "demo", name: "settings" },
      { group: "apps", kind: "Deployment", namespace: "demo", name: "web" },
      { group: "", kind: "Secret", namespace: "demo", name: "creds" },
      { group: "", kind: "Service", namespace: "other", name: "web" },
    ]);
  });

  it("leaves cluster-scoped kinds without a namespace and unwraps Lists", () => {
    const ids = objects(`
apiVersion: v1
kind: List
items:
  - { apiVersion: apiextensions.k8s.io/v1, kind: CustomResourceDefinition, metadata: { name: a.b.c } }
  - { apiVersion: v1, kind: ConfigMap, metadata: { name: x } }
`).map((o) => o.id);
    expect(ids).toEqual([
      {
        group: "apiextensions.k8s.io",
        kind: "CustomResourceDefinition",
        namespace: "",
        name: "a.b.c",
      },
      { group: "", kind: "ConfigMap", namespace: "demo", name: "x" },
    ]);
  });

  it("names the document that is not an object", () => {
    expect(parseObjects("a: 1\n---\n- x\n", "demo")).toEqual({
      ok: false,
      message: "document 1 has no apiVersion, kind or metadata.name",
    });
    expect(parseObjects("kind: [", "demo").ok).toBe(false);
  });
});

describe("computeImpact in manifest mode", () => {
  const impact = computeImpact(objects(CURRENT), objects(TARGET), "manifest");

  it("lists exactly what is added, changed and removed", () => {
    expect(impact.added.map((a) => a.id.name)).toEqual(["web"]);
    expect(impact.added[0]?.id.namespace).toBe("other");
    expect(impact.changed.map((c) => `${c.id.kind}/${c.id.name}`)).toEqual([
      "Deployment/web",
      "Secret/creds",
    ]);
    expect(impact.removed).toEqual([
      {
        group: "apiextensions.k8s.io",
        kind: "CustomResourceDefinition",
        namespace: "",
        name: "widgets.example.com",
      },
    ]);
    expect(impact.unchanged).toBe(1);
  });

  it("names each changed field with its old and new value", () => {
    expect(impact.changed[0]?.changes).toEqual([
      { path: "spec.template.spec.containers[0].image", from: "web:1", to: "web:2" },
    ]);
  });

  it("never carries a Secret's values", () => {
    expect(impact.changed[1]?.changes).toEqual([{ path: "stringData.password", redacted: true }]);
    expect(JSON.stringify(impact)).not.toMatch(/hunter2|swordfish/);
  });

  it("reports fields that appear and disappear, with awkward keys quoted", () => {
    const id = { group: "", kind: "ConfigMap", namespace: "demo", name: "x" };
    expect(
      fieldChanges(
        id,
        { metadata: { annotations: { "a.b/c": "1" } }, data: { gone: "x" } },
        { metadata: { annotations: { "a.b/c": "2" } }, data: { fresh: "y" } },
        "manifest",
      ),
    ).toEqual([
      { path: "data.fresh", to: "y" },
      { path: "data.gone", from: "x" },
      { path: 'metadata.annotations["a.b/c"]', from: "1", to: "2" },
    ]);
  });

  it("redacts the values of an added Secret", () => {
    const added = computeImpact([], objects(TARGET), "manifest").added;
    const secret = added.find((a) => a.id.kind === "Secret");
    expect(secret?.object["stringData"]).toEqual({ password: REDACTED });
  });
});

describe("computeImpact in live mode", () => {
  it("ignores what the server adds and counts only the fields the build sets", () => {
    const id = { group: "apps", kind: "Deployment", namespace: "demo", name: "web" };
    const live = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", uid: "u", resourceVersion: "7", labels: { a: "1" } },
      spec: {
        replicas: 1,
        progressDeadlineSeconds: 600,
        template: {
          spec: { containers: [{ name: "web", image: "web:1", imagePullPolicy: "IfNotPresent" }] },
        },
      },
      status: { replicas: 1 },
    };
    const same = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web" },
      spec: { replicas: 1, template: { spec: { containers: [{ name: "web", image: "web:1" }] } } },
    };
    const bumped = {
      ...same,
      spec: { replicas: 1, template: { spec: { containers: [{ name: "web", image: "web:2" }] } } },
    };
    expect(computeImpact([{ id, object: live }], [{ id, object: same }], "live").unchanged).toBe(1);
    expect(computeImpact([{ id, object: live }], [{ id, object: bumped }], "live").changed).toEqual(
      [
        {
          id,
          changes: [{ path: "spec.template.spec.containers[0].image", from: "web:1", to: "web:2" }],
        },
      ],
    );
    // The same comparison in manifest mode sees the server's fields as removed.
    expect(fieldChanges(id, live, same, "manifest").map((c) => c.path)).toContain(
      "spec.progressDeadlineSeconds",
    );
  });
});
