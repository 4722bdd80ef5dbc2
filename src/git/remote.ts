// Where an app's commits go: the Git remote, branch and write credential. Defaults come from the
// GitRepository that the app's Kustomization takes its source from; the ManagedApp's spec.git
// overrides them field by field. Only the one named Secret is read.
import { z } from "zod";
import type { ManagedApp } from "../api/index.ts";
import type { KubeClient, KubeObject } from "../kube/client.ts";
import { isKubeError } from "../kube/errors.ts";
import {
  credentialsFromSecretData,
  transportOf,
  type CredentialsError,
  type GitCredentials,
} from "./credentials.ts";

export const GIT_REPOSITORY_API_VERSION = "source.toolkit.fluxcd.io/v1";
/** source-controller's branch when a GitRepository has no ref. */
export const FLUX_DEFAULT_BRANCH = "master";

const KustomizationSource = z.object({
  metadata: z.object({ name: z.string(), namespace: z.string() }),
  spec: z.object({
    sourceRef: z.object({
      apiVersion: z.string().optional(),
      kind: z.string(),
      name: z.string().min(1),
      namespace: z.string().min(1).optional(),
    }),
  }),
});

/** What of a GitRepository's spec says where it reads from, and with which Secret. */
export const GitRepositorySpec = z.object({
  url: z.string().min(1),
  ref: z
    .object({
      branch: z.string().optional(),
      tag: z.string().optional(),
      semver: z.string().optional(),
      name: z.string().optional(),
      commit: z.string().optional(),
    })
    .optional(),
  secretRef: z.object({ name: z.string().min(1) }).optional(),
});

const GitRepository = z.object({ spec: GitRepositorySpec });

const SecretData = z.object({ data: z.record(z.string(), z.string()).optional() });

export interface ObjectKey {
  readonly namespace: string;
  readonly name: string;
}

export interface GitRemoteSpec {
  readonly url: string;
  readonly branch: string;
  readonly credentials: GitCredentials;
  /** Which object supplied the URL. */
  readonly source: { readonly kind: "GitRepository" | "ManagedApp" } & ObjectKey;
  /** The GitRepository Flux reads the app from (the reconcile handshake goes there). */
  readonly gitRepository: ObjectKey;
  /** The Secret the credentials came from, if any. */
  readonly secret: ObjectKey | undefined;
  /** Where the branch was set: the ManagedApp's field path, or the GitRepository's. */
  readonly branchField: string;
}

export type RemoteError =
  | { readonly code: "unsupported-source"; readonly message: string }
  | { readonly code: "unsupported-ref"; readonly message: string }
  | { readonly code: "cross-namespace-ref"; readonly field: string; readonly message: string }
  | {
      readonly code: "not-found";
      readonly kind: "GitRepository" | "Secret";
      readonly namespace: string;
      readonly name: string;
      readonly message: string;
    }
  | { readonly code: "invalid"; readonly field: string; readonly message: string }
  | {
      readonly code: "credentials";
      readonly secret: ObjectKey;
      readonly error: CredentialsError;
      readonly message: string;
    };

export type ResolveRemoteResult =
  | { readonly ok: true; readonly remote: GitRemoteSpec }
  | { readonly ok: false; readonly error: RemoteError };

export interface ResolveRemoteInput {
  readonly client: Pick<KubeClient, "get">;
  readonly app: ManagedApp;
  /** The app's Kustomization, as read from the API. */
  readonly kustomization: KubeObject;
  readonly allowCrossNamespaceRefs: boolean;
  /**
   * The GitRepository as an informer holds it, when one does: its URL, ref and Secret's name
   * need no fresh read (a push to a URL changed a moment ago fails and is retried). Read from
   * the API when this is absent or has no copy.
   */
  readonly cachedGitRepository?: (namespace: string, name: string) => KubeObject | undefined;
}

const fail = (error: RemoteError): ResolveRemoteResult => ({ ok: false, error });

async function getOrUndefined(
  client: Pick<KubeClient, "get">,
  ref: { apiVersion: string; kind: string; namespace: string; name: string },
): Promise<KubeObject | undefined> {
  try {
    return await client.get(ref);
  } catch (err) {
    if (isKubeError(err, "NotFound")) return undefined;
    throw err;
  }
}

/**
 * Resolves the app's Git remote. API failures other than NotFound are thrown as KubeErrors (the
 * caller retries them); everything about the objects' content is a typed error.
 *
 * The GitRepository's Secret is used only for the GitRepository's own URL: when spec.git.url
 * points elsewhere, Flux's credential is not sent there, and spec.git.secretRef names the one
 * to use (otherwise the push goes without credentials).
 */
export async function resolveGitRemote(input: ResolveRemoteInput): Promise<ResolveRemoteResult> {
  const { client, app, allowCrossNamespaceRefs } = input;
  const appNamespace = app.metadata.namespace ?? "";
  const ks = KustomizationSource.safeParse(input.kustomization);
  if (!ks.success) {
    return fail({
      code: "invalid",
      field: "spec.sourceRef",
      message: "the Kustomization has no spec.sourceRef with kind and name",
    });
  }
  const kustomization = ks.data;
  const ksName = `Kustomization ${kustomization.metadata.namespace}/${kustomization.metadata.name}`;
  const sourceRef = kustomization.spec.sourceRef;
  if (sourceRef.kind !== "GitRepository") {
    return fail({
      code: "unsupported-source",
      message: `${ksName} takes its source from ${sourceRef.kind} ${sourceRef.name}; Cairn can commit only to a GitRepository`,
    });
  }
  const repoKey: ObjectKey = {
    namespace: sourceRef.namespace ?? kustomization.metadata.namespace,
    name: sourceRef.name,
  };
  if (!allowCrossNamespaceRefs && repoKey.namespace !== appNamespace) {
    const field =
      sourceRef.namespace === undefined
        ? "spec.kustomizationRef.namespace"
        : `${ksName} spec.sourceRef.namespace`;
    return fail({
      code: "cross-namespace-ref",
      field,
      message: `${field}: GitRepository ${repoKey.namespace}/${repoKey.name} is outside namespace ${appNamespace} (the controller does not allow cross-namespace references)`,
    });
  }

  const repoObject =
    input.cachedGitRepository?.(repoKey.namespace, repoKey.name) ??
    (await getOrUndefined(client, {
      apiVersion: sourceRef.apiVersion ?? GIT_REPOSITORY_API_VERSION,
      kind: "GitRepository",
      ...repoKey,
    }));
  if (!repoObject) {
    return fail({
      code: "not-found",
      kind: "GitRepository",
      ...repoKey,
      message: `GitRepository ${repoKey.namespace}/${repoKey.name} not found`,
    });
  }
  const repo = GitRepository.safeParse(repoObject);
  if (!repo.success) {
    return fail({
      code: "invalid",
      field: "spec.url",
      message: `GitRepository ${repoKey.namespace}/${repoKey.name} has no spec.url`,
    });
  }
  const { url: repoUrl, ref, secretRef } = repo.data.spec;
  // Flux checks out commit, name, semver and tag before branch; with any of them set, a commit
  // on a branch would never be applied.
  const pinned = (["commit", "name", "semver", "tag"] as const).find((k) => ref?.[k]);
  if (pinned) {
    return fail({
      code: "unsupported-ref",
      message: `GitRepository ${repoKey.namespace}/${repoKey.name} follows a ${pinned} (spec.ref.${pinned}); Cairn can commit only to a branch`,
    });
  }

  const git = app.spec.git;
  const url = git?.url ?? repoUrl;
  const transport = transportOf(url);
  if (transport === undefined) {
    return fail({
      code: "invalid",
      field: git?.url ? "spec.git.url" : "spec.url",
      message: "the Git URL must start with http://, https:// or ssh://",
    });
  }
  const branch = git?.branch ?? (ref?.branch || FLUX_DEFAULT_BRANCH);
  const repoName = `GitRepository ${repoKey.namespace}/${repoKey.name}`;
  const branchField = git?.branch
    ? "spec.git.branch"
    : ref?.branch
      ? `${repoName} spec.ref.branch`
      : `${repoName} spec.ref (none: Flux's default branch ${FLUX_DEFAULT_BRANCH})`;
  const urlSource = git?.url
    ? { kind: "ManagedApp" as const, namespace: appNamespace, name: app.metadata.name }
    : { kind: "GitRepository" as const, ...repoKey };

  let secret: ObjectKey | undefined;
  if (git?.secretRef) secret = { namespace: appNamespace, name: git.secretRef.name };
  else if (secretRef && url === repoUrl)
    secret = { namespace: repoKey.namespace, name: secretRef.name };
  // Every message about the Secret starts with the field that named it.
  const secretField = git?.secretRef
    ? "spec.git.secretRef.name"
    : `${repoName} spec.secretRef.name`;

  let credentials: GitCredentials = { kind: "none" };
  if (secret) {
    const secretObject = await getOrUndefined(client, {
      apiVersion: "v1",
      kind: "Secret",
      ...secret,
    });
    if (!secretObject) {
      return fail({
        code: "not-found",
        kind: "Secret",
        ...secret,
        message: `${secretField}: Secret ${secret.namespace}/${secret.name} not found`,
      });
    }
    const data = SecretData.safeParse(secretObject);
    const parsed = credentialsFromSecretData(data.success ? (data.data.data ?? {}) : {}, transport);
    if (!parsed.ok) {
      return fail({
        code: "credentials",
        secret,
        error: parsed.error,
        message: `${secretField}: Secret ${secret.namespace}/${secret.name}: ${parsed.error.message}`,
      });
    }
    credentials = parsed.credentials;
  }

  return {
    ok: true,
    remote: {
      url,
      branch,
      credentials,
      source: urlSource,
      gitRepository: repoKey,
      secret,
      branchField,
    },
  };
}
