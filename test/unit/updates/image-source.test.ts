import { describe, expect, it } from "vitest";
import {
  imageLocation,
  imageSettings,
  imageTagListing,
} from "../../../src/updates/image-source.ts";

describe("imageLocation", () => {
  it("reads the registry host from a first component with a dot, a port or localhost", () => {
    expect(imageLocation("ghcr.io/org/app", false)).toEqual({
      base: "https://ghcr.io",
      host: "ghcr.io",
      repository: "org/app",
    });
    expect(imageLocation("127.0.0.1:5000/demo/web", true)).toEqual({
      base: "http://127.0.0.1:5000",
      host: "127.0.0.1:5000",
      repository: "demo/web",
    });
    expect(imageLocation("localhost/web", false).host).toBe("localhost");
  });

  it("looks up names without a registry on Docker Hub, official images under library/", () => {
    expect(imageLocation("nginx", false)).toEqual({
      base: "https://registry-1.docker.io",
      host: "registry-1.docker.io",
      repository: "library/nginx",
      credentialsKey: "https://index.docker.io/v1/",
    });
    expect(imageLocation("bitnami/redis", false).repository).toBe("bitnami/redis");
  });
});

describe("imageSettings and imageTagListing", () => {
  it("take the Secret from the app's namespace, naming the field that refers to it", () => {
    const settings = imageSettings("shop", {
      name: "ghcr.io/org/app",
      secretRef: { name: "pull" },
      insecure: false,
    });
    expect(settings).toMatchObject({
      ref: { namespace: "shop", name: "image:ghcr.io/org/app#pull#https" },
      url: "https://ghcr.io/org/app",
      type: "image",
      fingerprint: "pull/false",
    });
    expect(imageTagListing(settings, "ghcr.io/org/app")).toEqual({
      location: { base: "https://ghcr.io", host: "ghcr.io", repository: "org/app" },
      secret: { namespace: "shop", name: "pull", field: "spec.versionPolicy.image.secretRef" },
      where: "image ghcr.io/org/app (https://ghcr.io/org/app)",
    });
  });
});
