// The imperative shell of the impact preview for a HelmRelease app: reads the deployed release
// from Helm storage, fetches the chart at the target version from the HelmRelease's
// HelmRepository, resolves valuesFrom, renders with cairn-render, and hands everything to the
// pure impact and danger functions. Nothing here writes to the cluster.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import type { KubeClient, KubeObject } from "../kube/client.ts";
import { isKubeError } from "../kube/errors.ts";
import { getIfExists } from "../kube/get-if-exists.ts";
import { releaseLocation, releaseSecretSelector } from "../helm/location.ts";
import { selectRelease } from "../helm/select.ts";
import { MAX_CHART_BYTES, chartUrlFromIndex } from "../render/chart-source.ts";
import { type RepositorySettings, repositorySettings } from "../updates/chart-source.ts";
import { fetchOciChart } from "../updates/oci-registry.ts";
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

const HelmReleaseSpec = z.object({
  metadata: z.object({ name: z.string(), namespace: z.string() }),
  spec: z.object({
    chart: z.object({
      spec: z.object({
        chart: z.string().min(1),
        sourceRef: z.object({
          kind: z.string(),
          name: z.string(),
          namespace: z.string().optional(),
        }),
      }),
    }),
    values: z.record(z.string(), z.unknown()).nullish(),
    valuesFrom: z.array(ValuesReference).nullish(),
    postRenderers: z.array(z.unknown()).nullish(),
    commonMetadata: z.record(z.string(), z.unknown()).nullish(),
  }),
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
}

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

  const sourceRef = hr.spec.chart.spec.sourceRef;
  if (sourceRef.kind !== "HelmRepository") {
    return fail(`a chart from a ${sourceRef.kind} is not supported by the impact preview yet`);
  }
  const repoNamespace = sourceRef.namespace ?? hr.metadata.namespace;
  if (repoNamespace !== hr.metadata.namespace && !input.allowCrossNamespaceRefs) {
    return fail(`the HelmRepository is in namespace ${repoNamespace}, outside the app's`);
  }
  const repoObject = await getIfExists(client, {
    apiVersion: "source.toolkit.fluxcd.io/v1",
    kind: "HelmRepository",
    namespace: repoNamespace,
    name: sourceRef.name,
  });
  if (!repoObject) return fail(`HelmRepository ${repoNamespace}/${sourceRef.name} not found`);
  // The repository as the update check reads it (HTTP(S), with its basic auth and TLS Secrets),
  // or an OCI registry.
  const repo = repositorySettings({ namespace: repoNamespace, name: sourceRef.name }, repoObject, {
    oci: true,
  });
  if (!repo.ok) return fail(repo.message);

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

  const chartName = hr.spec.chart.spec.chart;
  const archive = await fetchChart(client, repo.settings, chartName, targetVersion);
  if (!archive.ok) return fail(archive.message);

  const dir = await mkdtemp(join(tmpdir(), "cairn-impact-"));
  try {
    const chartPath = join(dir, `${chartName}-${targetVersion}.tgz`);
    await writeFile(chartPath, archive.bytes);
    const rendered = await runHelper(input.helper, {
      helm: {
        chartPath,
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
    if (!rendered.ok)
      return fail(`the chart ${chartName} ${targetVersion} does not render: ${rendered.message}`);
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
