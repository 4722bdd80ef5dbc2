// Reads and changes one value in a YAML file from Git, keeping every other byte: comments, key
// order, quoting and all other documents of a multi-document file (pitfall 11 of the domain
// notes). Pure; the byte-level work is in yaml-scalar.ts, image references in yaml-images.ts.
import type { Document, Scalar } from "yaml";
import {
  applyScalarEdits,
  checkValue,
  describePath,
  parseYaml,
  resolvePath,
  scalarText,
  type NodePath,
} from "./yaml-scalar.ts";

export { currentTag, IMPLIED_TAG, readImageTags, setImageTag } from "./yaml-images.ts";
export type { ImageEditError, ImageOccurrence, ImageForm } from "./yaml-images.ts";

export type ValueEditError = {
  readonly code:
    "not-yaml" | "invalid-path" | "path-not-found" | "ambiguous" | "not-scalar" | "invalid-value";
  readonly message: string;
};

export type ReadValueResult =
  | { readonly ok: true; readonly value: string; /** 0-based */ readonly document: number }
  | { readonly ok: false; readonly error: ValueEditError };

export type SetValueResult =
  | {
      readonly ok: true;
      readonly content: string;
      readonly previous: string;
      /** 0-based */
      readonly document: number;
    }
  | { readonly ok: false; readonly error: ValueEditError };

export type ParsedPath = { ok: true; path: NodePath } | { ok: false; message: string };

/**
 * Parses a dot path: "spec.chart.spec.version" or ".spec.values.image.tag", with "[n]" for a
 * list index and '["a.b"]' for a key that holds dots.
 */
export function parseVersionPath(text: string): ParsedPath {
  const path: (string | number)[] = [];
  let rest = text.startsWith(".") ? text.slice(1) : text;
  const bad = (why: string): ParsedPath => ({
    ok: false,
    message: `version path ${JSON.stringify(text)}: ${why}`,
  });
  if (rest === "") return bad("is empty");
  let expectKey = true;
  while (rest !== "") {
    const index = /^\[(\d{1,6})\]/.exec(rest);
    const quoted = /^\[("(?:[^"\\]|\\.)*")\]/.exec(rest);
    const key = /^[^.[\]]+/.exec(rest);
    if (index?.[1] !== undefined) {
      path.push(Number(index[1]));
      rest = rest.slice(index[0].length);
    } else if (quoted?.[1] !== undefined) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(quoted[1]);
      } catch {
        return bad(`bad quoted key ${quoted[1]}`);
      }
      path.push(String(parsed));
      rest = rest.slice(quoted[0].length);
    } else if (expectKey && key) {
      path.push(key[0]);
      rest = rest.slice(key[0].length);
    } else {
      return bad(`unexpected ${JSON.stringify(rest.slice(0, 10))}`);
    }
    expectKey = false;
    if (rest.startsWith(".")) {
      rest = rest.slice(1);
      if (rest === "" || rest.startsWith(".") || rest.startsWith("[")) return bad("empty segment");
      expectKey = true;
    }
  }
  return { ok: true, path };
}

type Located =
  | {
      ok: true;
      document: number;
      value: string;
      node: Scalar;
      path: NodePath;
      docs: readonly Document.Parsed[];
    }
  | { ok: false; error: ValueEditError };

function locate(content: string, versionPath: string): Located {
  const parsedPath = parseVersionPath(versionPath);
  if (!parsedPath.ok)
    return { ok: false, error: { code: "invalid-path", message: parsedPath.message } };
  const parsed = parseYaml(content);
  if (!parsed.ok) return { ok: false, error: { code: "not-yaml", message: parsed.message } };
  const path = parsedPath.path;
  const where = describePath(path);
  const hits: { document: number; value: string; node: Scalar }[] = [];
  let deepest = 0;
  for (const [document, doc] of parsed.docs.entries()) {
    const found = resolvePath(doc, path);
    if (found.kind === "missing") {
      deepest = Math.max(deepest, found.depth);
      continue;
    }
    if (found.kind === "not-scalar") {
      return {
        ok: false,
        error: {
          code: "not-scalar",
          message: `${where} in document ${document + 1} is ${found.what}, not a single value`,
        },
      };
    }
    const value = scalarText(found.node, content);
    if (value !== undefined) hits.push({ document, value, node: found.node });
  }
  const [first] = hits;
  if (!first) {
    const missing = describePath(path.slice(0, deepest + 1));
    return {
      ok: false,
      error: {
        code: "path-not-found",
        message: `${where} is in none of the file's ${parsed.docs.length} document(s); the deepest match ends before ${missing}`,
      },
    };
  }
  const distinct = hits.filter((h) => h.value !== first.value);
  if (distinct.length > 0) {
    const list = hits.map((h) => `document ${h.document + 1}: ${JSON.stringify(h.value)}`);
    return {
      ok: false,
      error: { code: "ambiguous", message: `${where} has different values (${list.join(", ")})` },
    };
  }
  return { ok: true, ...first, path, docs: parsed.docs };
}

/** The kind and metadata.name of one document of a file (0-based), where it has them. */
export function documentIdentity(
  content: string,
  document: number,
): { readonly kind?: string; readonly name?: string } {
  const parsed = parseYaml(content);
  const doc = parsed.ok ? parsed.docs[document] : undefined;
  if (!doc) return {};
  const kind: unknown = doc.getIn(["kind"]);
  const name: unknown = doc.getIn(["metadata", "name"]);
  return {
    ...(typeof kind === "string" ? { kind } : {}),
    ...(typeof name === "string" ? { name } : {}),
  };
}

/** The value at versionPath in the first document where it resolves. */
export function readValue(content: string, versionPath: string): ReadValueResult {
  const found = locate(content, versionPath);
  return found.ok ? { ok: true, value: found.value, document: found.document } : found;
}

/** content with the value at versionPath replaced; every other byte is unchanged. */
export function setValue(content: string, versionPath: string, value: string): SetValueResult {
  const invalid = checkValue(value);
  if (invalid) return { ok: false, error: { code: "invalid-value", message: invalid } };
  const found = locate(content, versionPath);
  if (!found.ok) return found;
  if (found.value === value) {
    return { ok: true, content, previous: found.value, document: found.document };
  }
  const edited = applyScalarEdits(content, found.docs, [
    { document: found.document, path: found.path, node: found.node, value },
  ]);
  if (!edited.ok) return { ok: false, error: { code: edited.code, message: edited.message } };
  return { ok: true, content: edited.content, previous: found.value, document: found.document };
}

/**
 * The changed lines as "-old\n+new" pairs, for a one-line plan diff. Files of equal length are
 * compared line by line; otherwise the common head and tail are cut off.
 */
export function lineDiff(before: string, after: string): string {
  const a = before.split(/\r?\n/);
  const b = after.split(/\r?\n/);
  const out: string[] = [];
  if (a.length === b.length) {
    for (const [i, line] of a.entries()) {
      const other = b[i] ?? "";
      if (line !== other) out.push(`-${line}`, `+${other}`);
    }
    return out.join("\n");
  }
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (
    tail < a.length - head &&
    tail < b.length - head &&
    a[a.length - 1 - tail] === b[b.length - 1 - tail]
  ) {
    tail++;
  }
  for (const line of a.slice(head, a.length - tail)) out.push(`-${line}`);
  for (const line of b.slice(head, b.length - tail)) out.push(`+${line}`);
  return out.join("\n");
}
