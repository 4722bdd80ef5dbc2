import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadKustomizeBase, readObjects, splitImage } from "../../support/manifests.ts";

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "cairn-kustomize-"));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function write(path: string, text: string): void {
  const full = join(root, path);
  mkdirSync(join(full, ".."), { recursive: true });
  writeFileSync(full, text);
}

const BASE_OBJECTS = `
apiVersion: v1
kind: ServiceAccount
metadata: {name: ctl, namespace: base-ns}
---
# an empty document, as editors leave behind
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ctl}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ctl}
subjects:
  - {kind: ServiceAccount, name: ctl, namespace: base-ns}
  - {kind: ServiceAccount, name: someone-else, namespace: other}
  - {kind: User, name: alice}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: ctl}
rules: []
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ctl, namespace: base-ns}
spec:
  template:
    spec:
      initContainers:
        - {name: init, image: "registry.local:5000/tools/init:1.0"}
      containers:
        - {name: main, image: cairn}
        - {name: side, image: "busybox:1.36"}
---
apiVersion: v1
kind: Namespace
metadata: {name: base-ns}
`;

describe("loadKustomizeBase", () => {
  beforeEach(() => {
    write("base/objects.yaml", BASE_OBJECTS);
    write(
      "base/kustomization.yaml",
      `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [objects.yaml]
`,
    );
  });

  it("returns the objects of every resource file, in kustomize's legacy order", () => {
    const objects = loadKustomizeBase(join(root, "base"));
    expect(objects.map((o) => `${o.kind}/${o.metadata.name ?? ""}`)).toEqual([
      "Namespace/base-ns",
      "ServiceAccount/ctl",
      "ClusterRole/ctl",
      "ClusterRoleBinding/ctl",
      "Deployment/ctl",
    ]);
  });

  it("applies the namespace to namespaced objects only, and renames the Namespace", () => {
    write(
      "overlay/kustomization.yaml",
      `namespace: moved
resources: [../base]
`,
    );
    const objects = loadKustomizeBase(join(root, "overlay"));
    const byKind = new Map(objects.map((o) => [o.kind, o]));
    expect(byKind.get("Namespace")?.metadata).toEqual({ name: "moved" });
    expect(byKind.get("ServiceAccount")?.metadata.namespace).toBe("moved");
    expect(byKind.get("Deployment")?.metadata.namespace).toBe("moved");
    expect(byKind.get("ClusterRole")?.metadata).not.toHaveProperty("namespace");
    expect(byKind.get("ClusterRoleBinding")?.metadata).not.toHaveProperty("namespace");
  });

  it("moves binding subjects along with the ServiceAccount they name, and no others", () => {
    write("overlay/kustomization.yaml", "namespace: moved\nresources: [../base]\n");
    const binding = loadKustomizeBase(join(root, "overlay")).find(
      (o) => o.kind === "ClusterRoleBinding",
    );
    expect(binding?.["subjects"]).toEqual([
      { kind: "ServiceAccount", name: "ctl", namespace: "moved" },
      { kind: "ServiceAccount", name: "someone-else", namespace: "other" },
      { kind: "User", name: "alice" },
    ]);
  });

  it("rewrites matching images in containers and initContainers, keeping what is not overridden", () => {
    write(
      "overlay/kustomization.yaml",
      `resources: [../base]
images:
  - {name: cairn, newName: reg.example/cairn, newTag: "1.2.3"}
  - {name: registry.local:5000/tools/init, digest: "sha256:${"a".repeat(64)}"}
  - {name: busybox, newName: mirror/busybox}
  - {name: unused, newTag: "9"}
`,
    );
    const deployment = loadKustomizeBase(join(root, "overlay")).find(
      (o) => o.kind === "Deployment",
    );
    const podSpec = (
      deployment?.["spec"] as { template: { spec: Record<string, { image: string }[]> } }
    ).template.spec;
    expect(podSpec["containers"]?.map((c) => c.image)).toEqual([
      "reg.example/cairn:1.2.3",
      "mirror/busybox:1.36",
    ]);
    expect(podSpec["initContainers"]?.map((c) => c.image)).toEqual([
      `registry.local:5000/tools/init@sha256:${"a".repeat(64)}`,
    ]);
  });

  it("does not change the objects it read from disk when transforming", () => {
    write("overlay/kustomization.yaml", "namespace: moved\nresources: [../base]\n");
    loadKustomizeBase(join(root, "overlay"));
    const again = loadKustomizeBase(join(root, "base"));
    expect(again.find((o) => o.kind === "Deployment")?.metadata.namespace).toBe("base-ns");
  });

  it("refuses kustomization fields it does not implement, rather than ignoring them", () => {
    write(
      "overlay/kustomization.yaml",
      `resources: [../base]
patches:
  - path: patch.yaml
commonLabels: {a: b}
`,
    );
    expect(() => loadKustomizeBase(join(root, "overlay"))).toThrow(
      /unsupported kustomization fields: patches, commonLabels/,
    );
  });

  it("refuses malformed resources and images lists", () => {
    write("bad1/kustomization.yaml", "resources: objects.yaml\n");
    expect(() => loadKustomizeBase(join(root, "bad1"))).toThrow(/resources must be a list/);
    write("bad2/kustomization.yaml", "resources: []\nimages: [{newTag: x}]\n");
    expect(() => loadKustomizeBase(join(root, "bad2"))).toThrow(/images must be a list/);
  });

  it("names the missing file when a resource does not exist", () => {
    write("bad/kustomization.yaml", "resources: [nope.yaml]\n");
    expect(() => loadKustomizeBase(join(root, "bad"))).toThrow(/nope\.yaml/);
  });
});

describe("readObjects", () => {
  it("rejects documents that are not Kubernetes objects, naming the document", () => {
    write("x.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\njust: data\n");
    expect(() => readObjects(join(root, "x.yaml"))).toThrow(/x\.yaml document 2: not a Kubernetes/);
  });

  it("reports YAML syntax errors with the document number", () => {
    write("y.yaml", "apiVersion: v1\nkind: [unclosed\n");
    expect(() => readObjects(join(root, "y.yaml"))).toThrow(/y\.yaml document 1/);
  });
});

describe("splitImage", () => {
  it.each([
    ["cairn", { name: "cairn" }],
    ["cairn:0.1.0", { name: "cairn", tag: "0.1.0" }],
    ["reg:5000/org/cairn", { name: "reg:5000/org/cairn" }],
    ["reg:5000/org/cairn:v1", { name: "reg:5000/org/cairn", tag: "v1" }],
    ["cairn@sha256:abc", { name: "cairn", digest: "sha256:abc" }],
    ["cairn:v1@sha256:abc", { name: "cairn", tag: "v1", digest: "sha256:abc" }],
  ])("splits %s", (image, parts) => {
    expect(splitImage(image)).toEqual(parts);
  });
});
