// The imperative shell of the impact preview for a Kustomization app: resolves postBuild
// substituteFrom, builds the Kustomization's path in the source tree at the target revision with
// cairn-render (kustomize-controller's own generator, build and substitution), reads the live
// objects of the Kustomization's inventory, and hands both to the pure impact and danger
// functions, comparing as server-side apply does ("live": only the fields the build sets count).
// Nothing here writes to the cluster.
import { z } from "zod";
import { inventoryOf } from "../discovery/inventory.ts";
import type { KubeObject } from "../kube/client.ts";
import { isKubeError } from "../kube/errors.ts";
import { getIfExists } from "../kube/get-if-exists.ts";
import { type HelperOptions, runHelper } from "../render/helper.ts";
import { SubstituteReference, resolveSubstitutions } from "../render/substitute-from.ts";
import { findDangers } from "./dangers.ts";
import { type Impact, REDACTED, computeImpact } from "./diff.ts";
import {
  type ObjectId,
  type RenderedObject,
  describeId,
  idOf,
  objectKey,
  parseObjects,
} from "./objects.ts";
import { type PreviewClient, type PreviewResult, liveOwners } from "./preview.ts";

const KustomizationSpec = z.object({
  metadata: z.object({ name: z.string(), namespace: z.string() }),
  spec: z.object({
    path: z.string().optional(),
    prune: z.boolean().optional(),
    targetNamespace: z.string().optional(),
    postBuild: z
      .object({
        substitute: z.record(z.string(), z.string()).nullish(),
        substituteFrom: z.array(SubstituteReference).nullish(),
      })
      .loose()
      .nullish(),
  }),
});

// Live reads stop here; a larger inventory is reported without a preview.
const MAX_INVENTORY = 500;

function fail(message: string): PreviewResult {
  return { ok: false, message };
}

export interface KustomizationPreviewInput {
  readonly client: PreviewClient;
  readonly helper: HelperOptions;
  readonly kustomization: KubeObject;
  /** The source tree at the target revision, on disk; the helper writes into it. */
  readonly root: string;
  /** The GitRepository's spec.ignore, applied with the tree's .sourceignore files. */
  readonly ignore?: string;
  /** The GitRepository's spec.sparseCheckout: only those folders are built from. */
  readonly sparseCheckout?: readonly string[];
}

export async function previewKustomization(
  input: KustomizationPreviewInput,
): Promise<PreviewResult> {
  const { client } = input;
  const parsed = KustomizationSpec.safeParse(input.kustomization);
  if (!parsed.success)
    return fail(`the Kustomization cannot be read: ${parsed.error.issues[0]?.message ?? ""}`);
  const ks = parsed.data;
  const namespace = ks.metadata.namespace;
  const inventory = inventoryOf(input.kustomization);
  if (!inventory.found) return fail("the Kustomization has no status.inventory yet");
  if (inventory.inventory.errors.length > 0)
    return fail(inventory.inventory.errors[0]?.message ?? "malformed inventory");
  const refs = inventory.inventory.refs;
  if (refs.length > MAX_INVENTORY)
    return fail(`the inventory lists ${refs.length} objects, more than ${MAX_INVENTORY}`);

  // postBuild: substituteFrom folded into substitute, as the helper takes it.
  let kustomization: Record<string, unknown> = { ...input.kustomization };
  let secretValues: readonly string[] = [];
  const postBuild = ks.spec.postBuild;
  if (postBuild) {
    const data = new Map<string, Record<string, string> | undefined>();
    for (const ref of postBuild.substituteFrom ?? []) {
      const obj = await getIfExists(client, {
        apiVersion: "v1",
        kind: ref.kind,
        namespace,
        name: ref.name,
      });
      const raw = (obj?.["data"] ?? {}) as Record<string, string>;
      data.set(
        `${ref.kind}/${ref.name}`,
        obj === undefined
          ? undefined
          : ref.kind === "Secret"
            ? Object.fromEntries(
                Object.entries(raw).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
              )
            : raw,
      );
    }
    const resolved = resolveSubstitutions(
      postBuild.substituteFrom ?? [],
      postBuild.substitute ?? {},
      namespace,
      (kind, name) => data.get(`${kind}/${name}`),
    );
    if (!resolved.ok) return fail(resolved.message);
    secretValues = resolved.secretValues;
    const spec = { ...(input.kustomization["spec"] as Record<string, unknown>) };
    const folded: Record<string, unknown> = {
      ...(spec["postBuild"] as Record<string, unknown>),
      substitute: resolved.vars,
    };
    delete folded["substituteFrom"];
    spec["postBuild"] = folded;
    kustomization = { ...kustomization, spec };
  }

  const rendered = await runHelper(input.helper, {
    kustomize: {
      root: input.root,
      path: ks.spec.path ?? "./",
      kustomization,
      ...(input.ignore !== undefined ? { ignore: input.ignore } : {}),
      ...(input.sparseCheckout ? { sparseCheckout: input.sparseCheckout } : {}),
    },
  });
  if (!rendered.ok) return fail(`the target revision does not build: ${rendered.message}`);
  const defaultNamespace = ks.spec.targetNamespace || namespace;
  const built = parseObjects(rendered.manifest, defaultNamespace);
  if (!built.ok) return fail(`the built manifest cannot be read: ${built.message}`);

  // The live objects of the inventory; kinds Cairn may not read are left out of both sides.
  const current: RenderedObject[] = [];
  const unreadable: ObjectId[] = [];
  for (const ref of refs) {
    try {
      const live = await getIfExists(client, {
        apiVersion: ref.apiVersion,
        kind: ref.kind,
        name: ref.name,
        ...(ref.namespace ? { namespace: ref.namespace } : {}),
      });
      const id = live ? idOf(live, ref.namespace) : undefined;
      if (live && id) current.push({ id, object: live });
    } catch (err) {
      if (!isKubeError(err, "Forbidden")) throw err;
      const id = idOf({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: ref }, "");
      if (id) unreadable.push(id);
    }
  }
  const skipped = new Set(unreadable.map(objectKey));
  const target = built.objects.filter((o) => !skipped.has(objectKey(o.id)));
  let impact = computeImpact(current, target, "live");
  const notes: string[] = [];
  if (ks.spec.prune === false && impact.removed.length > 0) {
    notes.push(
      `prune is off: ${impact.removed.length} object(s) no longer built stay in the cluster`,
    );
    impact = { ...impact, removed: [] };
  }
  if (unreadable.length > 0)
    notes.push(
      `${unreadable.length} object(s) of kinds Cairn may not read left out: ${unreadable
        .map(describeId)
        .join(", ")}`.slice(0, 512),
    );
  const live = await liveOwners(client, impact.added);
  const findings = findDangers({
    current,
    target,
    impact,
    mode: "live",
    owner: { kind: "Kustomization", name: ks.metadata.name, namespace },
    live,
  });
  return {
    ok: true,
    impact: redactValues(impact, secretValues),
    findings,
    ...(notes.length > 0 ? { note: notes.join("; ") } : {}),
  };
}

/** Every string that holds a value substituted from a Secret, redacted. */
export function redactValues(impact: Impact, secrets: readonly string[]): Impact {
  if (secrets.length === 0) return impact;
  const redact = (value: unknown): unknown => {
    if (typeof value === "string") return secrets.some((s) => value.includes(s)) ? REDACTED : value;
    if (Array.isArray(value)) return value.map(redact);
    if (typeof value === "object" && value !== null)
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v)]));
    return value;
  };
  return redact(impact) as Impact;
}
