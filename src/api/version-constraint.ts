// The rule for spec.versionPolicy.constraint, in the API layer because the ManagedApp schema
// checks it: what the `semver` package accepts as a range (the update checker reads it the same way).
import semver from "semver";

/** A constraint the `semver` package accepts, or the reason it does not. */
export function constraintProblem(range: string): string | undefined {
  return semver.validRange(range) === null
    ? `${JSON.stringify(range)} is not a semver range (e.g. ">=1.2.0 <2.0.0", "1.x", "~1.4")`
    : undefined;
}
