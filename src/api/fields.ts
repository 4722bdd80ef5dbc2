// Field formats shared by the CRDs and the zod schemas. Each pattern is written once here, as the
// exact string the CRD YAML carries (the agreement test compares them), and is valid both as an
// ECMAScript and as an RE2 (Go) regular expression.
import { z } from "zod";

/** RFC 1123 label: namespaces and the names of Cairn's own objects. */
export const DNS_LABEL_PATTERN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
export const DNS_LABEL_MAX = 63;

/** RFC 1123 subdomain: names of other Kubernetes objects (Kustomizations, PVCs, Secrets …). */
export const DNS_SUBDOMAIN_PATTERN =
  "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
export const DNS_SUBDOMAIN_MAX = 253;

/** A chart version: SemVer, with an optional leading "v", minor and patch optional. */
export const CHART_VERSION_PATTERN =
  "^v?[0-9]+(\\.[0-9]+){0,2}(-[0-9A-Za-z-]+(\\.[0-9A-Za-z-]+)*)?(\\+[0-9A-Za-z-]+(\\.[0-9A-Za-z-]+)*)?$";
export const VERSION_MAX = 128;

/**
 * The value found at an app's version path, as status reports it: a chart version (SemVer,
 * build metadata included) or an image tag.
 */
export const VERSION_VALUE_PATTERN = "^[A-Za-z0-9_][A-Za-z0-9._+-]{0,127}$";

/** The OCI distribution spec's tag grammar. */
export const IMAGE_TAG_PATTERN = "^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$";

/** An image repository without tag or digest, optionally with a registry host and port. */
export const IMAGE_NAME_PATTERN =
  "^[a-z0-9]+([._-]+[a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-]+[a-z0-9]+)*)*$";
export const IMAGE_NAME_MAX = 255;

/** A Go duration, as Flux writes them: "30s", "5m", "1h30m", "1.5h". */
export const DURATION_PATTERN = "^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$";
export const DURATION_MAX = 64;

/**
 * Every duration of a spec lies within these bounds: a timeout of zero fails a step before it
 * starts, and one of "9999999999h" has no date to end on (deadline arithmetic would overflow).
 * One week is longer than any step should ever wait while it holds the app's lock.
 */
export const DURATION_MIN_VALUE = "1s";
export const DURATION_MAX_VALUE = "168h";
export const DURATION_MIN_MS = 1_000;
export const DURATION_MAX_MS = 168 * 3_600_000;
export const DURATION_RULE = `duration(self) >= duration('${DURATION_MIN_VALUE}') && duration(self) <= duration('${DURATION_MAX_VALUE}')`;
export const DURATION_BOUNDS_MESSAGE = `must be a duration from ${DURATION_MIN_VALUE} to ${DURATION_MAX_VALUE}`;

/**
 * How often an OCI repository's tags are listed for the update check: not more often than every
 * 30 s (a registry rate-limits), at least once a week.
 */
export const CHECK_INTERVAL_MIN_VALUE = "30s";
export const CHECK_INTERVAL_MIN_MS = 30_000;
export const CHECK_INTERVAL_RULE = `duration(self) >= duration('${CHECK_INTERVAL_MIN_VALUE}') && duration(self) <= duration('${DURATION_MAX_VALUE}')`;
export const CHECK_INTERVAL_MESSAGE = `must be a duration from ${CHECK_INTERVAL_MIN_VALUE} to ${DURATION_MAX_VALUE}`;

/** A maintenance window lasts from one minute to one day. */
export const WINDOW_DURATION_MIN_VALUE = "1m";
export const WINDOW_DURATION_MAX_VALUE = "24h";
export const WINDOW_DURATION_MIN_MS = 60_000;
export const WINDOW_DURATION_MAX_MS = 24 * 3_600_000;
export const WINDOW_DURATION_RULE = `duration(self) >= duration('${WINDOW_DURATION_MIN_VALUE}') && duration(self) <= duration('${WINDOW_DURATION_MAX_VALUE}')`;
export const WINDOW_DURATION_MESSAGE = `must be a duration from ${WINDOW_DURATION_MIN_VALUE} to ${WINDOW_DURATION_MAX_VALUE}`;

export const GIT_URL_PATTERN = "^(https?|ssh)://\\S+$";
export const GIT_URL_MAX = 2048;

/** A branch name; it never starts with "-", so the git CLI cannot read it as an option. */
export const GIT_BRANCH_PATTERN = "^[A-Za-z0-9_][A-Za-z0-9._/+-]*$";
export const GIT_BRANCH_MAX = 255;

/** A full commit id: SHA-1 or SHA-256. */
export const COMMIT_SHA_PATTERN = "^([0-9a-f]{40}|[0-9a-f]{64})$";

export const GIT_PATH_MAX = 1024;
export const VERSION_PATH_MAX = 512;

/**
 * A plain relative path to a file: slash-separated, non-empty segments, no leading or trailing '/'
 * (Git's tree has no "", "." or ".." entries, so such a path names nothing Cairn could edit).
 */
export const PLAIN_PATH_PATTERN = "^[^/]+(/[^/]+)*$";
/** Matches a "." or ".." segment anywhere in a slash-separated path (the CEL rule uses the same). */
export const DOT_SEGMENT_PATTERN = "(^|/)[.][.]?(/|$)";
export const GIT_PATH_RULE = `self.matches('${PLAIN_PATH_PATTERN}') && !self.matches('${DOT_SEGMENT_PATTERN}')`;
export const GIT_PATH_MESSAGE =
  "spec.gitPath must be a plain relative path to a file in the repository (no leading or trailing '/', no empty, '.' or '..' segments)";

const pattern = (source: string, what: string, max: number) =>
  z
    .string()
    .max(max)
    .regex(new RegExp(source), { error: `must be ${what}` });

export const DnsLabel = pattern(
  DNS_LABEL_PATTERN,
  "a DNS label (lowercase letters, digits and '-', starting and ending with a letter or digit)",
  DNS_LABEL_MAX,
);
export const DnsSubdomain = pattern(
  DNS_SUBDOMAIN_PATTERN,
  "a DNS subdomain (lowercase letters, digits, '-' and '.', starting and ending with a letter or digit)",
  DNS_SUBDOMAIN_MAX,
);
export const ChartVersion = pattern(
  CHART_VERSION_PATTERN,
  'a SemVer version such as "1.2.3" or "v1.2.3-rc.1"',
  VERSION_MAX,
);
export const VersionValue = pattern(
  VERSION_VALUE_PATTERN,
  "a version or image tag (letters, digits, '_', '.', '+' and '-')",
  VERSION_MAX,
);
export const ImageTag = pattern(
  IMAGE_TAG_PATTERN,
  "an OCI image tag (letters, digits, '_', '.' and '-', at most 128, not starting with '.' or '-')",
  VERSION_MAX,
);
export const ImageName = pattern(
  IMAGE_NAME_PATTERN,
  'an image repository without tag, such as "ghcr.io/org/app"',
  IMAGE_NAME_MAX,
);
const GoDuration = pattern(
  DURATION_PATTERN,
  'a duration such as "90s", "5m" or "1h30m"',
  DURATION_MAX,
);

const DURATION_UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * "90s", "5m", "1h30m", "250ms" → milliseconds (Infinity for digits beyond any number); undefined
 * for anything else.
 */
export function durationMs(text: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    total += Number(m[1]) * (DURATION_UNIT_MS[m[2] ?? ""] ?? 0);
    matched = re.lastIndex;
  }
  return matched === text.length && text.length > 0 ? total : undefined;
}

/** A Go duration within the bounds above; the CEL rule DURATION_RULE mirrors the refinement. */
export const Duration = GoDuration.refine(
  (text) => {
    const ms = durationMs(text);
    // A malformed value is the pattern's error; this rule speaks only about the range.
    return ms === undefined || (ms >= DURATION_MIN_MS && ms <= DURATION_MAX_MS);
  },
  { error: DURATION_BOUNDS_MESSAGE },
);
/** A maintenance window's length, within its own bounds (WINDOW_DURATION_RULE in the CRD). */
export const WindowDuration = GoDuration.refine(
  (text) => {
    const ms = durationMs(text);
    return ms === undefined || (ms >= WINDOW_DURATION_MIN_MS && ms <= WINDOW_DURATION_MAX_MS);
  },
  { error: WINDOW_DURATION_MESSAGE },
);

/** The update check's interval, within its own bounds (CHECK_INTERVAL_RULE in the CRD). */
export const CheckInterval = GoDuration.refine(
  (text) => {
    const ms = durationMs(text);
    return ms === undefined || (ms >= CHECK_INTERVAL_MIN_MS && ms <= DURATION_MAX_MS);
  },
  { error: CHECK_INTERVAL_MESSAGE },
);
export const GitUrl = pattern(GIT_URL_PATTERN, "an http(s):// or ssh:// URL", GIT_URL_MAX);
export const GitBranch = pattern(
  GIT_BRANCH_PATTERN,
  "a branch name (letters, digits, '_', '.', '/', '+' and '-', not starting with '.', '/', '+' or '-')",
  GIT_BRANCH_MAX,
);
export const CommitSha = pattern(COMMIT_SHA_PATTERN, "a full commit id (40 or 64 hex digits)", 64);

/** An RFC 3339 timestamp, as metav1.Time serializes ("2025-01-02T03:04:05Z"). */
export const Timestamp = z.iso.datetime({ offset: true });

/** A non-negative integer (replica counts, generations). */
export const Count = z.number().int().min(0);

/** A free-form status string with a length cap. */
export const Text = (max: number) => z.string().max(max);

/** The CEL rule on a request's spec: a new attempt is a new request (requests are one-shot). */
export const IMMUTABLE_SPEC_RULE = "self == oldSelf";
export const IMMUTABLE_SPEC_MESSAGE = "spec is immutable; create a new request";

/**
 * A refinement for lists the CRD keys by one field (x-kubernetes-list-type: map): each repeat is
 * reported at its own index, as the API server does ("images[1]: duplicate …").
 */
export function uniqueBy<T>(key: (item: T) => string, what: string) {
  return (list: readonly T[], ctx: z.RefinementCtx<readonly T[]>) => {
    const seen = new Set<string>();
    list.forEach((item, index) => {
      const value = key(item);
      if (seen.has(value)) {
        ctx.addIssue({ code: "custom", path: [index], message: `duplicate ${what} "${value}"` });
      }
      seen.add(value);
    });
  };
}
