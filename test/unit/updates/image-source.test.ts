import { describe, expect, it } from "vitest";
import type { KubeObject, ObjectRef } from "../../../src/kube/client.ts";
import { KubeError } from "../../../src/kube/errors.ts";
import { IndexReadError } from "../../../src/updates/fetch-index.ts";
import {
  imageLocation,
  imageSettings,
  imageTagListing,
  readImagePolicyTag,
  sameImage,
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
    // Docker Hub's other names are the same registry.
    expect(imageLocation("docker.io/nginx", false)).toEqual(imageLocation("nginx", false));
    expect(sameImage("index.docker.io/library/nginx", "nginx")).toBe(true);
    expect(sameImage("ghcr.io/org/app", "ghcr.io/org/other")).toBe(false);
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
      ref: { namespace: "shop", name: "image:ghcr.io/org/app#pull#https#" },
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

describe("readImagePolicyTag", () => {
  const policy = (status: unknown): KubeObject => ({
    apiVersion: "image.toolkit.fluxcd.io/v1",
    kind: "ImagePolicy",
    metadata: { name: "web", namespace: "shop" },
    ...(status === undefined ? {} : { status }),
  });
  const client = (obj: KubeObject | undefined) => ({
    get: (ref: ObjectRef) => {
      expect(ref).toMatchObject({ kind: "ImagePolicy", namespace: "shop", name: "web" });
      return obj
        ? Promise.resolve(obj)
        : Promise.reject(new KubeError("NotFound", "not found", 404));
    },
  });
  const failure = async (p: Promise<unknown>) => {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(err instanceof IndexReadError))
      throw new Error(`expected IndexReadError: ${String(err)}`);
    return { reason: err.reason, message: err.message };
  };

  it("answers the tag of the policy's latestRef", async () => {
    const chosen = policy({
      latestRef: { name: "ghcr.io/org/web", tag: "1.4.2", digest: "sha256:x" },
    });
    expect(await readImagePolicyTag(client(chosen), "shop", "web", "ghcr.io/org/web")).toEqual([
      "1.4.2",
    ]);
  });

  it("names a missing policy, one that chose nothing yet, and one for another image", async () => {
    expect(
      await failure(readImagePolicyTag(client(undefined), "shop", "web", "ghcr.io/org/web")),
    ).toEqual({
      reason: "SourceNotFound",
      message: "ImagePolicy shop/web not found",
    });
    expect(
      await failure(readImagePolicyTag(client(policy({})), "shop", "web", "ghcr.io/org/web")),
    ).toEqual({
      reason: "PolicyNotReady",
      message:
        "ImagePolicy shop/web has selected no image yet (no status.latestRef; see its Ready condition)",
    });
    const other = policy({ latestRef: { name: "ghcr.io/org/api", tag: "2.0.0" } });
    expect(
      await failure(readImagePolicyTag(client(other), "shop", "web", "ghcr.io/org/web")),
    ).toEqual({
      reason: "SourceInvalid",
      message:
        "ImagePolicy shop/web selects image ghcr.io/org/api, not ghcr.io/org/web (spec.versionPolicy.image.name)",
    });
  });
});
