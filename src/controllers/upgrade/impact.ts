// The impact preview inside Plan (with --render-helper): renders the target version, writes
// the full per-object diff into a ConfigMap the request owns, and turns the dangers into
// preflight checks. A HelmRelease app renders its chart with the HelmRelease as the commit
// leaves it (compared with the release in Helm storage); a chart in the app's own Git
// repository is read at the planned head, one in another GitRepository at the commit Flux
// fetched (chart-repository-tree.ts). A Kustomization app's bump builds the
// Kustomization's path in the Git tree at the planned head with the bumped file (compared with
// the inventory's live objects). A preview that cannot be made (a source Cairn does not read, a
// source that does not render) is reported as the ImpactPreview check, passed: the upgrade
// proceeds as it would without a helper.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parse, stringify } from "yaml";
import {
  API_VERSION,
  Kind,
  type ManagedApp,
  type Plan,
  type PlanImpact,
  type PreflightCheck,
  type UpgradeRequest,
} from "../../api/index.ts";
import {
  type GitSourceReader,
  previewHelmRelease,
  type PreviewResult,
} from "../../impact/preview.ts";
import { previewKustomization } from "../../impact/preview-kustomization.ts";
import { DETAIL_KEY, dangerChecks, encodeDetail, summarizeImpact } from "../../impact/summary.ts";
import type { KubeClient, KubeObject } from "../../kube/client.ts";
import { isKubeError } from "../../kube/errors.ts";
import { DEFAULT_HELPER_LIMITS } from "../../render/helper.ts";
import { editContent } from "../request/git-change.ts";
import { openRepo, type GitAccessDeps } from "../request/git-access.ts";
import { writeRepositoryTree } from "./chart-repository-tree.ts";
import { DEFAULT_HELM_VERSION_PATH } from "./plan.ts";

export interface ImpactOutcome {
  readonly impact?: PlanImpact;
  readonly checks: readonly PreflightCheck[];
}

/** `<request>-impact`, within the 253 characters of a ConfigMap name. */
export function detailName(request: string): string {
  return `${request.slice(0, 253 - "-impact".length)}-impact`;
}

export type ImpactSource =
  | {
      readonly kind: "HelmRelease";
      /** The live HelmRelease; the plan's Git change is applied to it before rendering. */
      readonly helmRelease: KubeObject;
      readonly git: Plan["git"];
      /** For a chart from a GitRepository: the app's tree and its Git access. */
      readonly tree?: AppTree;
    }
  | {
      readonly kind: "Kustomization";
      readonly kustomization: KubeObject;
      /** The plan's Git change: its head, file and edit. */
      readonly git: Plan["git"];
      readonly tree: AppTree;
    };

/** How to write the app's Git tree at the planned head with the plan's edit. */
export interface AppTree {
  readonly app: ManagedApp;
  readonly kustomization: KubeObject;
  readonly gitAccess: GitAccessDeps;
  /** The GitRepository Flux reads the app from, and what of its spec shapes the artifact. */
  readonly gitRepository?: { readonly namespace: string; readonly name: string };
  readonly ignore?: string;
  readonly sparseCheckout?: readonly string[];
  /** spec.include: other repositories' artifacts copied in, which the preview does not fetch. */
  readonly includes?: number;
}

/**
 * Which preview a plan gets: a HelmRelease app's renders the chart with the HelmRelease as the
 * plan's change leaves it (a chart bump, a value such as spec.values.image.tag, image tags in
 * spec.values); an app without a HelmRelease gets its Kustomization's build of the bumped file.
 */
export function impactSourceOf(input: {
  readonly plan: Plan;
  readonly helmRelease: KubeObject | undefined;
  readonly kustomization: KubeObject | undefined;
  readonly app: ManagedApp;
  readonly gitAccess: GitAccessDeps;
  /** The GitRepository the Kustomization reads (its sourceRef), and the object when cached. */
  readonly gitRepositoryRef?: { readonly namespace: string; readonly name: string } | undefined;
  readonly gitRepository?: KubeObject | undefined;
}): ImpactSource | undefined {
  const repoSpec = (input.gitRepository?.["spec"] ?? {}) as {
    ignore?: unknown;
    sparseCheckout?: unknown;
    include?: unknown;
  };
  const ignore = repoSpec.ignore;
  const sparse = Array.isArray(repoSpec.sparseCheckout)
    ? repoSpec.sparseCheckout.filter((p): p is string => typeof p === "string")
    : [];
  const includes = Array.isArray(repoSpec.include) ? repoSpec.include.length : 0;
  const tree = input.kustomization
    ? {
        app: input.app,
        kustomization: input.kustomization,
        gitAccess: input.gitAccess,
        ...(input.gitRepositoryRef ? { gitRepository: input.gitRepositoryRef } : {}),
        ...(typeof ignore === "string" ? { ignore } : {}),
        ...(sparse.length > 0 ? { sparseCheckout: sparse } : {}),
        ...(includes > 0 ? { includes } : {}),
      }
    : undefined;
  if (input.helmRelease)
    return {
      kind: "HelmRelease",
      helmRelease: input.helmRelease,
      git: input.plan.git,
      ...(tree ? { tree } : {}),
    };
  if (!tree) return undefined;
  return { kind: "Kustomization", kustomization: tree.kustomization, git: input.plan.git, tree };
}

/**
 * The HelmRelease as the commit will leave it: the plan's edit (the same one Git gets) applied
 * to the live object's spec, so what Flux's substitutions and patches put there stays. Only a
 * bump of spec.chart.spec.version changes the chart; any other keeps the deployed one.
 */
export function releaseAfter(
  live: KubeObject,
  git: Plan["git"],
): { helmRelease: KubeObject; targetVersion?: string } {
  const bare = {
    apiVersion: live.apiVersion,
    kind: live.kind,
    metadata: { name: live.metadata.name, namespace: live.metadata.namespace },
    spec: live["spec"],
  };
  const edited = parse(editContent(stringify(bare), git, "forward")) as { spec?: unknown };
  return {
    helmRelease: { ...live, spec: edited.spec },
    ...(git.versionPath === DEFAULT_HELM_VERSION_PATH ? { targetVersion: git.to } : {}),
  };
}

export async function planImpact(input: {
  readonly client: Pick<KubeClient, "get" | "list" | "serverVersion" | "create" | "mergePatch">;
  readonly helperPath: string;
  readonly request: UpgradeRequest;
  readonly source: ImpactSource;
  readonly allowCrossNamespaceRefs: boolean;
}): Promise<ImpactOutcome> {
  const { client, request } = input;
  const helper = { path: input.helperPath, ...DEFAULT_HELPER_LIMITS };
  let preview: PreviewResult;
  try {
    if (input.source.kind !== "HelmRelease")
      preview = await previewBumpedTree(client, helper, input.source);
    else if (input.source.git.ociChartTag)
      preview = {
        ok: false,
        message: `the target chart is the OCIRepository's tag ${input.source.git.to} (spec.chartRef), which the preview does not fetch`,
      };
    else
      preview = await previewHelmRelease({
        client,
        helper,
        ...releaseAfter(input.source.helmRelease, input.source.git),
        allowCrossNamespaceRefs: input.allowCrossNamespaceRefs,
        gitSource: gitSourceOf(input.source.git, input.source.tree),
      });
  } catch (err) {
    preview = { ok: false as const, message: err instanceof Error ? err.message : String(err) };
  }
  if (!preview.ok) {
    return {
      checks: [
        {
          name: "ImpactPreview",
          passed: true,
          message: `not available: ${preview.message}`.slice(0, 1024),
        },
      ],
    };
  }
  const name = detailName(request.metadata.name);
  const namespace = request.metadata.namespace ?? "";
  const configMap: KubeObject = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name,
      namespace,
      ownerReferences: [
        {
          apiVersion: API_VERSION,
          kind: Kind.UpgradeRequest,
          name: request.metadata.name,
          uid: request.metadata.uid ?? "",
          controller: true,
        },
      ],
    },
    binaryData: {
      [DETAIL_KEY]: encodeDetail(preview.impact, preview.findings).toString("base64"),
    },
  };
  // Idempotent: a retried Plan rewrites the same content.
  try {
    await client.create(configMap);
  } catch (err) {
    if (!isKubeError(err, "AlreadyExists")) throw err;
    await client.mergePatch(
      { apiVersion: "v1", kind: "ConfigMap", namespace, name },
      { binaryData: configMap["binaryData"] },
    );
  }
  const acknowledged = request.spec.acknowledgeDangers ?? [];
  return {
    impact: summarizeImpact(preview.impact, preview.findings, name),
    checks: [
      {
        name: "ImpactPreview",
        passed: true,
        message:
          `${preview.impact.added.length} added, ${preview.impact.changed.length} changed, ${preview.impact.removed.length} removed; full diff in ConfigMap ${name}${preview.note ? `; ${preview.note}` : ""}`.slice(
            0,
            1024,
          ),
      },
      ...dangerChecks(preview.findings, acknowledged),
    ],
  };
}

/**
 * The Kustomization's build at the planned head with the bumped file: the tree written to a
 * temporary folder (removed afterwards), the plan's edit applied to the app's file.
 */
async function previewBumpedTree(
  client: Pick<KubeClient, "get" | "list" | "serverVersion">,
  helper: Parameters<typeof previewKustomization>[0]["helper"],
  source: Extract<ImpactSource, { kind: "Kustomization" }>,
): Promise<PreviewResult> {
  const dir = await mkdtemp(join(tmpdir(), "cairn-impact-"));
  try {
    const root = join(dir, "source");
    await mkdir(root);
    const written = await writeBumpedTree(source.git, source.tree, root);
    if (!written.ok) return written;
    return await previewKustomization({
      client,
      helper,
      kustomization: source.kustomization,
      root,
      ...(source.tree.ignore !== undefined ? { ignore: source.tree.ignore } : {}),
      ...(source.tree.sparseCheckout ? { sparseCheckout: source.tree.sparseCheckout } : {}),
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A chart from the app's own GitRepository is read at the planned head with the plan's edit,
 * which is the tree source-controller fetches after the commit. From another GitRepository, at
 * the commit source-controller last fetched: the upgrade does not change that repository.
 */
function gitSourceOf(git: Plan["git"], tree: AppTree | undefined): GitSourceReader {
  return async (ref, into) => {
    if (!tree) return { ok: false, message: "the app has no Kustomization to read Git through" };
    const own = tree.gitRepository;
    if (!own || own.namespace !== ref.namespace || own.name !== ref.name)
      return writeRepositoryTree(tree.gitAccess, ref, into);
    const written = await writeBumpedTree(git, tree, into);
    return written.ok
      ? {
          ok: true,
          ...(tree.ignore !== undefined ? { ignore: tree.ignore } : {}),
          ...(tree.sparseCheckout ? { sparseCheckout: tree.sparseCheckout } : {}),
        }
      : written;
  };
}

/** The app's tree at the plan's head, with the plan's edit applied to its file, into `root`. */
async function writeBumpedTree(
  git: Plan["git"],
  tree: AppTree,
  root: string,
): Promise<{ ok: true } | { ok: false; message: string }> {
  if (tree.includes) {
    const repo = tree.gitRepository;
    return {
      ok: false,
      message: `GitRepository ${repo?.namespace ?? ""}/${repo?.name ?? ""} includes other repositories (spec.include), which the preview does not fetch`,
    };
  }
  const head = git.baseCommit;
  if (!head) return { ok: false, message: "the plan pins no Git commit" };
  const repo = await openRepo(tree.gitAccess, tree.app, tree.kustomization);
  await repo.ws.exportTree(head, root);
  const content = await repo.ws.readFile(head, git.path);
  if (content === undefined) return { ok: false, message: `${git.path} not found` };
  const file = join(root, git.path);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, editContent(content, git, "forward"));
  return { ok: true };
}
