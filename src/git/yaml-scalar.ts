// The part of YAML editing that touches bytes: parse every document of a file, find scalars by
// node path, and replace one scalar's source range with a new value in the same quoting style.
// Nothing is ever re-serialized, so comments, key order, indentation, quoting and the other
// documents stay byte-identical; each edit is checked by parsing the result again.
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  parseAllDocuments,
  visit,
  type Document,
  type Scalar,
} from "yaml";
import { hasControlChar } from "./text.ts";

/** Larger files are not app manifests; refusing them bounds parse time and memory. */
export const MAX_YAML_BYTES = 1024 * 1024;
/**
 * Aliases are never expanded here (only toJS does that, and this code walks nodes), so an alias
 * bomb costs nothing; a file that leans on hundreds of them is refused all the same, since an
 * edit reached through an alias would change every place that uses its anchor.
 */
export const MAX_ALIAS_COUNT = 100;

/** A step into a map (key) or a sequence (index). */
export type NodePath = readonly (string | number)[];

export type ParsedYaml =
  | { readonly ok: true; readonly docs: readonly Document.Parsed[] }
  | { readonly ok: false; readonly message: string };

export function parseYaml(content: string): ParsedYaml {
  if (Buffer.byteLength(content, "utf8") > MAX_YAML_BYTES) {
    return { ok: false, message: `the file is larger than ${MAX_YAML_BYTES} bytes` };
  }
  const docs = parseAllDocuments(content);
  let aliases = 0;
  for (const [i, doc] of docs.entries()) {
    const first = doc.errors[0];
    if (first) {
      return { ok: false, message: `document ${i + 1}: ${first.message.split("\n")[0] ?? ""}` };
    }
    visit(doc, {
      Alias: () => {
        aliases++;
      },
    });
  }
  if (aliases > MAX_ALIAS_COUNT) {
    return { ok: false, message: `the file uses more than ${MAX_ALIAS_COUNT} aliases` };
  }
  return { ok: true, docs };
}

export type Resolved =
  | { readonly kind: "scalar"; readonly node: Scalar }
  | { readonly kind: "missing"; readonly depth: number }
  | { readonly kind: "not-scalar"; readonly what: string };

/** Follows path from a document's root. Aliases are not followed: editing one edits its anchor. */
export function resolvePath(doc: Document.Parsed, path: NodePath): Resolved {
  let node: unknown = doc.contents;
  for (const [depth, step] of path.entries()) {
    if (isAlias(node)) return { kind: "not-scalar", what: `an alias (*${node.source})` };
    if (typeof step === "string" && isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === step);
      if (!pair) return { kind: "missing", depth };
      node = pair.value;
    } else if (typeof step === "number" && isSeq(node) && step < node.items.length) {
      node = node.items[step];
    } else {
      return { kind: "missing", depth };
    }
  }
  if (isAlias(node)) return { kind: "not-scalar", what: `an alias (*${node.source})` };
  if (isMap(node)) return { kind: "not-scalar", what: "a map" };
  if (isSeq(node)) return { kind: "not-scalar", what: "a list" };
  if (!isScalar(node) || node.value === null) return { kind: "not-scalar", what: "empty" };
  return { kind: "scalar", node };
}

/**
 * A scalar's value as the file states it: the string for strings, the source text for numbers
 * and booleans (so `tag: 1.10` reads "1.10", not "1.1").
 */
export function scalarText(node: Scalar, content: string): string | undefined {
  if (typeof node.value === "string") return node.value;
  if (node.value === null || node.value === undefined || !node.range) return undefined;
  return content.slice(node.range[0], node.range[1]);
}

/** A value Cairn writes is one line of printable text: a version, a tag, an image reference. */
export function checkValue(value: string): string | undefined {
  if (value === "") return "the new value is empty";
  if (hasControlChar(value)) return "the new value contains a line break or control character";
  return undefined;
}

/** The value written in a style; block scalars are left alone (undefined). */
function render(style: Scalar["type"], value: string): string | undefined {
  switch (style) {
    case "QUOTE_DOUBLE":
      // JSON's escapes are a subset of YAML's double-quoted ones.
      return JSON.stringify(value);
    case "QUOTE_SINGLE":
      return `'${value.replace(/'/g, "''")}'`;
    case "PLAIN":
      return value;
    default:
      return undefined;
  }
}

export interface ScalarEdit {
  readonly document: number;
  readonly path: NodePath;
  readonly node: Scalar;
  readonly value: string;
}

export type EditResult =
  | { readonly ok: true; readonly content: string }
  | { readonly ok: false; readonly code: "not-scalar" | "not-yaml"; readonly message: string };

function splice(content: string, edits: readonly { start: number; end: number; text: string }[]) {
  let out = content;
  for (const e of [...edits].sort((a, b) => b.start - a.start)) {
    out = out.slice(0, e.start) + e.text + out.slice(e.end);
  }
  return out;
}

/** Whether the edited content reads as intended at every edited node. */
function verify(
  original: readonly Document.Parsed[],
  edited: string,
  edits: readonly ScalarEdit[],
) {
  const parsed = parseYaml(edited);
  if (!parsed.ok || parsed.docs.length !== original.length) return false;
  return edits.every((edit) => {
    const doc = parsed.docs[edit.document];
    if (!doc) return false;
    const found = resolvePath(doc, edit.path);
    if (found.kind !== "scalar") return false;
    // A string stays a string: "1.10" must not come back as the number 1.1.
    if (typeof edit.node.value === "string" && typeof found.node.value !== "string") return false;
    // A number must mean what it says: "16.10" written plain is the number 16.1.
    if (typeof found.node.value !== "string" && String(found.node.value) !== edit.value)
      return false;
    return scalarText(found.node, edited) === edit.value;
  });
}

/**
 * Applies the edits by splicing each scalar's source range. Each keeps its quoting style; a plain
 * scalar whose new value would not survive plain (it would read as a number, hold ": " or " #",
 * or break a flow collection) is double-quoted instead.
 */
export function applyScalarEdits(
  content: string,
  docs: readonly Document.Parsed[],
  edits: readonly ScalarEdit[],
): EditResult {
  const splices: { start: number; end: number; text: string }[] = [];
  for (const edit of edits) {
    const range = edit.node.range;
    const style = edit.node.type;
    const primary = render(style, edit.value);
    if (!range || primary === undefined) {
      return {
        ok: false,
        code: "not-scalar",
        message: `${describePath(edit.path)} in document ${edit.document + 1} is a block scalar; only single-line scalars can be edited`,
      };
    }
    const [start, end] = range;
    const candidates = style === "PLAIN" ? [primary, JSON.stringify(edit.value)] : [primary];
    const text = candidates.find((t) =>
      verify(docs, splice(content, [{ start, end, text: t }]), [edit]),
    );
    if (text === undefined) {
      return {
        ok: false,
        code: "not-yaml",
        message: `${JSON.stringify(edit.value)} cannot be written at ${describePath(edit.path)} without changing the file's structure`,
      };
    }
    splices.push({ start, end, text });
  }
  const edited = splice(content, splices);
  if (!verify(docs, edited, edits)) {
    return {
      ok: false,
      code: "not-yaml",
      message: "the edited file does not read back as intended",
    };
  }
  return { ok: true, content: edited };
}

const IDENTIFIER = /^[A-Za-z0-9_-]+$/;

/** ".spec.chart.spec.version", ".spec.containers[0].image" */
export function describePath(path: NodePath): string {
  let out = "";
  for (const step of path) {
    if (typeof step === "number") out += `[${step}]`;
    else out += IDENTIFIER.test(step) ? `.${step}` : `[${JSON.stringify(step)}]`;
  }
  return out === "" ? "." : out;
}
