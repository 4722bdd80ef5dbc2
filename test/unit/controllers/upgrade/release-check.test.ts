// Plan refuses to upgrade over a Helm release that Helm cannot act on (a pending-* newest
// revision, a Secret that does not decode), naming the Secret and the way out; a clean storage, or
// a failed attempt above the deployed revision (Helm upgrades over those), passes.
import { describe, expect, it } from "vitest";
import type { ReleaseStorageView } from "../../../../src/controllers/managedapp/release-storage.ts";
import { releaseStorageCheck } from "../../../../src/controllers/upgrade/release-check.ts";
import { selectRelease } from "../../../../src/helm/select.ts";
import { captured, derive } from "../../../fixtures/load.ts";

const LOCATION = { name: "demo", namespace: "shop", storageNamespace: "shop" };
const view = (secrets: readonly unknown[]): ReleaseStorageView => ({
  kind: "read",
  location: LOCATION,
  selection: selectRelease(secrets),
});

describe("releaseStorageCheck", () => {
  it("passes a release whose newest revision is deployed, naming its Secret", () => {
    expect(
      releaseStorageCheck(view([captured("helm-secret-v1.json"), captured("helm-secret-v2.json")])),
    ).toEqual({
      name: "HelmReleaseStorage",
      passed: true,
      message:
        "Helm release demo (Secrets in namespace shop): revision 2 deployed (Secret shop/sh.helm.release.v1.demo.v2), nothing pending",
    });
  });

  it("refuses a newest revision in pending-upgrade, with the Secret and the recovery command", () => {
    const c = releaseStorageCheck(
      view([
        captured("helm-secret-v1.json"),
        captured("helm-secret-v2.json"),
        captured("helm-secret-v3-pending.json"),
      ]),
    );
    expect(c?.passed).toBe(false);
    expect(c?.message).toContain("Secret shop/sh.helm.release.v1.demo.v3");
    expect(c?.message).toContain("pending-upgrade");
    expect(c?.message).toContain("helm rollback demo 2 --namespace shop --no-hooks");
  });

  it("refuses a release Secret that does not decode, naming it", () => {
    const corrupt = derive(captured("helm-secret-v2.json"), (s) => {
      (s["data"] as { release: string }).release = "not!base64";
    });
    const c = releaseStorageCheck(view([captured("helm-secret-v1.json"), corrupt]));
    expect(c?.passed).toBe(false);
    expect(c?.message).toMatch(
      /Secret shop\/sh\.helm\.release\.v1\.demo\.v2: data\.release is not valid base64; Helm cannot read it either/,
    );
  });

  it("refuses a storage it may not read, and says nothing for an app without HelmRelease", () => {
    const c = releaseStorageCheck({
      kind: "unavailable",
      reason: "ReleaseStorageForbidden",
      message: "Cairn may not list the Helm release Secrets",
    });
    expect(c?.passed).toBe(false);
    expect(c?.message).toBe("ReleaseStorageForbidden: Cairn may not list the Helm release Secrets");
    expect(releaseStorageCheck(undefined)).toBeUndefined();
  });

  it("lets a failed attempt above the deployed revision pass (Helm upgrades over it)", () => {
    const c = releaseStorageCheck(
      view([
        captured("helm-secret-v1.json"),
        captured("helm-secret-v2-after-failure.json"),
        captured("helm-secret-v3-failed.json"),
      ]),
    );
    expect(c?.passed).toBe(true);
  });
});
