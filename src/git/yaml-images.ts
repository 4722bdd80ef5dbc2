// Image tags, by image name, anywhere a YAML file sets them: container-style strings
// (`image: registry:5000/org/app:1.2`), Kustomize `images:` entries (`{name, newTag}`, also in a
// Flux Kustomization's spec.images) and Helm-values maps (`{repository, tag}`, with an optional
// `registry`). Pure; edits go through yaml-scalar.ts, so every other byte is kept.
import { isMap, isScalar, isSeq, type Document, type Scalar, type YAMLMap } from "yaml";
import { IMAGE_NAME_PATTERN, IMAGE_TAG_PATTERN } from "../api/fields.ts";
import {
  applyScalarEdits,
  describePath,
  parseYaml,
  scalarText,
  type NodePath,
  type ScalarEdit,
} from "./yaml-scalar.ts";

export type ImageForm = "container" | "kustomize" | "helm";

export interface ImageOccurrence {
  readonly form: ImageForm;
  /** 0-based */
  readonly document: number;
  /** Of the scalar that holds the tag (container form: the whole reference). */
  readonly path: string;
  /** undefined when the reference or entry names no tag. */
  readonly tag: string | undefined;
  /** Set when the occurrence is pinned by digest; its tag then does not choose the image. */
  readonly digest: string | undefined;
}

/**
 * The tag a container reference without one runs: Docker and the kubelet pull `latest`. Kustomize
 * and Helm entries without a tag have no such meaning (the chart or the manifest decides), so only
 * the container form implies it.
 */
export const IMPLIED_TAG = "latest";

/** The tag an occurrence runs: the written one, or the one a bare container reference implies. */
export function currentTag(occurrence: ImageOccurrence): string | undefined {
  if (occurrence.tag !== undefined) return occurrence.tag;
  return occurrence.form === "container" && occurrence.digest === undefined
    ? IMPLIED_TAG
    : undefined;
}

export type ImageEditError = {
  readonly code:
    "not-yaml" | "image-not-found" | "digest-pinned" | "no-tag" | "not-scalar" | "invalid-value";
  readonly message: string;
};

export type ReadImageTagsResult =
  | { readonly ok: true; readonly occurrences: readonly ImageOccurrence[] }
  | { readonly ok: false; readonly error: ImageEditError };

export type SetImageTagResult =
  | { readonly ok: true; readonly content: string; readonly previous: readonly ImageOccurrence[] }
  | { readonly ok: false; readonly error: ImageEditError };

const IMAGE_NAME = new RegExp(IMAGE_NAME_PATTERN);
const IMAGE_TAG = new RegExp(IMAGE_TAG_PATTERN);

export interface ImageRef {
  readonly repository: string;
  readonly tag: string | undefined;
  readonly digest: string | undefined;
}

/** "host:5000/org/app:1.2@sha256:…" → its parts; undefined for anything else. */
export function parseImageRef(text: string): ImageRef | undefined {
  const at = text.indexOf("@");
  const digest = at >= 0 ? text.slice(at + 1) : undefined;
  const rest = at >= 0 ? text.slice(0, at) : text;
  const colon = rest.lastIndexOf(":");
  const hasTag = colon > rest.lastIndexOf("/");
  const repository = hasTag ? rest.slice(0, colon) : rest;
  const tag = hasTag ? rest.slice(colon + 1) : undefined;
  if (!IMAGE_NAME.test(repository)) return undefined;
  if (tag !== undefined && !IMAGE_TAG.test(tag)) return undefined;
  if (digest !== undefined && !/^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(digest)) {
    return undefined;
  }
  return { repository, tag, digest };
}

/** Docker's rule: a first component with a dot or a port, or "localhost", is a registry host. */
function splitRegistry(name: string): { registry: string | undefined; path: string } {
  const slash = name.indexOf("/");
  const first = slash < 0 ? "" : name.slice(0, slash);
  if (first !== "" && (first.includes(".") || first.includes(":") || first === "localhost")) {
    return { registry: first, path: name.slice(slash + 1) };
  }
  return { registry: undefined, path: name };
}

/**
 * Whether a repository as written in a file is the wanted image. A wanted name with a registry
 * must match exactly; one without matches that path on any registry ("org/app" matches
 * "ghcr.io/org/app"), and Docker Hub's implicit "library/" is allowed for.
 */
export function imageNameMatches(repository: string, wanted: string): boolean {
  if (repository === wanted) return true;
  const want = splitRegistry(wanted);
  if (want.registry !== undefined) return false;
  const { registry, path } = splitRegistry(repository);
  if (registry === undefined) return false;
  if (path === wanted) return true;
  const hub = registry === "docker.io" || registry === "index.docker.io";
  return hub && path === `library/${wanted}`;
}

interface Found {
  readonly occurrence: ImageOccurrence;
  /** The scalar to rewrite, and its new value for a tag; absent when there is no tag to set. */
  readonly target:
    | { readonly path: NodePath; readonly node: Scalar; readonly value: (tag: string) => string }
    | undefined;
}

/** The non-empty scalar under key; a tag may be a number (`tag: 15`). */
function scalarAt(map: YAMLMap, key: string): Scalar | undefined {
  const pair = map.items.find((p) => isScalar(p.key) && p.key.value === key);
  const node = pair?.value;
  if (!isScalar(node) || node.value === null || node.value === undefined) return undefined;
  return node;
}

function stringAt(map: YAMLMap, key: string): { node: Scalar; value: string } | undefined {
  const node = scalarAt(map, key);
  return typeof node?.value === "string" ? { node, value: node.value } : undefined;
}

function keyPath(path: NodePath, key: string): NodePath {
  return [...path, key];
}

function collect(content: string, doc: Document.Parsed, document: number, wanted: string): Found[] {
  const found: Found[] = [];
  const tagOf = (node: Scalar) => scalarText(node, content);

  const visitMap = (map: YAMLMap, path: NodePath, inImagesList: boolean) => {
    // Container style: `image: "<reference>"`.
    const image = stringAt(map, "image");
    if (image) {
      const ref = parseImageRef(image.value);
      if (ref && imageNameMatches(ref.repository, wanted)) {
        const written = ref.repository;
        found.push({
          occurrence: {
            form: "container",
            document,
            path: describePath(keyPath(path, "image")),
            tag: ref.tag,
            digest: ref.digest,
          },
          target: {
            path: keyPath(path, "image"),
            node: image.node,
            value: (t) => `${written}:${t}`,
          },
        });
      }
    }
    // Kustomize style: an entry of an `images:` list.
    const name = stringAt(map, "name");
    const newName = stringAt(map, "newName");
    if (
      inImagesList &&
      ((name && imageNameMatches(name.value, wanted)) ||
        (newName && imageNameMatches(newName.value, wanted)))
    ) {
      found.push(tagEntry("kustomize", map, path, "newTag"));
    }
    // Helm-values style: `{registry?, repository, tag}`.
    const repository = stringAt(map, "repository");
    if (repository) {
      const registry = stringAt(map, "registry")?.value;
      const full = registry ? `${registry}/${repository.value}` : repository.value;
      if (imageNameMatches(full, wanted) || imageNameMatches(repository.value, wanted)) {
        found.push(tagEntry("helm", map, path, "tag"));
      }
    }
    for (const pair of map.items) {
      if (!isScalar(pair.key)) continue;
      const key = String(pair.key.value);
      visit(pair.value, keyPath(path, key), key === "images");
    }
  };

  const tagEntry = (form: ImageForm, map: YAMLMap, path: NodePath, tagKey: string): Found => {
    const tag = scalarAt(map, tagKey);
    const digest = stringAt(map, "digest")?.value;
    const tagPath = keyPath(path, tagKey);
    return {
      occurrence: {
        form,
        document,
        path: describePath(tagPath),
        tag: tag ? tagOf(tag) : undefined,
        digest: digest === "" ? undefined : digest,
      },
      target: tag ? { path: tagPath, node: tag, value: (t) => t } : undefined,
    };
  };

  // Aliases are not followed: an image reached through one is set where its anchor is.
  const visit = (node: unknown, path: NodePath, inImagesKey: boolean) => {
    if (isMap(node)) visitMap(node, path, false);
    else if (isSeq(node)) {
      for (const [i, item] of node.items.entries()) {
        if (isMap(item)) visitMap(item, [...path, i], inImagesKey);
        else visit(item, [...path, i], false);
      }
    }
  };

  visit(doc.contents, [], false);
  return found;
}

type Scan =
  | { ok: true; docs: readonly Document.Parsed[]; found: Found[] }
  | { ok: false; error: ImageEditError };

function scan(content: string, imageName: string): Scan {
  if (!IMAGE_NAME.test(imageName)) {
    return {
      ok: false,
      error: {
        code: "invalid-value",
        message: `${JSON.stringify(imageName)} is not an image name without tag`,
      },
    };
  }
  const parsed = parseYaml(content);
  if (!parsed.ok) return { ok: false, error: { code: "not-yaml", message: parsed.message } };
  const found = parsed.docs.flatMap((doc, i) => collect(content, doc, i, imageName));
  if (found.length === 0) {
    return {
      ok: false,
      error: {
        code: "image-not-found",
        message: `image ${imageName} is set nowhere in the file (looked for image: references, Kustomize images entries and Helm repository/tag maps)`,
      },
    };
  }
  return { ok: true, docs: parsed.docs, found };
}

/** Every place the file sets imageName, with its tag. */
export function readImageTags(content: string, imageName: string): ReadImageTagsResult {
  const scanned = scan(content, imageName);
  return scanned.ok ? { ok: true, occurrences: scanned.found.map((f) => f.occurrence) } : scanned;
}

/** Sets imageName's tag everywhere the file sets it; every other byte is unchanged. */
export function setImageTag(content: string, imageName: string, tag: string): SetImageTagResult {
  if (!IMAGE_TAG.test(tag)) {
    return {
      ok: false,
      error: { code: "invalid-value", message: `${JSON.stringify(tag)} is not a valid image tag` },
    };
  }
  const scanned = scan(content, imageName);
  if (!scanned.ok) return scanned;
  const edits: ScalarEdit[] = [];
  for (const { occurrence, target } of scanned.found) {
    const where = `${occurrence.path} in document ${occurrence.document + 1}`;
    if (occurrence.digest !== undefined) {
      return {
        ok: false,
        error: {
          code: "digest-pinned",
          message: `${where} pins ${imageName} by digest ${occurrence.digest}; a new tag would not change the image, so Cairn does not edit it`,
        },
      };
    }
    if (!target) {
      return {
        ok: false,
        error: {
          code: "no-tag",
          message: `${where}: the ${occurrence.form} entry for ${imageName} has no tag to set`,
        },
      };
    }
    if (occurrence.tag !== tag) {
      edits.push({
        document: occurrence.document,
        path: target.path,
        node: target.node,
        value: target.value(tag),
      });
    }
  }
  const previous = scanned.found.map((f) => f.occurrence);
  if (edits.length === 0) return { ok: true, content, previous };
  const edited = applyScalarEdits(content, scanned.docs, edits);
  if (!edited.ok) return { ok: false, error: { code: edited.code, message: edited.message } };
  return { ok: true, content: edited.content, previous };
}
