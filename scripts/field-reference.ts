// Writes docs/fields.md, the field reference of Cairn's custom resources, from the CRDs in crds/
// (their OpenAPI schemas: types, defaults, required fields, descriptions and validation). Run it
// after changing a CRD: `npm run docs:fields`. test/unit/docs/field-reference.test.ts fails
// while docs/fields.md is stale. `--check` exits 1 instead of writing when it is.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { CONDITION_REASON_PATTERN, CONDITION_TYPE_PATTERN } from "../src/api/conditions.ts";
import {
  CHART_VERSION_PATTERN,
  COMMIT_SHA_PATTERN,
  DNS_LABEL_PATTERN,
  DNS_SUBDOMAIN_PATTERN,
  DURATION_MAX_VALUE,
  DURATION_MIN_VALUE,
  DURATION_PATTERN,
  GIT_BRANCH_PATTERN,
  GIT_URL_PATTERN,
  IMAGE_NAME_PATTERN,
  IMAGE_TAG_PATTERN,
  VERSION_VALUE_PATTERN,
} from "../src/api/fields.ts";

export const ROOT = join(import.meta.dirname, "..");
export const FIELDS_MD = join(ROOT, "docs", "fields.md");

interface Schema {
  readonly type?: string;
  readonly description?: string;
  readonly default?: unknown;
  readonly enum?: readonly unknown[];
  readonly pattern?: string;
  readonly format?: string;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly maxItems?: number;
  readonly required?: readonly string[];
  readonly properties?: Readonly<Record<string, Schema>>;
  readonly items?: Schema;
  readonly "x-kubernetes-validations"?: readonly { rule: string; message?: string }[];
  readonly "x-kubernetes-list-type"?: string;
  readonly "x-kubernetes-list-map-keys"?: readonly string[];
}

interface Crd {
  readonly spec: {
    readonly group: string;
    readonly names: {
      readonly kind: string;
      readonly plural: string;
      readonly shortNames?: string[];
    };
    readonly versions: readonly {
      readonly name: string;
      readonly schema: { readonly openAPIV3Schema: Schema };
    }[];
  };
}

export interface FieldRow {
  readonly path: string;
  readonly type: string;
  readonly required: boolean;
  readonly default: string;
  readonly notes: string;
}

/** The API's shared patterns by name; any other pattern is printed as it is. */
const NAMED_PATTERNS: ReadonlyMap<string, string> = new Map([
  [DNS_LABEL_PATTERN, "a DNS label"],
  [DNS_SUBDOMAIN_PATTERN, "a DNS subdomain name"],
  [DURATION_PATTERN, "a Go duration such as `90s` or `5m`"],
  [CHART_VERSION_PATTERN, "a SemVer chart version such as `1.2.3`"],
  [VERSION_VALUE_PATTERN, "a version or image tag"],
  [IMAGE_NAME_PATTERN, "an image name without tag, such as `ghcr.io/org/app`"],
  [IMAGE_TAG_PATTERN, "an image tag"],
  [GIT_URL_PATTERN, "an `https://`, `http://` or `ssh://` URL"],
  [GIT_BRANCH_PATTERN, "a branch name"],
  [COMMIT_SHA_PATTERN, "a full commit SHA"],
  [CONDITION_TYPE_PATTERN, "a CamelCase condition type"],
  [CONDITION_REASON_PATTERN, "a CamelCase reason"],
]);

function typeOf(s: Schema): string {
  if (s.type === "array") return `[]${s.items ? typeOf(s.items) : "any"}`;
  if (s.format === "date-time") return "timestamp";
  return s.type ?? "any";
}

/** Description and validation in one cell, as a reader needs them. */
function notes(s: Schema, parentRules: string[]): string {
  const parts: string[] = [];
  if (s.description) parts.push(s.description.trim().replace(/\s+/g, " "));
  if (s.enum) parts.push(`One of ${s.enum.map((e) => `\`${String(e)}\``).join(", ")}.`);
  if (s.pattern) {
    const named = NAMED_PATTERNS.get(s.pattern);
    parts.push(named ? `Must be ${named}.` : `Pattern \`${s.pattern}\`.`);
  }
  const lengths = [
    s.minLength !== undefined ? `at least ${s.minLength}` : "",
    s.maxLength !== undefined ? `at most ${s.maxLength}` : "",
  ].filter(Boolean);
  if (lengths.length > 0) parts.push(`Length ${lengths.join(", ")}.`);
  if (s.minimum !== undefined) parts.push(`Minimum ${s.minimum}.`);
  if (s.maximum !== undefined) parts.push(`Maximum ${s.maximum}.`);
  if (s.maxItems !== undefined) parts.push(`At most ${s.maxItems} items.`);
  if (s["x-kubernetes-list-map-keys"]) {
    parts.push(`Keyed by ${s["x-kubernetes-list-map-keys"].map((k) => `\`${k}\``).join(", ")}.`);
  }
  for (const v of s["x-kubernetes-validations"] ?? []) parts.push(`Rule: ${v.message ?? v.rule}.`);
  parts.push(...parentRules);
  return parts.join(" ").replace(/\|/g, "\\|");
}

/** Every field under schema, depth first, in the CRD's order. */
export function fieldRows(schema: Schema, prefix: string): FieldRow[] {
  const rows: FieldRow[] = [];
  const walk = (s: Schema, path: string, required: boolean) => {
    rows.push({
      path,
      type: typeOf(s),
      required,
      default: s.default === undefined ? "" : `\`${JSON.stringify(s.default)}\``,
      notes: notes(s, []),
    });
    const object = s.type === "array" ? s.items : s;
    const inner = s.type === "array" ? `${path}[]` : path;
    for (const [name, child] of Object.entries(object?.properties ?? {})) {
      walk(child, `${inner}.${name}`, object?.required?.includes(name) ?? false);
    }
  };
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    walk(child, `${prefix}.${name}`, schema.required?.includes(name) ?? false);
  }
  return rows;
}

function table(rows: readonly FieldRow[]): string {
  const lines = [
    "| Field | Type | Required | Default | Description |",
    "| --- | --- | --- | --- | --- |",
    ...rows.map(
      (r) =>
        `| \`${r.path}\` | ${r.type.replace(/\|/g, "\\|")} | ${r.required ? "yes" : ""} | ${r.default} | ${r.notes} |`,
    ),
  ];
  return lines.join("\n");
}

/** crds/ in the order a reader meets the kinds. */
const ORDER = ["ManagedApp", "UpgradeRequest", "RollbackRequest"];

export function renderFieldReference(crdDir = join(ROOT, "crds")): string {
  const crds = readdirSync(crdDir)
    // kustomization.yaml makes crds/ a kustomize base; it is no CRD.
    .filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml")
    .map((f) => parse(readFileSync(join(crdDir, f), "utf8")) as Crd)
    .sort(
      (a, b) =>
        (ORDER.indexOf(a.spec.names.kind) + 1 || 99) - (ORDER.indexOf(b.spec.names.kind) + 1 || 99),
    );
  const out = [
    "<!-- Generated by scripts/field-reference.ts from crds/; do not edit. Regenerate with: npm run docs:fields -->",
    "",
    "# Field reference",
    "",
    "Every field of Cairn's custom resources, as the CRDs in `crds/` define them (the API server",
    "enforces the types, patterns, limits and rules listed here). Durations are Go durations",
    `(\`90s\`, \`5m\`, \`1h30m\`) from \`${DURATION_MIN_VALUE}\` to \`${DURATION_MAX_VALUE}\` (one week): a`,
    "timeout of zero would fail a step before it starts, and a longer one would hold the app's",
    "lock for longer than any step should wait. Status fields are written by Cairn only.",
    "",
  ];
  for (const crd of crds) {
    const { kind, plural, shortNames } = crd.spec.names;
    for (const version of crd.spec.versions) {
      const root = version.schema.openAPIV3Schema;
      out.push(`## ${kind} (\`${crd.spec.group}/${version.name}\`)`, "");
      const short = shortNames?.length ? `; short name \`${shortNames.join("`, `")}\`` : "";
      out.push(`${root.description ?? ""} Resource \`${plural}\`${short}.`.trim(), "");
      for (const part of ["spec", "status"] as const) {
        const schema = root.properties?.[part];
        if (!schema) continue;
        out.push(`### ${part}`, "");
        const rules = (schema["x-kubernetes-validations"] ?? []).map(
          (v) => `- ${v.message ?? v.rule}`,
        );
        if (rules.length > 0) out.push(`Rules on \`${part}\` as a whole:`, "", ...rules, "");
        out.push(table(fieldRows(schema, part)), "");
      }
    }
  }
  return `${out.join("\n").trimEnd()}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = renderFieldReference();
  if (process.argv.includes("--check")) {
    const current = readFileSync(FIELDS_MD, "utf8");
    if (current !== text) {
      process.stderr.write("docs/fields.md is stale: run npm run docs:fields\n");
      process.exit(1);
    }
  } else {
    writeFileSync(FIELDS_MD, text);
    process.stdout.write(`wrote ${FIELDS_MD}\n`);
  }
}
