// Which of the versions a source offers is the app's available update (pure). Versions are
// compared as semver (the `semver` package, as Helm does); entries that are not valid semver are
// skipped, and pre-releases are offered only when the policy asks for them.
import semver from "semver";

export interface UpdatePolicy {
  /** A semver range the update must satisfy, e.g. ">=1.0.0 <2.0.0" or "1.x". */
  readonly constraint?: string | undefined;
  /** Offer pre-releases (1.2.0-rc.1) too. */
  readonly prereleases: boolean;
}

export type UpdateSelection =
  | { readonly kind: "update"; readonly version: string }
  | { readonly kind: "upToDate"; readonly newest: string | undefined }
  | { readonly kind: "currentInvalid"; readonly message: string };

/** Whether a version string is one semver understands (a leading "v" is allowed, as Helm does). */
export function isSemver(version: string): boolean {
  return semver.valid(version, { loose: false }) !== null;
}

function allowed(version: string, policy: UpdatePolicy): boolean {
  if (!isSemver(version)) return false;
  if (!policy.prereleases && semver.prerelease(version) !== null) return false;
  if (policy.constraint === undefined) return true;
  return semver.satisfies(version, policy.constraint, { includePrerelease: policy.prereleases });
}

/** How far an automatic upgrade may go (versionPolicy.autoUpdate). */
export type AutoUpdateLevel = "none" | "patch" | "minor" | "major";

/** Whether `target` stays within `level` of `current`: same major.minor, same major, or any. */
export function withinLevel(current: string, target: string, level: AutoUpdateLevel): boolean {
  const from = semver.parse(current);
  const to = semver.parse(target);
  if (level === "none" || !from || !to) return false;
  if (level === "major") return true;
  if (to.major !== from.major) return false;
  return level === "minor" || to.minor === from.minor;
}

/**
 * The newest version of `offered` newer than `current` that the policy allows (and `accept`,
 * when given: an automatic upgrade's level).
 */
export function selectUpdate(
  current: string,
  offered: readonly string[],
  policy: UpdatePolicy,
  accept: (version: string) => boolean = () => true,
): UpdateSelection {
  if (!isSemver(current)) {
    return {
      kind: "currentInvalid",
      message: `the current version ${JSON.stringify(current)} is not a semver version`,
    };
  }
  const candidates = offered.filter((v) => allowed(v, policy) && accept(v)).sort(semver.rcompare);
  const newest = candidates[0];
  if (newest !== undefined && semver.gt(newest, current)) {
    return { kind: "update", version: newest };
  }
  return { kind: "upToDate", newest };
}

export { constraintProblem } from "../api/version-constraint.ts";
