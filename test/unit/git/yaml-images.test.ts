import { describe, expect, it } from "vitest";
import { lineDiff, readImageTags, setImageTag } from "../../../src/git/yaml-edit.ts";
import {
  currentTag,
  imageNameMatches,
  parseImageRef,
  type ImageOccurrence,
} from "../../../src/git/yaml-images.ts";

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
spec:
  template:
    spec:
      containers:
        - name: app
          image: registry.local:5000/org/shop:1.4.2 # bumped by Cairn
        - name: proxy
          image: "docker.io/envoyproxy/envoy:v1.30.1"
      initContainers:
        - name: migrate
          image: 'org/shop:1.4.2'
`;

const KUSTOMIZATION = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deployment.yaml
images:
  - name: org/shop
    newTag: "1.4.2"   # the release
  - name: nginx
    newName: registry.local:5000/mirror/nginx
    newTag: 1.25
  - {name: redis, newTag: 7.2.4}
`;

const HELM_VALUES = `# values for the db chart
image:
  registry: docker.io
  repository: bitnami/postgresql
  tag: 15.4.0-debian-11-r0
metrics:
  image: {repository: bitnami/postgres-exporter, tag: 0.15.0}
`;

describe("parseImageRef", () => {
  it.each([
    ["nginx", { repository: "nginx", tag: undefined, digest: undefined }],
    ["nginx:1.25", { repository: "nginx", tag: "1.25", digest: undefined }],
    [
      "registry:5000/org/name",
      { repository: "registry:5000/org/name", tag: undefined, digest: undefined },
    ],
    [
      "registry:5000/org/name:tag",
      { repository: "registry:5000/org/name", tag: "tag", digest: undefined },
    ],
    [
      "ghcr.io/org/app:1.0@sha256:abcdef0123",
      { repository: "ghcr.io/org/app", tag: "1.0", digest: "sha256:abcdef0123" },
    ],
  ])("%s", (text, ref) => {
    expect(parseImageRef(text)).toEqual(ref);
  });

  it.each(["", "Upper/Case:1", "app:", "app:-bad", "${REGISTRY}/app:1"])("rejects %j", (text) => {
    expect(parseImageRef(text)).toBeUndefined();
  });
});

describe("imageNameMatches", () => {
  it.each([
    ["org/shop", "org/shop", true],
    ["registry.local:5000/org/shop", "org/shop", true],
    ["registry.local:5000/org/shop", "registry.local:5000/org/shop", true],
    ["other.io/org/shop", "registry.local:5000/org/shop", false],
    ["org/shop", "registry.local:5000/org/shop", false],
    ["org/shopping", "org/shop", false],
    ["myorg/shop", "shop", false],
    ["docker.io/library/nginx", "nginx", true],
    ["localhost/shop", "shop", true],
  ])("%s is %s: %s", (repository, wanted, expected) => {
    expect(imageNameMatches(repository, wanted)).toBe(expected);
  });
});

describe("readImageTags", () => {
  it("finds container-style references with and without registry", () => {
    expect(readImageTags(DEPLOYMENT, "org/shop")).toEqual({
      ok: true,
      occurrences: [
        {
          form: "container",
          document: 0,
          path: ".spec.template.spec.containers[0].image",
          tag: "1.4.2",
          digest: undefined,
        },
        {
          form: "container",
          document: 0,
          path: ".spec.template.spec.initContainers[0].image",
          tag: "1.4.2",
          digest: undefined,
        },
      ],
    });
  });

  it("finds Kustomize images entries by name or newName", () => {
    expect(readImageTags(KUSTOMIZATION, "org/shop")).toMatchObject({
      ok: true,
      occurrences: [{ form: "kustomize", path: ".images[0].newTag", tag: "1.4.2" }],
    });
    expect(readImageTags(KUSTOMIZATION, "mirror/nginx")).toMatchObject({
      occurrences: [{ form: "kustomize", path: ".images[1].newTag", tag: "1.25" }],
    });
    expect(readImageTags(KUSTOMIZATION, "redis")).toMatchObject({
      occurrences: [{ form: "kustomize", path: ".images[2].newTag", tag: "7.2.4" }],
    });
  });

  it("finds Helm repository/tag maps, with the registry key or without", () => {
    expect(readImageTags(HELM_VALUES, "bitnami/postgresql")).toMatchObject({
      occurrences: [{ form: "helm", path: ".image.tag", tag: "15.4.0-debian-11-r0" }],
    });
    expect(readImageTags(HELM_VALUES, "docker.io/bitnami/postgresql")).toMatchObject({
      occurrences: [{ form: "helm", path: ".image.tag" }],
    });
    expect(readImageTags(HELM_VALUES, "bitnami/postgres-exporter")).toMatchObject({
      occurrences: [{ form: "helm", path: ".metrics.image.tag", tag: "0.15.0" }],
    });
  });

  it("reports digests and missing tags instead of hiding them", () => {
    const pinned = "image: ghcr.io/org/app:1.0@sha256:0123abcd\n";
    expect(readImageTags(pinned, "org/app")).toMatchObject({
      occurrences: [{ tag: "1.0", digest: "sha256:0123abcd" }],
    });
    expect(readImageTags("image: org/app\n", "org/app")).toMatchObject({
      occurrences: [{ form: "container", tag: undefined }],
    });
  });

  it("gives a bare container reference its implied tag latest, and nothing else one", () => {
    const occurrences = (content: string): readonly ImageOccurrence[] => {
      const read = readImageTags(content, "org/app");
      return read.ok ? read.occurrences : [];
    };
    expect(occurrences("image: org/app\n").map(currentTag)).toEqual(["latest"]);
    expect(occurrences("image: org/app:1.2\n").map(currentTag)).toEqual(["1.2"]);
    // Pinned by digest: the digest chooses the image, no tag is implied.
    expect(occurrences("image: org/app@sha256:0123abcd\n").map(currentTag)).toEqual([undefined]);
    // A Helm values map without a tag runs the chart's appVersion, not latest.
    expect(occurrences("image:\n  repository: org/app\n").map(currentTag)).toEqual([undefined]);
    const kustomize = "images:\n  - name: org/app\n    newName: org/app\n";
    expect(occurrences(kustomize).map(currentTag)).toEqual([undefined]);
  });

  it("errors when the image is set nowhere, or the name is not an image name", () => {
    expect(readImageTags(DEPLOYMENT, "org/other")).toMatchObject({
      ok: false,
      error: { code: "image-not-found" },
    });
    expect(readImageTags(DEPLOYMENT, "org/shop:1.0")).toMatchObject({
      error: { code: "invalid-value" },
    });
    expect(readImageTags("a: [\n", "org/shop")).toMatchObject({ error: { code: "not-yaml" } });
  });
});

describe("setImageTag", () => {
  it("sets every container reference, keeping registry, quoting and comments", () => {
    const result = setImageTag(DEPLOYMENT, "org/shop", "1.5.0");
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(lineDiff(DEPLOYMENT, result.content)).toBe(
      [
        "-          image: registry.local:5000/org/shop:1.4.2 # bumped by Cairn",
        "+          image: registry.local:5000/org/shop:1.5.0 # bumped by Cairn",
        "-          image: 'org/shop:1.4.2'",
        "+          image: 'org/shop:1.5.0'",
      ].join("\n"),
    );
    expect(result.previous.map((o) => o.tag)).toEqual(["1.4.2", "1.4.2"]);
  });

  it("adds a tag to a reference that has none", () => {
    expect(setImageTag("image: org/app\n", "org/app", "2.0")).toMatchObject({
      content: "image: org/app:2.0\n",
    });
  });

  it("sets Kustomize newTag, quoting a tag that plain YAML would read as a number", () => {
    const result = setImageTag(KUSTOMIZATION, "nginx", "1.26");
    expect(result).toMatchObject({ ok: true });
    if (!result.ok) return;
    // Plain 1.26 reads as the number 1.26, which still says "1.26"; it keeps its style.
    expect(lineDiff(KUSTOMIZATION, result.content)).toBe("-    newTag: 1.25\n+    newTag: 1.26");
    const tens = setImageTag(KUSTOMIZATION, "nginx", "1.30");
    if (!tens.ok) throw new Error(tens.error.message);
    expect(lineDiff(KUSTOMIZATION, tens.content)).toBe('-    newTag: 1.25\n+    newTag: "1.30"');
    const flow = setImageTag(KUSTOMIZATION, "redis", "7.4.0");
    if (!flow.ok) throw new Error(flow.error.message);
    expect(lineDiff(KUSTOMIZATION, flow.content)).toBe(
      "-  - {name: redis, newTag: 7.2.4}\n+  - {name: redis, newTag: 7.4.0}",
    );
  });

  it("sets a Helm tag and leaves the other image alone", () => {
    const result = setImageTag(HELM_VALUES, "bitnami/postgresql", "16.1.0-debian-12-r0");
    if (!result.ok) throw new Error(result.error.message);
    expect(lineDiff(HELM_VALUES, result.content)).toBe(
      "-  tag: 15.4.0-debian-11-r0\n+  tag: 16.1.0-debian-12-r0",
    );
  });

  it("sets the image in every document of a multi-document file", () => {
    const file = `${DEPLOYMENT}---\n${KUSTOMIZATION}`;
    const result = setImageTag(file, "org/shop", "2.0.0");
    if (!result.ok) throw new Error(result.error.message);
    expect(result.previous.map((o) => [o.form, o.document])).toEqual([
      ["container", 0],
      ["container", 0],
      ["kustomize", 1],
    ]);
    expect(readImageTags(result.content, "org/shop")).toMatchObject({
      occurrences: [{ tag: "2.0.0" }, { tag: "2.0.0" }, { tag: "2.0.0" }],
    });
    expect(lineDiff(file, result.content).split("\n")).toHaveLength(6);
  });

  it("refuses digests, entries without a tag and invalid tags", () => {
    expect(setImageTag("image: org/app:1@sha256:0123abcd\n", "org/app", "2")).toMatchObject({
      ok: false,
      error: { code: "digest-pinned" },
    });
    expect(
      setImageTag("images:\n  - name: org/app\n    digest: sha256:0123abcd\n", "org/app", "2"),
    ).toMatchObject({ error: { code: "digest-pinned" } });
    expect(
      setImageTag("images:\n  - name: org/app\n    newName: x/app\n", "org/app", "2"),
    ).toMatchObject({
      error: { code: "no-tag" },
    });
    expect(setImageTag(DEPLOYMENT, "org/shop", "bad tag")).toMatchObject({
      error: { code: "invalid-value" },
    });
  });

  it("leaves content untouched when the tag is already set", () => {
    expect(setImageTag(DEPLOYMENT, "org/shop", "1.4.2")).toMatchObject({
      ok: true,
      content: DEPLOYMENT,
    });
  });
});
