import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../src/binaries.ts";
import { readManifests } from "../../src/cluster-objects.ts";

describe("readManifests", () => {
  it("reads crds/'s CRDs and skips its kustomization.yaml", async () => {
    const objects = await readManifests(join(REPO_ROOT, "crds"));
    expect(objects.map((o) => `${o.kind}/${o.metadata.name ?? ""}`)).toEqual([
      "CustomResourceDefinition/managedapps.cairn.dev",
      "CustomResourceDefinition/rollbackrequests.cairn.dev",
      "CustomResourceDefinition/upgraderequests.cairn.dev",
    ]);
  });
});
