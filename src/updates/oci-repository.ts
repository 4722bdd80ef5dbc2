// What of a Flux OCIRepository Cairn reads (pure): to fetch the artifact Flux serves from it, the
// registry repository of spec.url, the manifest to read (the digest of the artifact
// source-controller last pulled, else spec.ref), the layer spec.layerSelector picks (the first one
// without it, as source-controller does) and the pull Secret; to check a chart it serves (a
// HelmRelease's spec.chartRef) for updates, the same repository's tags. Settings Cairn cannot
// honour (a cloud provider's credentials, a service account's pull secrets, TLS or proxy Secrets)
// are an answer naming the field, never a silent anonymous read.
import { z } from "zod";
import type { KubeObject } from "../kube/client.ts";
import type { RepositoryRef, SettingsResult } from "./chart-source.ts";
import { type OciLayerRequest, ociLocation } from "./oci-registry.ts";

/** RepositorySettings.type of an OCIRepository whose tags are a chart's versions. */
export const OCI_REPOSITORY_TYPE = "ocirepository";

const OciRepositoryFields = z.object({
  metadata: z.object({ generation: z.number().optional() }).optional(),
  spec: z.object({
    url: z.string().min(1),
    ref: z
      .object({
        digest: z.string().optional(),
        semver: z.string().optional(),
        tag: z.string().optional(),
      })
      .optional(),
    layerSelector: z.object({ mediaType: z.string().optional() }).optional(),
    provider: z.string().optional(),
    secretRef: z.object({ name: z.string() }).optional(),
    serviceAccountName: z.string().optional(),
    certSecretRef: z.object({ name: z.string() }).optional(),
    proxySecretRef: z.object({ name: z.string() }).optional(),
    insecure: z.boolean().optional(),
  }),
  status: z
    .object({ artifact: z.object({ revision: z.string().optional() }).nullish() })
    .optional(),
});

export type OciArtifactResult =
  | {
      readonly ok: true;
      readonly request: Omit<OciLayerRequest, "maxBytes">;
      /**
       * What helm-controller appends to the version of a chart from this artifact (the first 12
       * hex digits of its digest), when the artifact is pinned by digest.
       */
      readonly versionMetadata?: string;
    }
  | { readonly ok: false; readonly message: string };

/** The digest in an artifact revision: `<tag>@sha256:<hex>`, or `sha256:<hex>` alone. */
export function digestOfRevision(revision: string): string | undefined {
  const digest = revision.slice(revision.lastIndexOf("@") + 1);
  return /^sha256:[0-9a-f]{64}$/.test(digest) ? digest : undefined;
}

/** How to read the artifact an OCIRepository currently serves. */
export function ociArtifactOf(
  ref: { readonly namespace: string; readonly name: string },
  obj: KubeObject,
): OciArtifactResult {
  const name = `OCIRepository ${ref.namespace}/${ref.name}`;
  const parsed = OciRepositoryFields.safeParse(obj);
  if (!parsed.success) return { ok: false, message: `${name} has no spec.url` };
  const { spec, status } = parsed.data;
  if (!spec.url.startsWith("oci://"))
    return { ok: false, message: `${name}: spec.url ${spec.url} is not an oci:// URL` };
  const unread = unreadFields(spec);
  if (unread !== undefined) return { ok: false, message: `${name} ${unread}` };
  const revision = status?.artifact?.revision;
  const pulled = revision === undefined ? undefined : digestOfRevision(revision);
  const reference =
    pulled ??
    spec.ref?.digest ??
    (spec.ref?.semver === undefined ? (spec.ref?.tag ?? "latest") : undefined);
  if (reference === undefined)
    return {
      ok: false,
      message: `${name} has pulled no artifact yet, and its spec.ref.semver names no one tag`,
    };
  let location: ReturnType<typeof ociLocation>;
  try {
    location = ociLocation(spec.url, spec.insecure ?? false);
  } catch {
    return { ok: false, message: `${name}: spec.url ${spec.url} is not a valid URL` };
  }
  const where = `${spec.url.replace(/\/+$/, "")}${reference.startsWith("sha256:") ? "@" : ":"}${reference}`;
  return {
    ok: true,
    ...(reference.startsWith("sha256:") ? { versionMetadata: reference.slice(7, 19) } : {}),
    request: {
      location,
      reference,
      where,
      missing: `the registry has no ${reference} (${name})`,
      mediaType: spec.layerSelector?.mediaType,
      secret: spec.secretRef
        ? { namespace: ref.namespace, name: spec.secretRef.name, field: "spec.secretRef" }
        : undefined,
    },
  };
}

type OciRepositorySpec = z.infer<typeof OciRepositoryFields>["spec"];

/** The access settings Cairn cannot honour, as the end of a sentence naming the object. */
function unreadFields(spec: OciRepositorySpec): string | undefined {
  const unread = [
    spec.provider && spec.provider !== "generic" ? `spec.provider ${spec.provider}` : undefined,
    spec.serviceAccountName ? "spec.serviceAccountName" : undefined,
    spec.certSecretRef ? "spec.certSecretRef" : undefined,
    spec.proxySecretRef ? "spec.proxySecretRef" : undefined,
  ].filter((f): f is string => f !== undefined);
  return unread.length > 0 ? `sets ${unread.join(", ")}, which Cairn does not read` : undefined;
}

/** The chart an OCIRepository serves, by Helm's convention the last part of its URL's path. */
export const chartOfOciUrl = (url: string): string =>
  url.replace(/\/+$/, "").split("/").pop() ?? url;

/**
 * How to list the tags of an OCIRepository a HelmRelease takes its chart from (spec.chartRef):
 * the repository of spec.url, with its pull Secret and scheme. Its spec.ref is not read: the tags
 * offered are every tag of the repository, as Helm pushed them.
 */
export function ociRepositorySettings(ref: RepositoryRef, obj: KubeObject): SettingsResult {
  const name = `OCIRepository ${ref.namespace}/${ref.name}`;
  const parsed = OciRepositoryFields.safeParse(obj);
  if (!parsed.success) return { ok: false, message: `${name} has no spec.url`, unsupported: false };
  const { spec, metadata } = parsed.data;
  if (!spec.url.startsWith("oci://") || !URL.canParse(spec.url.replace(/^oci:/, "https:")))
    return {
      ok: false,
      message: `${name}: spec.url ${spec.url} is not an oci:// URL`,
      unsupported: false,
    };
  const unread = unreadFields(spec);
  if (unread !== undefined) return { ok: false, message: `${name} ${unread}`, unsupported: true };
  return {
    ok: true,
    settings: {
      ref,
      url: spec.url,
      type: OCI_REPOSITORY_TYPE,
      secretName: spec.secretRef?.name,
      certSecretName: undefined,
      passCredentials: false,
      insecure: spec.insecure ?? false,
      timeout: undefined,
      // Its artifact revision moves with every pull of spec.ref; only the spec says where to list.
      fingerprint: String(metadata?.generation ?? 0),
      revision: undefined,
    },
  };
}
