// Whether an upgrade's chart target (or an image-versioned app's tag) may be planned (pure): the
// version must exist in its source, and must not be older than the version the app runs unless
// the request allows a downgrade. Each answer is a preflight check whose message names the source
// or the versions.
import semver from "semver";

/** What the chart's source offers, as read when the plan is made. */
export type SourceVersions =
  /** The source was read: its versions of the chart, and how to name it. */
  | {
      readonly kind: "read";
      /** The source by kind, name and URL. */
      readonly source: string;
      readonly chart: string;
      readonly versions: readonly string[];
      /** The versions are an image's tags (versionPolicy.image); `chart` is the image. */
      readonly image?: boolean;
    }
  /** A source Cairn does not read (OCI, Git, a HelmChart): the target is not verified. */
  | { readonly kind: "unsupported"; readonly message: string }
  /** A source Cairn reads but could not: no target can be verified now. */
  | { readonly kind: "unreadable"; readonly message: string; readonly image?: boolean };

export interface TargetCheck {
  readonly name: "TargetExists" | "Downgrade";
  readonly passed: boolean;
  readonly message: string;
}

export interface TargetInput {
  readonly target: string;
  /** The version the app runs, when known. */
  readonly current: string | undefined;
  readonly source: SourceVersions;
  readonly allowDowngrade: boolean;
}

function existence(target: string, source: SourceVersions): TargetCheck {
  switch (source.kind) {
    case "unsupported":
      return {
        name: "TargetExists",
        passed: true,
        message: `chart ${target} not verified: ${source.message}`,
      };
    case "unreadable":
      return {
        name: "TargetExists",
        passed: false,
        message: `${source.image ? "tag" : "chart"} ${target} cannot be verified: ${source.message}`,
      };
    case "read": {
      // Helm matches an exact version; "v1.2.3" and "1.2.3" are the same release to semver.
      const found = source.versions.some(
        (v) =>
          v === target || (semver.valid(v) !== null && semver.valid(v) === semver.valid(target)),
      );
      if (source.image)
        return found
          ? {
              name: "TargetExists",
              passed: true,
              message: `image ${source.chart}:${target} is in ${source.source}`,
            }
          : {
              name: "TargetExists",
              passed: false,
              message: `image ${source.chart} has no tag ${target} in ${source.source}`,
            };
      return found
        ? {
            name: "TargetExists",
            passed: true,
            message: `chart ${source.chart} ${target} is in ${source.source}`,
          }
        : {
            name: "TargetExists",
            passed: false,
            message: `chart ${source.chart} has no version ${target} in ${source.source}`,
          };
    }
  }
}

function direction(input: TargetInput): TargetCheck | undefined {
  const { target, current } = input;
  if (current === undefined || semver.valid(current) === null || semver.valid(target) === null) {
    return undefined;
  }
  if (!semver.lt(target, current)) return undefined;
  return input.allowDowngrade
    ? {
        name: "Downgrade",
        passed: true,
        message: `${target} is older than the running ${current}; allowed by spec.allowDowngrade`,
      }
    : {
        name: "Downgrade",
        passed: false,
        message: `${target} is older than the running ${current}; set spec.allowDowngrade: true on the request to downgrade`,
      };
}

/** The preflight checks for a chart target, in the order a reader expects them. */
export function verifyChartTarget(input: TargetInput): TargetCheck[] {
  const checks = [existence(input.target, input.source)];
  const downgrade = direction(input);
  if (downgrade) checks.push(downgrade);
  return checks;
}
