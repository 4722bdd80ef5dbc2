// Opening the app's Git repository for a request: the remote comes from the GitRepository
// behind the Kustomization (or the app's spec.git override), with its credentials Secret read
// at the moment it is needed and never kept in status, logs or Events.
import type { ManagedApp } from "../../api/index.ts";
import { resolveGitRemote, type RemoteError } from "../../git/remote.ts";
import { GitWorkspace } from "../../git/workspace.ts";
import type { WorkspacePool } from "../../git/workspace-pool.ts";
import type { KubeApi, KubeObject } from "../../kube/client.ts";

export interface GitAccessDeps {
  readonly client: KubeApi;
  readonly cacheDir: string;
  readonly allowCrossNamespaceRefs: boolean;
  /** Reuses one workspace per remote, so its operations queue instead of racing on the cache. */
  readonly pool?: WorkspacePool;
  /** The GitRepository from the informer (resolveGitRemote's cachedGitRepository). */
  readonly cachedGitRepository?: (namespace: string, name: string) => KubeObject | undefined;
}

export interface OpenedRepo {
  readonly ws: GitWorkspace;
  readonly url: string;
  readonly branch: string;
  /** The GitRepository Flux reads the app from. */
  readonly gitRepository: { readonly namespace: string; readonly name: string };
  /** Where the branch was set (spec.git.branch or the GitRepository's spec.ref.branch). */
  readonly branchField: string;
}

/** The app's Git settings cannot be used; `error` says which field and why. */
export class GitAccessError extends Error {
  override readonly name = "GitAccessError";
  readonly error: RemoteError | undefined;
  constructor(message: string, error?: RemoteError) {
    super(message);
    this.error = error;
  }
}

export async function openRepo(
  deps: GitAccessDeps,
  app: ManagedApp,
  kustomization: KubeObject,
): Promise<OpenedRepo> {
  const remote = await resolveGitRemote({
    client: deps.client,
    app,
    kustomization,
    allowCrossNamespaceRefs: deps.allowCrossNamespaceRefs,
    ...(deps.cachedGitRepository ? { cachedGitRepository: deps.cachedGitRepository } : {}),
  });
  if (!remote.ok) throw new GitAccessError(remote.error.message, remote.error);
  const { url, branch, credentials, gitRepository, branchField } = remote.remote;
  const target = { url, branch, credentials };
  const ws = await (deps.pool
    ? deps.pool.open(deps.cacheDir, target)
    : GitWorkspace.open({ root: deps.cacheDir, remote: target }));
  return { ws, url, branch, gitRepository, branchField };
}
