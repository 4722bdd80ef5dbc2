// The impact preview inside Plan (HelmRelease apps, with --render-helper): renders the target
// version, writes the full per-object diff into a ConfigMap the request owns, and turns the
// dangers into preflight checks. A preview that cannot be made (an OCI chart, a repository
// that needs credentials, a chart that does not render, the helper missing) is reported as the
// ImpactPreview check, passed: the upgrade proceeds as it would without a helper.
import {
  API_VERSION,
  Kind,
  type PlanImpact,
  type PreflightCheck,
  type UpgradeRequest,
} from "../../api/index.ts";
import { previewHelmRelease } from "../../impact/preview.ts";
import { DETAIL_KEY, dangerChecks, encodeDetail, summarizeImpact } from "../../impact/summary.ts";
import type { KubeClient, KubeObject } from "../../kube/client.ts";
import { isKubeError } from "../../kube/errors.ts";
import { DEFAULT_HELPER_LIMITS } from "../../render/helper.ts";

export interface ImpactOutcome {
  readonly impact?: PlanImpact;
  readonly checks: readonly PreflightCheck[];
}

/** `<request>-impact`, within the 253 characters of a ConfigMap name. */
export function detailName(request: string): string {
  return `${request.slice(0, 253 - "-impact".length)}-impact`;
}

export async function planImpact(input: {
  readonly client: Pick<KubeClient, "get" | "list" | "serverVersion" | "create" | "mergePatch">;
  readonly helperPath: string;
  readonly request: UpgradeRequest;
  readonly helmRelease: KubeObject;
  readonly targetVersion: string;
  readonly allowCrossNamespaceRefs: boolean;
}): Promise<ImpactOutcome> {
  const { client, request } = input;
  let preview;
  try {
    preview = await previewHelmRelease({
      client,
      helper: { path: input.helperPath, ...DEFAULT_HELPER_LIMITS },
      helmRelease: input.helmRelease,
      targetVersion: input.targetVersion,
      allowCrossNamespaceRefs: input.allowCrossNamespaceRefs,
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
        message: `${preview.impact.added.length} added, ${preview.impact.changed.length} changed, ${preview.impact.removed.length} removed; full diff in ConfigMap ${name}`,
      },
      ...dangerChecks(preview.findings, acknowledged),
    ],
  };
}
