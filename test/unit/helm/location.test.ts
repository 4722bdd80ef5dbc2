import { describe, expect, it } from "vitest";
import {
  releaseLocation,
  releaseSecretSelector,
  shortenReleaseName,
} from "../../../src/helm/location.ts";
import { captured, derive } from "../../fixtures/load.ts";

const hr = (spec: Record<string, unknown> = {}, status: Record<string, unknown> = {}) => ({
  metadata: { name: "demo", namespace: "shop" },
  spec,
  status,
});

describe("releaseLocation", () => {
  it("reads name and storage namespace from a captured HelmRelease's status", () => {
    expect(releaseLocation(captured("helmrelease.json"))).toEqual({
      ok: true,
      location: { name: "demo", namespace: "shop", storageNamespace: "shop" },
    });
  });

  it("prefers the status over the spec, as helm-controller records what it used", () => {
    const moved = derive(captured("helmrelease.json"), (o) => {
      (o["spec"] as Record<string, unknown>)["releaseName"] = "renamed";
    });
    expect(releaseLocation(moved)).toMatchObject({ location: { name: "demo" } });
  });

  it("computes them as helm-controller does when the status has none", () => {
    expect(releaseLocation(hr())).toEqual({
      ok: true,
      location: { name: "demo", namespace: "shop", storageNamespace: "shop" },
    });
    expect(releaseLocation(hr({ targetNamespace: "web" }))).toEqual({
      ok: true,
      location: { name: "web-demo", namespace: "web", storageNamespace: "shop" },
    });
    expect(
      releaseLocation(hr({ releaseName: "r", targetNamespace: "web", storageNamespace: "st" })),
    ).toEqual({ ok: true, location: { name: "r", namespace: "web", storageNamespace: "st" } });
  });

  it("shortens long names the way helm-controller does (its own test vectors)", () => {
    expect(shortenReleaseName("release-name")).toBe("release-name");
    expect(
      shortenReleaseName("release-name-with-very-long-name-which-is-longer-than-53-characters"),
    ).toBe("release-name-with-very-long-name-which-i-788ca0d0d7b0");
    expect(
      shortenReleaseName(
        "another-release-name-with-very-long-name-which-is-longer-than-53-characters",
      ),
    ).toBe("another-release-name-with-very-long-name-7e72150d5a36");
  });

  it("reports a HelmRelease it cannot read instead of throwing", () => {
    expect(releaseLocation({ metadata: { name: "x" } })).toEqual({
      ok: false,
      message:
        "the HelmRelease cannot be read: metadata.namespace: Invalid input: expected string, received undefined",
    });
  });

  it("selects the release's Secrets by Helm's own labels", () => {
    expect(releaseSecretSelector("demo")).toBe("owner=helm,name=demo");
  });
});
