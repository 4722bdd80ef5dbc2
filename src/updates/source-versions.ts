// The versions an app's chart source offers, read fresh when an upgrade is planned: the
// HelmRelease's HelmRepository (same namespace rules and credentials as the update check),
// its index read and parsed now rather than taken from the ManagedApp's status, or, for an OCI
// HelmRepository or the OCIRepository of spec.chartRef, the chart's tags; for an app versioned
// by an image tag, the image's tags.
import type { KubeClient, KubeObject } from "../kube/client.ts";
import { isKubeError } from "../kube/errors.ts";
import { chartSourceOf, repositorySettings } from "./chart-source.ts";
import { displayUrl, fetchHelmIndex } from "./fetch-index.ts";
import { parseHelmIndex } from "./helm-index.ts";
import type { VersionImage } from "../api/index.ts";
import { imageSettings, imageTagListing } from "./image-source.ts";
import { listOciChartVersions, listOciTags } from "./oci-registry.ts";
import { chartOfOciUrl, ociRepositorySettings } from "./oci-repository.ts";
import type { SourceVersions } from "./verify-target.ts";

export interface SourceVersionsInput {
  readonly client: Pick<KubeClient, "get">;
  readonly helmRelease: KubeObject;
  /** The ManagedApp's namespace: a HelmRepository elsewhere needs allowCrossNamespaceRefs. */
  readonly namespace: string;
  readonly allowCrossNamespaceRefs: boolean;
}

export async function readSourceVersions(input: SourceVersionsInput): Promise<SourceVersions> {
  const source = chartSourceOf(input.helmRelease);
  if (!source.ok) return { kind: "unsupported", message: source.message };
  const ref = source.repository;
  const name = `${source.kind} ${ref.namespace}/${ref.name}`;
  if (ref.namespace !== input.namespace && !input.allowCrossNamespaceRefs) {
    return {
      kind: "unreadable",
      message: `${name} is in another namespace than the ManagedApp; the controller reads it only with --allow-cross-namespace-refs`,
    };
  }
  let obj: KubeObject;
  try {
    obj = await input.client.get({
      apiVersion: "source.toolkit.fluxcd.io/v1",
      kind: source.kind,
      namespace: ref.namespace,
      name: ref.name,
    });
  } catch (err) {
    if (isKubeError(err, "NotFound")) return { kind: "unreadable", message: `${name} not found` };
    throw err;
  }
  const settings =
    source.kind === "OCIRepository"
      ? ociRepositorySettings(ref, obj)
      : repositorySettings(ref, obj);
  if (!settings.ok) {
    return settings.unsupported
      ? { kind: "unsupported", message: settings.message }
      : { kind: "unreadable", message: settings.message };
  }
  const where = `${name} (${displayUrl(settings.settings.url)})`;
  const chart = source.chart ?? chartOfOciUrl(settings.settings.url);
  if (settings.settings.type !== "default") {
    // An OCI HelmRepository's chart, or the OCIRepository's own: its tags.
    try {
      const versions = await listOciChartVersions(input.client, settings.settings, chart);
      return { kind: "read", source: where, chart, versions };
    } catch (err) {
      return { kind: "unreadable", message: `${where}: ${(err as Error).message}` };
    }
  }
  let text: string;
  try {
    text = await fetchHelmIndex(input.client, settings.settings);
  } catch (err) {
    return { kind: "unreadable", message: `${where}: ${(err as Error).message}` };
  }
  const parsed = parseHelmIndex(text);
  if (!parsed.ok) return { kind: "unreadable", message: `${where}: ${parsed.message}` };
  return {
    kind: "read",
    source: where,
    chart,
    versions: parsed.charts.get(chart) ?? [],
  };
}

/** The tags of an image-versioned app's image (versionPolicy.image), read now. */
export async function readImageVersions(
  client: Pick<KubeClient, "get">,
  namespace: string,
  image: VersionImage,
): Promise<SourceVersions> {
  const settings = imageSettings(namespace, image);
  const where = `the registry (${settings.url})`;
  try {
    const tags = await listOciTags(client, imageTagListing(settings, image.name));
    return { kind: "read", source: where, chart: image.name, versions: tags, image: true };
  } catch (err) {
    return { kind: "unreadable", message: (err as Error).message, image: true };
  }
}
