// Which stored revision is the release (domain notes, §2): the highest revision with status
// deployed. Never simply the highest revision: a newer pending-* one is an action a crash left
// behind, a newer failed one an attempt that did not work, and both are problems to report.
import { decodeReleaseSecret, type SecretRef } from "./secret.ts";
import { isPending, type Release, type ReleaseError } from "./release.ts";
import type { ReleaseDecoder } from "./cache.ts";

export type ReleaseProblem =
  /** No release Secrets at all (not installed, or another storage namespace). */
  | { readonly code: "NoRelease"; readonly message: string }
  /** Revisions exist, none of them deployed (first install pending or failed, or uninstalled). */
  | { readonly code: "NoDeployedRelease"; readonly message: string }
  /** The newest revision above the deployed one is pending-*: stuck mid-action. */
  | {
      readonly code: "PendingRelease";
      readonly release: Release;
      /** The Secret that stores the pending revision. */
      readonly secret: SecretRef | undefined;
      /** What a person runs to unstick it (Helm refuses every further action until then). */
      readonly recovery: string;
      readonly message: string;
    }
  /** The newest revision above the deployed one failed. */
  | { readonly code: "FailedRelease"; readonly release: Release; readonly message: string }
  /** The newest revision above the deployed one has another status (uninstalling, unknown …). */
  | { readonly code: "UnexpectedStatus"; readonly release: Release; readonly message: string }
  /**
   * A Secret that could sit at or above the deployed revision cannot be decoded, so the
   * selection cannot be trusted.
   */
  | {
      readonly code: "UnreadableRevision";
      readonly secret: SecretRef | undefined;
      readonly error: ReleaseError;
      readonly message: string;
    };
export type ReleaseProblemCode = ReleaseProblem["code"];

export interface ReleaseSelection {
  /** The highest revision with status deployed. */
  readonly current: Release | undefined;
  /** The highest revision of all that could be decoded. */
  readonly latest: Release | undefined;
  /** Empty when current is the newest revision and every Secret that matters decoded. */
  readonly problems: readonly ReleaseProblem[];
}

const plainDecoder: ReleaseDecoder = { decode: (s) => decodeReleaseSecret(s) };

function describe(r: Release): string {
  return `${r.namespace}/${r.name} revision ${r.version} (${r.chart.metadata.name} ${r.chart.metadata.version})`;
}

/**
 * The command that unsticks a release left pending-* above its deployed revision: roll back to
 * that revision, without hooks (a hook is what hangs or dies most often, and would run again).
 * The namespace is the storage namespace, where Helm looks for the release.
 */
export function rollbackCommand(
  release: string,
  deployedRevision: number,
  namespace: string | undefined,
): string {
  const ns = namespace ? ` --namespace ${namespace}` : "";
  return `helm rollback ${release} ${deployedRevision}${ns} --no-hooks`;
}

/**
 * Picks the release from the Secrets of one release (listed with `owner=helm,name=<release>`).
 * Pass the shared ReleaseCache as decoder so unchanged Secrets are not decoded again.
 */
export function selectRelease(
  secrets: readonly unknown[],
  decoder: ReleaseDecoder = plainDecoder,
): ReleaseSelection {
  if (secrets.length === 0) {
    return {
      current: undefined,
      latest: undefined,
      problems: [{ code: "NoRelease", message: "no Helm release Secrets found" }],
    };
  }
  const decoded: Release[] = [];
  const secretOf = new Map<number, SecretRef>();
  const unreadable: { secret: SecretRef | undefined; error: ReleaseError }[] = [];
  for (const s of secrets) {
    const result = decoder.decode(s);
    if (result.ok) {
      decoded.push(result.release);
      secretOf.set(result.release.version, result.secret);
    } else unreadable.push({ secret: result.secret, error: result.error });
  }
  decoded.sort((a, b) => b.version - a.version);
  const latest = decoded[0];
  const current = decoded.find((r) => r.info.status === "deployed");
  const problems: ReleaseProblem[] = [];

  // An unreadable Secret below the deployed revision is history; at or above it (or of unknown
  // revision) it may be the real newest state.
  for (const u of unreadable) {
    const revision = u.secret?.revision;
    if (current && revision !== undefined && revision < current.version) continue;
    problems.push({ code: "UnreadableRevision", ...u, message: u.error.message });
  }

  if (!current) {
    const what = latest ? `; the newest is ${describe(latest)}, ${latest.info.status}` : "";
    problems.push({ code: "NoDeployedRelease", message: `no revision is deployed${what}` });
  } else if (latest && latest.version > current.version) {
    const status = latest.info.status;
    const base = `${describe(latest)} is ${status} above the deployed revision ${current.version}`;
    if (isPending(status)) {
      const secret = secretOf.get(latest.version);
      const recovery = rollbackCommand(latest.name, current.version, secret?.namespace);
      const where = secret ? ` (Secret ${secret.namespace}/${secret.name})` : "";
      problems.push({
        code: "PendingRelease",
        release: latest,
        secret,
        recovery,
        message: `${base}${where}: an action was interrupted and the release is stuck; Helm refuses every further action until it is rolled back: ${recovery}`,
      });
    } else if (status === "failed") {
      problems.push({
        code: "FailedRelease",
        release: latest,
        message: `${base}: the last attempt failed`,
      });
    } else {
      problems.push({ code: "UnexpectedStatus", release: latest, message: base });
    }
  }
  return { current, latest, problems };
}
