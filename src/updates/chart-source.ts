// Where an app's chart versions come from (pure): the HelmRelease's spec.chart.spec names a chart
// and its HelmRepository (HTTP, or OCI with type oci), or its spec.chartRef names an
// OCIRepository, whose tags are the chart's versions. Anything else (a GitRepository, a Bucket, a
// HelmChart) is an answer that names what was found, so the app's UpdateAvailable condition can
// say why it is not checked.
import { z } from "zod";
import type { KubeObject } from "../kube/client.ts";

export interface RepositoryRef {
  readonly namespace: string;
  readonly name: string;
}

export type ChartSourceKind = "HelmRepository" | "OCIRepository";

export type ChartSource =
  | {
      readonly ok: true;
      readonly kind: ChartSourceKind;
      /** The chart's name; for an OCIRepository, known only from its URL (chartOfOciUrl). */
      readonly chart: string | undefined;
      readonly repository: RepositoryRef;
    }
  | { readonly ok: false; readonly message: string };

const HelmReleaseChart = z.object({
  metadata: z.object({ namespace: z.string().optional(), name: z.string().optional() }),
  spec: z
    .object({
      chartRef: z
        .object({ kind: z.string(), name: z.string(), namespace: z.string().optional() })
        .optional(),
      chart: z
        .object({
          spec: z
            .object({
              chart: z.string().optional(),
              sourceRef: z
                .object({ kind: z.string(), name: z.string(), namespace: z.string().optional() })
                .optional(),
            })
            .optional(),
        })
        .optional(),
    })
    .optional(),
});

export function chartSourceOf(helmRelease: KubeObject): ChartSource {
  const parsed = HelmReleaseChart.safeParse(helmRelease);
  const hr = `HelmRelease ${helmRelease.metadata.namespace ?? ""}/${helmRelease.metadata.name ?? ""}`;
  if (!parsed.success) return { ok: false, message: `${hr} has no readable spec.chart` };
  const spec = parsed.data.spec;
  if (spec?.chartRef) {
    if (spec.chartRef.kind !== "OCIRepository")
      return {
        ok: false,
        message: `${hr} takes its chart from ${spec.chartRef.kind} ${spec.chartRef.name} (spec.chartRef); update checks read HelmRepositories and OCIRepositories only`,
      };
    return {
      ok: true,
      kind: "OCIRepository",
      chart: undefined,
      repository: {
        namespace: spec.chartRef.namespace ?? helmRelease.metadata.namespace ?? "",
        name: spec.chartRef.name,
      },
    };
  }
  const chart = spec?.chart?.spec;
  if (!chart?.chart || !chart.sourceRef) {
    return { ok: false, message: `${hr} names no spec.chart.spec.chart and sourceRef` };
  }
  if (chart.sourceRef.kind !== "HelmRepository") {
    return {
      ok: false,
      message: `${hr} takes chart ${chart.chart} from ${chart.sourceRef.kind} ${chart.sourceRef.name}; update checks read HelmRepositories and OCIRepositories only`,
    };
  }
  return {
    ok: true,
    kind: "HelmRepository",
    chart: chart.chart,
    repository: {
      namespace: chart.sourceRef.namespace ?? helmRelease.metadata.namespace ?? "",
      name: chart.sourceRef.name,
    },
  };
}

/** Where a HelmRelease's chart version sits in its own manifest. */
export const HELM_CHART_VERSION_PATH = "spec.chart.spec.version";
/** Where the tag of an OCIRepository sits in its manifest: for spec.chartRef, the chart version. */
export const OCI_TAG_VERSION_PATH = "spec.ref.tag";

/** The OCIRepository a HelmRelease takes its chart from through spec.chartRef, if it does. */
export function chartOciRepository(helmRelease: KubeObject | undefined): RepositoryRef | undefined {
  if (!helmRelease) return undefined;
  const source = chartSourceOf(helmRelease);
  return source.ok && source.kind === "OCIRepository" ? source.repository : undefined;
}

/**
 * The version path an upgrade of a HelmRelease app edits when its versionPolicy names none: the
 * tag of the OCIRepository its spec.chartRef names, else spec.chart.spec.version.
 */
export const defaultChartVersionPath = (helmRelease: KubeObject | undefined): string =>
  chartOciRepository(helmRelease) ? OCI_TAG_VERSION_PATH : HELM_CHART_VERSION_PATH;

/** What of a HelmRepository the index read needs. */
export interface RepositorySettings {
  readonly ref: RepositoryRef;
  readonly url: string;
  readonly type: string;
  /** Basic auth (username/password) and, in Flux's deprecated layout, TLS files. */
  readonly secretName: string | undefined;
  /** The field that names secretName, for messages (default spec.secretRef). */
  readonly secretField?: string;
  /** An image read through a Flux ImagePolicy of this name in ref.namespace (type image). */
  readonly imagePolicy?: string;
  /** TLS: ca.crt, and tls.crt + tls.key for a client certificate. */
  readonly certSecretName: string | undefined;
  /** spec.passCredentials: basic auth also for chart URLs on another host. */
  readonly passCredentials: boolean;
  /** spec.insecure: plain HTTP to an OCI registry. */
  readonly insecure: boolean;
  readonly timeout: string | undefined;
  /** Changes whenever the index must be read again: a new spec, or a new artifact revision. */
  readonly fingerprint: string;
  /** The artifact revision source-controller last fetched, when it has one. */
  readonly revision: string | undefined;
}

const HelmRepositoryFields = z.object({
  metadata: z.object({ generation: z.number().optional() }),
  spec: z.object({
    url: z.string().min(1),
    type: z.string().optional(),
    secretRef: z.object({ name: z.string() }).optional(),
    certSecretRef: z.object({ name: z.string() }).optional(),
    passCredentials: z.boolean().optional(),
    insecure: z.boolean().optional(),
    timeout: z.string().optional(),
  }),
  status: z
    .object({ artifact: z.object({ revision: z.string().optional() }).nullish() })
    .optional(),
});

export type SettingsResult =
  | { readonly ok: true; readonly settings: RepositorySettings }
  | {
      readonly ok: false;
      readonly message: string;
      /** A kind of repository Cairn does not read (OCI), as opposed to a broken one. */
      readonly unsupported: boolean;
    };

/** What Cairn reads of a HelmRepository: an HTTP one's index, or an OCI one's tags and charts. */
export function repositorySettings(ref: RepositoryRef, obj: KubeObject): SettingsResult {
  const parsed = HelmRepositoryFields.safeParse(obj);
  const name = `HelmRepository ${ref.namespace}/${ref.name}`;
  if (!parsed.success) return { ok: false, message: `${name} has no spec.url`, unsupported: false };
  const { spec, metadata, status } = parsed.data;
  const type = spec.type ?? "default";
  const oci = type === "oci";
  if (type !== "default" && !oci) {
    return {
      ok: false,
      message: `${name} is of type ${type}; Cairn reads HelmRepositories of type default (HTTP) and oci`,
      unsupported: true,
    };
  }
  if (oci && !spec.url.startsWith("oci://")) {
    return {
      ok: false,
      message: `${name}: spec.url ${spec.url} is not an oci:// URL`,
      unsupported: false,
    };
  }
  if (!oci && !/^https?:\/\//.test(spec.url)) {
    return {
      ok: false,
      message: `${name}: spec.url ${spec.url} is not an http(s) URL`,
      unsupported: false,
    };
  }
  const revision = status?.artifact?.revision ?? undefined;
  return {
    ok: true,
    settings: {
      ref,
      url: spec.url,
      type,
      secretName: spec.secretRef?.name,
      certSecretName: spec.certSecretRef?.name,
      passCredentials: spec.passCredentials ?? false,
      insecure: spec.insecure ?? false,
      timeout: spec.timeout,
      fingerprint: `${metadata.generation ?? 0}/${revision ?? ""}`,
      revision,
    },
  };
}
