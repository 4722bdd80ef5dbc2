// The README's GitOps install: a kustomization next to copies of crds/ and deploy/ with
// `resources: [crds, deploy]`. Kustomize (and so Flux's kustomize-controller) only accepts a
// folder as a resource when it holds a kustomization.yaml; this loads the README's layout with
// the harness's kustomize subset. test/e2e/gitops-install.test.ts applies it with the real
// kustomize-controller.
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadKustomizeBase, readKustomization } from "../../support/manifests.ts";
import { readmeGitopsKustomization } from "../../support/readme.ts";

const ROOT = join(import.meta.dirname, "../../..");
const dir = mkdtempSync(join(tmpdir(), "cairn-gitops-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the README's GitOps install", () => {
  it("crds/ is a kustomize base of exactly its CRDs, without the examples", () => {
    const crdFiles = readdirSync(join(ROOT, "crds")).filter((f) => f.startsWith("cairn.dev_"));
    expect(readKustomization(join(ROOT, "crds")).resources).toEqual(crdFiles.sort());
    const objects = loadKustomizeBase(join(ROOT, "crds"));
    expect(objects.map((o) => o.kind)).toEqual(crdFiles.map(() => "CustomResourceDefinition"));
  });

  it("renders the CRDs and deploy/ with the README's image override", () => {
    cpSync(join(ROOT, "crds"), join(dir, "crds"), { recursive: true });
    cpSync(join(ROOT, "deploy"), join(dir, "deploy"), { recursive: true });
    writeFileSync(join(dir, "kustomization.yaml"), readmeGitopsKustomization());
    const objects = loadKustomizeBase(dir);
    const kinds = objects.map((o) => o.kind);
    expect(kinds.filter((k) => k === "CustomResourceDefinition")).toHaveLength(3);
    expect(kinds).toEqual(expect.arrayContaining(["Namespace", "Deployment", "Service"]));
    const deployment = objects.find((o) => o.kind === "Deployment");
    const image = (
      deployment?.["spec"] as { template: { spec: { containers: { image: string }[] } } }
    ).template.spec.containers[0]?.image;
    expect(image).toBe("registry.example.com/cairn:0.1.0");
  });
});
