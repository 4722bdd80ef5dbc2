// The objects a Helm release rendered, from its `manifest`: multi-document YAML, each document
// headed by a `# Source:` comment. Parsed with the YAML library document by document, never split on
// "---" (a block scalar may contain that line). Objects without metadata.namespace belong to the
// release namespace (Helm installs them there), except kinds that are cluster-scoped.
import { parseAllDocuments } from "yaml";
import type { AppObjectRef } from "./refs.ts";

export type ManifestError =
  | { readonly code: "InvalidYaml"; readonly document: number; readonly message: string }
  | { readonly code: "TooManyAliases"; readonly document: number; readonly message: string }
  | { readonly code: "NotAnObject"; readonly document: number; readonly message: string }
  | {
      readonly code: "MissingField";
      readonly document: number;
      readonly field: "apiVersion" | "kind" | "metadata.name";
      readonly message: string;
    };
export type ManifestErrorCode = ManifestError["code"];

export type ManifestResult =
  | { readonly ok: true; readonly refs: readonly AppObjectRef[] }
  | { readonly ok: false; readonly error: ManifestError };

export interface ManifestOptions {
  /**
   * Alias expansions allowed per document (the YAML library's guard against "billion laughs").
   * Rendered Helm manifests rarely contain any.
   */
  readonly maxAliasCount?: number;
}

// Cluster-scoped kinds a chart commonly renders. Helm resolves scope through API discovery; a pure
// parser cannot, and a wrong namespace here would only matter for these kinds.
export const CLUSTER_SCOPED: ReadonlySet<string> = new Set([
  "APIService",
  "ClusterRole",
  "ClusterRoleBinding",
  "CSIDriver",
  "CustomResourceDefinition",
  "IngressClass",
  "MutatingWebhookConfiguration",
  "Namespace",
  "PersistentVolume",
  "PriorityClass",
  "RuntimeClass",
  "StorageClass",
  "ValidatingAdmissionPolicy",
  "ValidatingAdmissionPolicyBinding",
  "ValidatingWebhookConfiguration",
  "VolumeSnapshotClass",
]);

type Refs = { ok: true; refs: AppObjectRef[] } | { ok: false; error: ManifestError };

function str(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function refOf(value: unknown, document: number, releaseNamespace: string): Refs {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return {
      ok: false,
      error: {
        code: "NotAnObject",
        document,
        message: `document ${document} is not a YAML mapping`,
      },
    };
  }
  const obj = value as {
    apiVersion?: unknown;
    kind?: unknown;
    metadata?: unknown;
    items?: unknown;
  };
  const apiVersion = str(obj.apiVersion);
  const kind = str(obj.kind);
  const meta = (typeof obj.metadata === "object" ? obj.metadata : undefined) as
    { name?: unknown; namespace?: unknown } | null | undefined;
  const missing = (field: "apiVersion" | "kind" | "metadata.name"): Refs => ({
    ok: false,
    error: {
      code: "MissingField",
      document,
      field,
      message: `document ${document} has no ${field}`,
    },
  });
  if (!apiVersion) return missing("apiVersion");
  if (!kind) return missing("kind");
  // A v1 List wraps objects the API server would create one by one.
  if (kind === "List" && Array.isArray(obj.items)) {
    const refs: AppObjectRef[] = [];
    for (const item of obj.items) {
      const inner = refOf(item, document, releaseNamespace);
      if (!inner.ok) return inner;
      refs.push(...inner.refs);
    }
    return { ok: true, refs };
  }
  const name = str(meta?.name);
  if (!name) return missing("metadata.name");
  const namespace = CLUSTER_SCOPED.has(kind) ? "" : (str(meta?.namespace) ?? releaseNamespace);
  return { ok: true, refs: [{ apiVersion, kind, namespace, name }] };
}

export function parseManifest(
  manifest: string,
  releaseNamespace: string,
  options: ManifestOptions = {},
): ManifestResult {
  const maxAliasCount = options.maxAliasCount ?? 100;
  const refs: AppObjectRef[] = [];
  const docs = parseAllDocuments(manifest);
  // An empty manifest yields an EmptyStream, which is iterable and empty.
  let document = 0;
  for (const doc of docs) {
    document++;
    const syntax = doc.errors[0];
    if (syntax) {
      return {
        ok: false,
        error: {
          code: "InvalidYaml",
          document,
          message: `document ${document}: ${syntax.message}`,
        },
      };
    }
    // A document with only comments (Helm's "# Source:" line of an empty template) has no content.
    if (doc.contents === null) continue;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      // The library's guard says "Excessive alias count …"; other failures here are bad references.
      const code = /excessive alias/i.test(message) ? "TooManyAliases" : "InvalidYaml";
      return { ok: false, error: { code, document, message: `document ${document}: ${message}` } };
    }
    if (value === null || value === undefined) continue;
    const result = refOf(value, document, releaseNamespace);
    if (!result.ok) return result;
    refs.push(...result.refs);
  }
  return { ok: true, refs };
}
