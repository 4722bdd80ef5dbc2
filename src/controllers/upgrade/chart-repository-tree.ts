// The tree of a GitRepository other than the app's own, for a chart the HelmRelease takes from
// it: read-only, at the commit source-controller last fetched (its artifact revision), which is
// the chart Flux builds, since the upgrade's commit does not touch that repository. Its
// credentials Secret is read only here, for this fetch, and never kept.
import { z } from "zod";
import {
  credentialsFromSecretData,
  transportOf,
  type GitCredentials,
} from "../../git/credentials.ts";
import {
  FLUX_DEFAULT_BRANCH,
  GIT_REPOSITORY_API_VERSION,
  GitRepositorySpec,
} from "../../git/remote.ts";
import { revisionSha } from "../../git/revision.ts";
import { GitWorkspace } from "../../git/workspace.ts";
import { getIfExists } from "../../kube/get-if-exists.ts";
import type { GitAccessDeps } from "../request/git-access.ts";

const GitRepositoryFields = z.object({
  spec: GitRepositorySpec.extend({
    ignore: z.string().optional(),
    sparseCheckout: z.array(z.string()).optional(),
    include: z.array(z.unknown()).optional(),
  }),
  status: z
    .object({ artifact: z.object({ revision: z.string().optional() }).nullish() })
    .optional(),
});

export type TreeResult =
  | {
      readonly ok: true;
      readonly ignore?: string;
      readonly sparseCheckout?: readonly string[];
    }
  | { readonly ok: false; readonly message: string };

export async function writeRepositoryTree(
  deps: GitAccessDeps,
  ref: { readonly namespace: string; readonly name: string },
  into: string,
): Promise<TreeResult> {
  const name = `GitRepository ${ref.namespace}/${ref.name}`;
  const fail = (message: string): TreeResult => ({ ok: false, message: `${name}: ${message}` });
  const obj = await getIfExists(deps.client, {
    apiVersion: GIT_REPOSITORY_API_VERSION,
    kind: "GitRepository",
    ...ref,
  });
  if (!obj) return { ok: false, message: `${name} not found` };
  const parsed = GitRepositoryFields.safeParse(obj);
  if (!parsed.success) return fail("no spec.url");
  const { spec, status } = parsed.data;
  if (spec.include?.length)
    return fail("includes other repositories (spec.include), which the preview does not fetch");
  // A tag or commit is not on the branch the cache fetches; only a branch is read.
  const pinned = (["commit", "name", "semver", "tag"] as const).find((k) => spec.ref?.[k]);
  if (pinned) return fail(`follows a ${pinned} (spec.ref.${pinned}); the preview reads a branch`);
  const sha = revisionSha(status?.artifact?.revision);
  if (!sha) return fail("source-controller has fetched no revision yet");
  const transport = transportOf(spec.url);
  if (!transport) return fail("spec.url must start with http://, https:// or ssh://");
  let credentials: GitCredentials = { kind: "none" };
  if (spec.secretRef) {
    const secret = await getIfExists(deps.client, {
      apiVersion: "v1",
      kind: "Secret",
      namespace: ref.namespace,
      name: spec.secretRef.name,
    });
    if (!secret) return fail(`spec.secretRef.name: Secret ${spec.secretRef.name} not found`);
    const read = credentialsFromSecretData(
      (secret["data"] ?? {}) as Record<string, string>,
      transport,
    );
    if (!read.ok)
      return fail(`spec.secretRef.name: Secret ${spec.secretRef.name}: ${read.error.message}`);
    credentials = read.credentials;
  }
  const remote = { url: spec.url, branch: spec.ref?.branch || FLUX_DEFAULT_BRANCH, credentials };
  const ws = await (deps.pool
    ? deps.pool.open(deps.cacheDir, remote)
    : GitWorkspace.open({ root: deps.cacheDir, remote }));
  await ws.fetch();
  await ws.exportTree(sha, into);
  return {
    ok: true,
    ...(spec.ignore !== undefined ? { ignore: spec.ignore } : {}),
    ...(spec.sparseCheckout?.length ? { sparseCheckout: spec.sparseCheckout } : {}),
  };
}
