// The imperative shell of the impact preview for a HelmRelease app: reads the deployed release
// from Helm storage, gets the chart from the HelmRelease's own source (a HelmRepository at the
// target version, the artifact of its OCIRepository, or a chart folder of its GitRepository),
// resolves valuesFrom, renders with cairn-render, and hands everything to the pure impact and
// danger functions. Nothing here writes to the cluster.
import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve, sep } from "node:path";
import { z } from "zod";
import type { KubeClient, KubeObject } from "../kube/client.ts";
import { isKubeError } from "../kube/errors.ts";
import { getIfExists } from "../kube/get-if-exists.ts";
import { releaseLocation, releaseSecretSelector } from "../helm/location.ts";
import { selectRelease } from "../helm/select.ts";
import { MAX_CHART_BYTES, chartUrlFromIndex } from "../render/chart-source.ts";
import { type RepositorySettings, repositorySettings } from "../updates/chart-source.ts";
import { fetchOciChart, fetchOciLayer } from "../updates/oci-registry.ts";
import { ociArtifactOf } from "../updates/oci-repository.ts";
import { fetchFromRepository, fetchHelmIndex } from "../updates/fetch-index.ts";
import { type HelperOptions, runHelper } from "../render/helper.ts";
import { ValuesReference, resolveValuesFrom } from "../render/values-from.ts";
import { type Finding, findDangers } from "./dangers.ts";
import { type AddedObject, type Impact, computeImpact } from "./diff.ts";
import { type KubeObject as PlainObject, objectKey, parseObjects } from "./objects.ts";

export type PreviewResult =
  | {
      readonly ok: true;
      readonly impact: Impact;
      readonly findings: readonly Finding[];
      /** What the comparison left out, and why. */
      readonly note?: string;
    }
  | { readonly ok: false; readonly message: string };

const SourceRef = z.object({
  kind: z.string(),
  name: z.string(),
  namespace: z.string().optional(),
});

const HelmReleaseSpec = z.object({
  metadata: z.object({ name: z.string(), namespace: z.string() }),
  spec: z.object({
    chart: z
      .object({
        spec: z.object({
          chart: z.string().min(1),
          sourceRef: SourceRef,
          valuesFiles: z.array(z.string()).nullish(),
          ignoreMissingValuesFiles: z.boolean().nullish(),
          reconcileStrategy: z.string().nullish(),
        }),
      })
      .optional(),
    chartRef: SourceRef.optional(),
    values: z.record(z.string(), z.unknown()).nullish(),
    valuesFrom: z.array(ValuesReference).nullish(),
    postRenderers: z.array(z.unknown()).nullish(),
    commonMetadata: z.record(z.string(), z.unknown()).nullish(),
  }),
  status: z.object({ helmChart: z.string().nullish() }).nullish(),
});

// Live lookups for the ownership check stop here; a chart this large is reported without them.
const MAX_LIVE_LOOKUPS = 200;

function fail(message: string): PreviewResult {
  return { ok: false, message };
}

/** The part of KubeClient the preview uses (reads only). */
export type PreviewClient = Pick<KubeClient, "get" | "list" | "serverVersion">;

export interface HelmPreviewInput {
  readonly client: PreviewClient;
  readonly helper: HelperOptions;
  /** The HelmRelease as the upgrade leaves it: its values (and chart version) are rendered. */
  readonly helmRelease: KubeObject;
  /** The chart version to render; the deployed release's when the upgrade keeps the chart. */
  readonly targetVersion?: string | undefined;
  /** Off unless the controller may read across namespaces. */
  readonly allowCrossNamespaceRefs: boolean;
  /**
   * The source tree of a GitRepository, written under `into`, for a chart from a GitRepository;
   * without it such a chart gets no preview.
   */
  readonly gitSource?: GitSourceReader | undefined;
}

/** Writes a GitRepository's tree (as Flux will build it after the commit) into a folder. */
export type GitSourceReader = (
  ref: { readonly namespace: string; readonly name: string },
  into: string,
) => Promise<
  | {
      readonly ok: true;
      /** The GitRepository's spec.ignore, which the artifact (and so the chart) leaves out. */
      readonly ignore?: string | undefined;
      /** Its spec.sparseCheckout: only those folders are in the artifact. */
      readonly sparseCheckout?: readonly string[] | undefined;
    }
  | { readonly ok: false; readonly message: string }
>;

export async function previewHelmRelease(input: HelmPreviewInput): Promise<PreviewResult> {
  const { client } = input;
  const parsed = HelmReleaseSpec.safeParse(input.helmRelease);
  if (!parsed.success)
    return fail(`the HelmRelease cannot be read: ${parsed.error.issues[0]?.message ?? ""}`);
  const hr = parsed.data;
  const located = releaseLocation(input.helmRelease);
  if (!located.ok) return fail(located.message);
  const { location } = located;

  const { items: secrets } = await client.list("v1", "Secret", {
    namespace: location.storageNamespace,
    labelSelector: releaseSecretSelector(location.name),
  });
  const current = selectRelease(secrets).current;
  if (!current)
    return fail(`no deployed revision of Helm release ${location.namespace}/${location.name}`);
  const targetVersion = input.targetVersion ?? current.chart.metadata.version;

  // valuesFrom: the HelmRelease's own namespace, as helm-controller reads them.
  const data = new Map<string, Record<string, string> | undefined>();
  for (const ref of hr.spec.valuesFrom ?? []) {
    const key = `${ref.kind}/${ref.name}`;
    if (data.has(key)) continue;
    const obj = await getIfExists(client, {
      apiVersion: "v1",
      kind: ref.kind,
      namespace: hr.metadata.namespace,
      name: ref.name,
    });
    const raw = (obj?.["data"] ?? {}) as Record<string, string>;
    data.set(
      key,
      obj === undefined
        ? undefined
        : ref.kind === "Secret"
          ? Object.fromEntries(
              Object.entries(raw).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
            )
          : raw,
    );
  }
  const layers = resolveValuesFrom(hr.spec.valuesFrom ?? [], hr.metadata.namespace, (kind, name) =>
    data.get(`${kind}/${name}`),
  );
  if (!layers.ok) return fail(layers.message);

  const dir = await mkdtemp(join(tmpdir(), "cairn-impact-"));
  try {
    const chart = await obtainChart(input, hr, dir, targetVersion);
    if (!chart.ok) return fail(chart.message);
    const rendered = await runHelper(input.helper, {
      helm: {
        chartPath: chart.chartPath,
        ...chart.inputs,
        releaseName: location.name,
        namespace: location.namespace,
        // helm-controller renders for the cluster it talks to; so does the preview.
        kubeVersion: await client.serverVersion(),
        valuesFrom: layers.layers,
        values: hr.spec.values ?? {},
        // Helm stores the post-rendered manifest: without helm-controller's post-renderers
        // every object would lose its origin labels in the comparison.
        helmRelease: {
          name: hr.metadata.name,
          namespace: hr.metadata.namespace,
          ...(hr.spec.postRenderers ? { postRenderers: hr.spec.postRenderers } : {}),
          ...(hr.spec.commonMetadata ? { commonMetadata: hr.spec.commonMetadata } : {}),
        },
      },
    });
    if (!rendered.ok) return fail(`the chart ${chart.label} does not render: ${rendered.message}`);
    const before = parseObjects(current.manifest, location.namespace);
    if (!before.ok) return fail(`the deployed release manifest cannot be read: ${before.message}`);
    const after = parseObjects(rendered.manifest, location.namespace);
    if (!after.ok) return fail(`the rendered manifest cannot be read: ${after.message}`);
    const impact = computeImpact(before.objects, after.objects, "manifest");
    const live = await liveOwners(client, impact.added);
    const findings = findDangers({
      current: before.objects,
      target: after.objects,
      impact,
      mode: "manifest",
      owner: { kind: "HelmRelease", releaseName: location.name, namespace: location.namespace },
      live,
    });
    return { ok: true, impact, findings };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

type ChartResult =
  | {
      readonly ok: true;
      /** A chart archive, or a chart folder in a Git tree. */
      readonly chartPath: string;
      /** How messages name the chart. */
      readonly label: string;
      /** spec.chart.spec.valuesFiles, and the Git tree a chart folder lies in. */
      readonly inputs: {
        readonly valuesFiles?: readonly string[];
        readonly ignoreMissingValuesFiles?: boolean;
        readonly sourceRoot?: string;
        readonly ignore?: string;
        readonly sparseCheckout?: readonly string[];
        readonly versionMetadata?: string;
      };
    }
  | { readonly ok: false; readonly message: string };

type ParsedRelease = z.infer<typeof HelmReleaseSpec>;

/**
 * The chart the HelmRelease will be rendered from, written under `dir`: from spec.chartRef (an
 * OCIRepository's artifact) or spec.chart.spec's source (a HelmRepository at the target
 * version, or a folder of a GitRepository's tree).
 */
async function obtainChart(
  input: HelmPreviewInput,
  hr: ParsedRelease,
  dir: string,
  version: string,
): Promise<ChartResult> {
  const { client } = input;
  const local = hr.metadata.namespace;
  const sourceRef = hr.spec.chartRef ?? hr.spec.chart?.spec.sourceRef;
  if (!sourceRef)
    return { ok: false, message: "the HelmRelease has no spec.chart or spec.chartRef" };
  const namespace = sourceRef.namespace ?? local;
  if (namespace !== local && !input.allowCrossNamespaceRefs)
    return {
      ok: false,
      message: `the ${sourceRef.kind} is in namespace ${namespace}, outside the app's`,
    };
  const ref = { namespace, name: sourceRef.name };
  const apiVersion = "source.toolkit.fluxcd.io/v1";

  if (hr.spec.chartRef) {
    if (sourceRef.kind !== "OCIRepository")
      return {
        ok: false,
        message: `a chart from spec.chartRef ${sourceRef.kind} is not supported by the impact preview yet`,
      };
    const obj = await getIfExists(client, { apiVersion, kind: "OCIRepository", ...ref });
    if (!obj) return { ok: false, message: `OCIRepository ${namespace}/${ref.name} not found` };
    const artifact = ociArtifactOf(ref, obj);
    if (!artifact.ok) return artifact;
    const bytes = await fetchOciLayer(client, { ...artifact.request, maxBytes: MAX_CHART_BYTES });
    const chartPath = join(dir, "chart.tgz");
    await writeFile(chartPath, bytes);
    // helm-controller appends the artifact's digest to the chart's version (digest tracking).
    return {
      ok: true,
      chartPath,
      label: artifact.request.where,
      inputs: artifact.versionMetadata ? { versionMetadata: artifact.versionMetadata } : {},
    };
  }

  const spec = hr.spec.chart?.spec;
  if (!spec) return { ok: false, message: "the HelmRelease has no spec.chart.spec" };
  if (spec.reconcileStrategy === "Revision" && sourceRef.kind !== "HelmRepository")
    return {
      ok: false,
      message:
        "with reconcileStrategy Revision the chart's version carries the commit the upgrade creates, which is not known before it",
    };
  const metadata = await helmChartMetadata(input, hr, spec.valuesFiles?.length ?? 0);
  if (!metadata.ok) return metadata;
  const valuesFiles = {
    ...(spec.valuesFiles?.length ? { valuesFiles: spec.valuesFiles } : {}),
    ...(spec.ignoreMissingValuesFiles ? { ignoreMissingValuesFiles: true } : {}),
    ...(metadata.versionMetadata ? { versionMetadata: metadata.versionMetadata } : {}),
  };
  if (sourceRef.kind === "GitRepository") {
    if (!input.gitSource)
      return { ok: false, message: "a chart from a GitRepository needs the app's Git access" };
    const root = join(dir, "source");
    await mkdir(root);
    const tree = await input.gitSource(ref, root);
    if (!tree.ok) return tree;
    // The chart folder stays inside the tree, as source-controller's secure join keeps it.
    const chartPath = resolve(root, spec.chart);
    if (chartPath !== root && !chartPath.startsWith(`${root}${sep}`))
      return { ok: false, message: `the chart path ${spec.chart} leaves the GitRepository's tree` };
    const found = await stat(chartPath).catch(() => undefined);
    if (!found?.isDirectory())
      return {
        ok: false,
        message: `GitRepository ${namespace}/${ref.name} has no chart folder ${spec.chart}`,
      };
    return {
      ok: true,
      chartPath,
      label: `${spec.chart} of GitRepository ${namespace}/${ref.name}`,
      // The helper drops what the artifact leaves out; values files are paths in the tree.
      inputs: {
        ...valuesFiles,
        sourceRoot: root,
        ...(tree.ignore !== undefined ? { ignore: tree.ignore } : {}),
        ...(tree.sparseCheckout ? { sparseCheckout: tree.sparseCheckout } : {}),
      },
    };
  }
  if (sourceRef.kind !== "HelmRepository")
    return {
      ok: false,
      message: `a chart from a ${sourceRef.kind} is not supported by the impact preview yet`,
    };
  const repoObject = await getIfExists(client, { apiVersion, kind: "HelmRepository", ...ref });
  if (!repoObject)
    return { ok: false, message: `HelmRepository ${namespace}/${ref.name} not found` };
  // The repository as the update check reads it (HTTP(S), with its basic auth and TLS Secrets),
  // or an OCI registry.
  const repo = repositorySettings(ref, repoObject);
  if (!repo.ok) return { ok: false, message: repo.message };
  const archive = await fetchChart(client, repo.settings, spec.chart, version);
  if (!archive.ok) return archive;
  const chartPath = join(dir, "chart.tgz");
  await writeFile(chartPath, archive.bytes);
  return { ok: true, chartPath, label: `${spec.chart} ${version}`, inputs: valuesFiles };
}

/**
 * The build metadata source-controller gives the chart's version: with valuesFiles, the
 * HelmChart's generation, one more when the upgrade changes its spec (a new chart version), so
 * that templates printing the version render as Flux will.
 */
async function helmChartMetadata(
  input: HelmPreviewInput,
  hr: ParsedRelease,
  valuesFiles: number,
): Promise<{ ok: true; versionMetadata?: string } | { ok: false; message: string }> {
  if (valuesFiles === 0) return { ok: true };
  const [namespace, name] = (hr.status?.helmChart ?? "").split("/");
  if (!namespace || !name)
    return { ok: false, message: "the HelmRelease names no HelmChart yet (status.helmChart)" };
  const chart = await getIfExists(input.client, {
    apiVersion: "source.toolkit.fluxcd.io/v1",
    kind: "HelmChart",
    namespace,
    name,
  });
  if (!chart) return { ok: false, message: `HelmChart ${namespace}/${name} not found` };
  const generation = chart.metadata.generation ?? 0;
  const bumped = input.targetVersion !== undefined;
  return { ok: true, versionMetadata: String(generation + (bumped ? 1 : 0)) };
}

/** The chart archive at a version: from an OCI registry, or through an HTTP repository's index. */
async function fetchChart(
  client: PreviewClient,
  settings: RepositorySettings,
  chart: string,
  version: string,
): Promise<{ ok: true; bytes: Buffer } | { ok: false; message: string }> {
  if (settings.type === "oci")
    return {
      ok: true,
      bytes: await fetchOciChart(client, settings, chart, version, MAX_CHART_BYTES),
    };
  const index = await fetchHelmIndex(client, settings);
  const located = chartUrlFromIndex(settings.url, index, chart, version);
  if (!located.ok) return located;
  const bytes = await fetchFromRepository(client, settings, located.url, {
    maxBytes: MAX_CHART_BYTES,
    accept: "application/gzip, application/octet-stream, */*",
  });
  return { ok: true, bytes };
}

/**
 * The live metadata of objects the new version adds, for the ownership check: an added object
 * that already exists belongs to someone else. Kinds Cairn may not read are skipped.
 */
export async function liveOwners(
  client: PreviewClient,
  added: readonly AddedObject[],
): Promise<Map<string, PlainObject>> {
  const live = new Map<string, PlainObject>();
  for (const { id, object } of added.slice(0, MAX_LIVE_LOOKUPS)) {
    const apiVersion = typeof object["apiVersion"] === "string" ? object["apiVersion"] : "";
    try {
      const found = await getIfExists(client, {
        apiVersion,
        kind: id.kind,
        name: id.name,
        ...(id.namespace ? { namespace: id.namespace } : {}),
      });
      if (found) live.set(objectKey(id), found);
    } catch (err) {
      if (isKubeError(err, "Forbidden")) continue;
      throw err;
    }
  }
  return live;
}
