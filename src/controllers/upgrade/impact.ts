// The impact preview inside Plan (with --render-helper): renders the target version, writes
// the full per-object diff into a ConfigMap the request owns, and turns the dangers into
// preflight checks. A HelmRelease app's chart bump renders the chart (compared with the release
// in Helm storage); a Kustomization app's bump builds the Kustomization's path in the Git tree
// at the planned head with the bumped file (compared with the inventory's live objects). A
// preview that cannot be made (an OCI chart, a repository that needs credentials, a source that
// does not render, the helper missing) is reported as the ImpactPreview check, passed: the
// upgrade proceeds as it would without a helper.
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
import { previewHelmRelease, type PreviewResult } from "../../impact/preview.ts";
import { previewKustomization } from "../../impact/preview-kustomization.ts";
import { DETAIL_KEY, dangerChecks, encodeDetail, summarizeImpact } from "../../impact/summary.ts";
import type { KubeClient, KubeObject } from "../../kube/client.ts";
import { isKubeError } from "../../kube/errors.ts";
import { DEFAULT_HELPER_LIMITS } from "../../render/helper.ts";
import { editContent } from "../request/git-change.ts";
import { openRepo, type GitAccessDeps } from "../request/git-access.ts";
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
    }
  | {
      readonly kind: "Kustomization";
      readonly kustomization: KubeObject;
      /** The plan's Git change: its head, file and edit. */
      readonly git: Plan["git"];
      readonly app: ManagedApp;
      readonly gitAccess: GitAccessDeps;
      /** The GitRepository's spec.ignore: what its artifact leaves out, as the build must. */
      readonly ignore?: string;
    };

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
  /** The Kustomization's GitRepository, when known. */
  readonly gitRepository?: KubeObject | undefined;
}): ImpactSource | undefined {
  if (input.helmRelease)
    return { kind: "HelmRelease", helmRelease: input.helmRelease, git: input.plan.git };
  if (!input.kustomization) return undefined;
  const ignore = (input.gitRepository?.["spec"] as { ignore?: unknown } | undefined)?.ignore;
  return {
    kind: "Kustomization",
    kustomization: input.kustomization,
    git: input.plan.git,
    app: input.app,
    gitAccess: input.gitAccess,
    ...(typeof ignore === "string" ? { ignore } : {}),
  };
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
    preview =
      input.source.kind === "HelmRelease"
        ? await previewHelmRelease({
            client,
            helper,
            ...releaseAfter(input.source.helmRelease, input.source.git),
            allowCrossNamespaceRefs: input.allowCrossNamespaceRefs,
          })
        : await previewBumpedTree(client, helper, input.source);
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
  const git = source.git;
  const head = git.baseCommit;
  if (!head) return { ok: false, message: "the plan pins no Git commit" };
  const repo = await openRepo(source.gitAccess, source.app, source.kustomization);
  const dir = await mkdtemp(join(tmpdir(), "cairn-impact-"));
  try {
    const root = join(dir, "source");
    await mkdir(root);
    await repo.ws.exportTree(head, root);
    const content = await repo.ws.readFile(head, git.path);
    if (content === undefined) return { ok: false, message: `${git.path} not found` };
    const file = join(root, git.path);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, editContent(content, git, "forward"));
    return await previewKustomization({
      client,
      helper,
      kustomization: source.kustomization,
      root,
      ...(source.ignore !== undefined ? { ignore: source.ignore } : {}),
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
