// The one place that reads flags and environment variables. Everything else gets the frozen
// Config that main.ts builds here, so no module can grow a hidden dependency on the environment
// and tests pass plain arrays and objects instead of mutating process.env.
import { isIPv4, isIPv6 } from "node:net";
import { hostname } from "node:os";
import { z } from "zod";
import { parseLabelSelector } from "./runtime/label-selector.ts";

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error"] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

/** A listen address; host "" means every interface, as in Go's ":8080". */
export interface Address {
  readonly host: string;
  readonly port: number;
}

/** The environment as process.env shapes it. */
export type Env = Readonly<Record<string, string | undefined>>;

/** What a default may depend on besides the environment; tests pass it to stay deterministic. */
export interface HostFacts {
  readonly hostname: string;
}

export type ConfigResult =
  { readonly ok: true; readonly config: Config } | { readonly ok: false; readonly message: string };

// RFC 1123: what Kubernetes accepts for namespaces (labels) and most object names (subdomains).
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN =
  /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*$/;

export function parseAddress(text: string): { ok: true; address: Address } | { ok: false } {
  // An IPv6 host must be bracketed, so the port always follows the one unbracketed colon.
  const match = /^(\[[^\]]*\]|[^:[\]]*):(\d{1,5})$/.exec(text);
  if (!match) return { ok: false };
  const rawHost = match[1] ?? "";
  const port = Number(match[2]);
  if (port > 65_535) return { ok: false };
  if (rawHost.startsWith("[")) {
    const host = rawHost.slice(1, -1);
    return isIPv6(host) ? { ok: true, address: { host, port } } : { ok: false };
  }
  if (rawHost === "" || isIPv4(rawHost) || (HOSTNAME.test(rawHost) && !/^[\d.]+$/.test(rawHost))) {
    return { ok: true, address: { host: rawHost, port } };
  }
  return { ok: false };
}

export function formatAddress(address: Address): string {
  return address.host.includes(":")
    ? `[${address.host}]:${address.port}`
    : `${address.host}:${address.port}`;
}

const addressField = z.string().transform((text, ctx) => {
  const parsed = parseAddress(text);
  if (parsed.ok) return parsed.address;
  ctx.addIssue({
    code: "custom",
    message: "must be host:port (e.g. 0.0.0.0:8080, [::1]:8080 or :8080) with a port up to 65535",
  });
  return z.NEVER;
});

function wholeNumber(min: number, max: number) {
  const message = `must be a whole number from ${min} to ${max}`;
  // A pipe stops at the first failing stage, so each bad value gets exactly one message.
  return z
    .string()
    .regex(/^\d{1,9}$/, message)
    .transform(Number)
    .pipe(z.number().min(min, message).max(max, message));
}

const booleanField = z.stringbool({ error: "must be true or false" });

const DURATION_UNITS_MS = { h: 3_600_000, m: 60_000, s: 1_000 } as const;

/** Go's duration format in whole hours, minutes and seconds ("30m", "1h30m", "45s"), as ms. */
export function parseDurationMs(text: string): number | undefined {
  const match = /^(?:(\d{1,6})h)?(?:(\d{1,6})m)?(?:(\d{1,6})s)?$/.exec(text);
  if (!match || text === "") return undefined;
  const [, h, m, s] = match;
  return (
    Number(h ?? 0) * DURATION_UNITS_MS.h +
    Number(m ?? 0) * DURATION_UNITS_MS.m +
    Number(s ?? 0) * DURATION_UNITS_MS.s
  );
}

function durationMs(min: number, max: number, range: string) {
  const message = `must be a duration such as 30m, 1h30m or 45s, from ${range}`;
  return z.string().transform((text, ctx) => {
    const ms = parseDurationMs(text);
    if (ms !== undefined && ms >= min && ms <= max) return ms;
    ctx.addIssue({ code: "custom", message });
    return z.NEVER;
  });
}

const ConfigSchema = z.object({
  namespace: z.string().regex(DNS_LABEL, "must be a namespace name (a DNS label)"),
  // Event reportingInstance allows 128 characters, and the pod name ends up there.
  podName: z.string().min(1, "must not be empty").max(128, "must be at most 128 characters"),
  kubeconfig: z.string().min(1, "must not be empty").optional(),
  metricsAddr: addressField,
  healthAddr: addressField,
  logLevel: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(", ")}` }),
  leaderElect: booleanField,
  leaseName: z.string().regex(DNS_SUBDOMAIN, "must be a Lease name (a DNS subdomain)"),
  leaseDurationSeconds: wholeNumber(1, 3600),
  renewDeadlineSeconds: wholeNumber(1, 3600),
  retryPeriodSeconds: wholeNumber(1, 3600),
  workers: wholeNumber(1, 64),
  // How many automatic upgrades (versionPolicy.autoUpdate) may run at once cluster-wide; 0 turns
  // automatic upgrades off everywhere.
  maxAutoUpgrades: wholeNumber(0, 100),
  allowCrossNamespaceRefs: booleanField,
  shutdownTimeoutSeconds: wholeNumber(1, 3600),
  gitCacheDir: z.string().min(1, "must not be empty"),
  gitAuthorName: z.string().min(1, "must not be empty").max(256),
  gitAuthorEmail: z.string().regex(/^[^<>\s]+@[^<>\s]+$/, "must be an e-mail address"),
  // Like Flux's --watch-label-selector: only ManagedApps with these labels, and the requests of
  // those apps, are handled (several Cairns side by side, or shards: docs/sharding.md).
  watchLabelSelector: z
    .string()
    .refine((text) => parseLabelSelector(text).ok, {
      error: "must be a label selector such as team=a,tier!=test or shard in (a,b)",
    })
    .optional(),
  // Crash testing: "<Kind>/<Step>" makes the process kill itself (SIGKILL) right after that
  // step's side effects and before its status write, the moment a crash hurts most.
  failpoint: z
    .string()
    .regex(/^(UpgradeRequest|RollbackRequest)\/[A-Za-z]+$/, "must be <Kind>/<Step>")
    .optional(),
  // What the failpoint does: kill (the default) or stop (SIGSTOP: the process freezes there, as a
  // replica paused past its lease does, and goes on from there when it gets SIGCONT).
  failpointAction: z.enum(["kill", "stop"], { error: "must be kill or stop" }).optional(),
  suspendedWarningAfterMs: durationMs(1_000, 30 * 24 * 3_600_000, "1s to 720h"),
  // Flux's notification-controller event address, as Flux's own --events-addr: Events on
  // ManagedApps go there too (controllers/notifications.ts); unset: nothing is posted.
  eventsAddr: z
    .string()
    .refine(
      (text) => {
        try {
          const url = new URL(text);
          return (url.protocol === "http:" || url.protocol === "https:") && url.username === "";
        } catch {
          return false;
        }
      },
      {
        error:
          "must be an http(s) URL, e.g. http://notification-controller.flux-system.svc.cluster.local./",
      },
    )
    .optional(),
  // The impact preview's rendering helper (cairn-render, go/render); unset: plans carry no impact.
  renderHelper: z
    .string()
    .regex(/^\//, "must be an absolute path to the cairn-render binary")
    .optional(),
});

/** Rules between fields; each runs when the fields it compares are valid on their own. */
function crossFieldProblems(c: Partial<Parsed>): [Field, string][] {
  const problems: [Field, string][] = [];
  const { leaseDurationSeconds: lease, renewDeadlineSeconds: renew, retryPeriodSeconds: retry } = c;
  // client-go's rule: a leader gets several renewal attempts in before its lease lapses, or
  // two replicas could both believe they lead.
  if (lease !== undefined && renew !== undefined && renew >= lease) {
    problems.push(["renewDeadlineSeconds", `must be less than leaseDurationSeconds (${lease})`]);
  }
  if (renew !== undefined && retry !== undefined && retry >= renew) {
    problems.push(["retryPeriodSeconds", `must be less than renewDeadlineSeconds (${renew})`]);
  }
  if (c.metricsAddr && c.healthAddr && addressesClash(c.metricsAddr, c.healthAddr)) {
    problems.push([
      "healthAddr",
      `must not be the same listener as metricsAddr (${formatAddress(c.metricsAddr)})`,
    ]);
  }
  return problems;
}

type Parsed = z.output<typeof ConfigSchema>;

/** The controller's settings; frozen all the way down. */
export type Config = { readonly [K in keyof Parsed]: Parsed[K] };

type Field = keyof z.input<typeof ConfigSchema>;

interface FieldSpec {
  readonly flag: string;
  /** Read in order after the flag; the first non-empty one wins. */
  readonly env: readonly string[];
  readonly boolean?: true;
  /** As a user would type it; undefined leaves the field unset. */
  readonly fallback: (host: HostFacts) => string | undefined;
}

const FIELDS: { readonly [K in Field]-?: FieldSpec } = {
  namespace: {
    flag: "namespace",
    env: ["CAIRN_NAMESPACE", "POD_NAMESPACE"],
    fallback: () => "cairn-system",
  },
  podName: {
    flag: "pod-name",
    env: ["CAIRN_POD_NAME", "POD_NAME"],
    // In a pod the hostname is the pod name, so this holds even without the downward API. It
    // is also the leader-election identity: two processes on one host (tests, local runs)
    // need a --pod-name each, or both would believe they hold the lease.
    fallback: (host) => host.hostname,
  },
  // Unset means KubeClient.fromDefault(): in-cluster, else $KUBECONFIG or ~/.kube/config, which
  // the client library resolves the way kubectl does (the one environment read outside here).
  kubeconfig: { flag: "kubeconfig", env: ["CAIRN_KUBECONFIG"], fallback: () => undefined },
  metricsAddr: {
    flag: "metrics-addr",
    env: ["CAIRN_METRICS_ADDR"],
    fallback: () => "0.0.0.0:8080",
  },
  healthAddr: { flag: "health-addr", env: ["CAIRN_HEALTH_ADDR"], fallback: () => "0.0.0.0:8081" },
  logLevel: { flag: "log-level", env: ["CAIRN_LOG_LEVEL"], fallback: () => "info" },
  leaderElect: {
    flag: "leader-elect",
    env: ["CAIRN_LEADER_ELECT"],
    boolean: true,
    fallback: () => "true",
  },
  leaseName: { flag: "lease-name", env: ["CAIRN_LEASE_NAME"], fallback: () => "cairn-controller" },
  // Flux's timings: a failed leader is replaced within 35 s.
  leaseDurationSeconds: {
    flag: "lease-duration-seconds",
    env: ["CAIRN_LEASE_DURATION_SECONDS"],
    fallback: () => "35",
  },
  renewDeadlineSeconds: {
    flag: "renew-deadline-seconds",
    env: ["CAIRN_RENEW_DEADLINE_SECONDS"],
    fallback: () => "30",
  },
  retryPeriodSeconds: {
    flag: "retry-period-seconds",
    env: ["CAIRN_RETRY_PERIOD_SECONDS"],
    fallback: () => "5",
  },
  workers: { flag: "workers", env: ["CAIRN_WORKERS"], fallback: () => "2" },
  maxAutoUpgrades: {
    flag: "max-auto-upgrades",
    env: ["CAIRN_MAX_AUTO_UPGRADES"],
    fallback: () => "1",
  },
  allowCrossNamespaceRefs: {
    flag: "allow-cross-namespace-refs",
    env: ["CAIRN_ALLOW_CROSS_NAMESPACE_REFS"],
    boolean: true,
    fallback: () => "false",
  },
  shutdownTimeoutSeconds: {
    flag: "shutdown-timeout-seconds",
    env: ["CAIRN_SHUTDOWN_TIMEOUT_SECONDS"],
    fallback: () => "30",
  },
  // A clone cache per remote; an emptyDir in the pod (deploy/deployment.yaml).
  gitCacheDir: {
    flag: "git-cache-dir",
    env: ["CAIRN_GIT_CACHE_DIR"],
    fallback: () => "/tmp/cairn-git",
  },
  gitAuthorName: {
    flag: "git-author-name",
    env: ["CAIRN_GIT_AUTHOR_NAME"],
    fallback: () => "Cairn",
  },
  gitAuthorEmail: {
    flag: "git-author-email",
    env: ["CAIRN_GIT_AUTHOR_EMAIL"],
    fallback: () => "cairn@cairn.dev",
  },
  watchLabelSelector: {
    flag: "watch-label-selector",
    env: ["CAIRN_WATCH_LABEL_SELECTOR"],
    fallback: () => undefined,
  },
  failpoint: { flag: "failpoint", env: ["CAIRN_FAILPOINT"], fallback: () => undefined },
  failpointAction: {
    flag: "failpoint-action",
    env: ["CAIRN_FAILPOINT_ACTION"],
    fallback: () => undefined,
  },
  // Long enough for any upgrade Cairn runs; a Flux object suspended for longer, with no Cairn
  // operation running, is a forgotten suspend.
  suspendedWarningAfterMs: {
    flag: "suspended-warning-after",
    env: ["CAIRN_SUSPENDED_WARNING_AFTER"],
    fallback: () => "30m",
  },
  eventsAddr: { flag: "events-addr", env: ["CAIRN_EVENTS_ADDR"], fallback: () => undefined },
  // The image sets CAIRN_RENDER_HELPER to the binary it ships (Dockerfile).
  renderHelper: {
    flag: "render-helper",
    env: ["CAIRN_RENDER_HELPER"],
    fallback: () => undefined,
  },
};

const FIELD_NAMES = Object.keys(FIELDS) as Field[];
const BY_FLAG = new Map(FIELD_NAMES.map((field) => [FIELDS[field].flag, field]));

/** Every flag with its environment variables, for usage text. */
export function describeFlags(): string {
  return FIELD_NAMES.map((field) => {
    const spec = FIELDS[field];
    return `--${spec.flag}${spec.boolean ? "[=true|false]" : "=VALUE"} (env ${spec.env.join(", ")})`;
  }).join("\n");
}

/**
 * Builds the Config from command-line arguments (without the node binary and script: pass
 * `process.argv.slice(2)`) and the environment. Flags win over environment variables, which
 * win over defaults; an empty environment variable counts as unset, as Kubernetes manifests
 * often render them. Every problem is reported at once, each naming where its value came from.
 */
export function loadConfig(
  args: readonly string[],
  env: Env,
  host: HostFacts = { hostname: hostname() },
): ConfigResult {
  const problems: string[] = [];
  const flags = parseFlags(args, problems);
  const raw: Partial<Record<Field, string>> = {};
  const origin = new Map<Field, string>();
  for (const field of FIELD_NAMES) {
    const spec = FIELDS[field];
    const flagValue = flags.get(field);
    if (flagValue !== undefined) {
      raw[field] = flagValue;
      origin.set(field, `--${spec.flag}`);
      continue;
    }
    const envName = spec.env.find((name) => (env[name] ?? "") !== "");
    if (envName !== undefined) {
      raw[field] = env[envName] ?? "";
      origin.set(field, envName);
      continue;
    }
    const fallback = spec.fallback(host);
    if (fallback !== undefined) {
      raw[field] = fallback;
      origin.set(field, "default");
    }
  }
  const values: Partial<Record<Field, unknown>> = {};
  const describe = (field: Field) => {
    const from = origin.get(field);
    const value = JSON.stringify(raw[field] ?? "");
    return from === "default"
      ? `${field} (default ${value})`
      : `${field} (${from ?? "unset"}=${value})`;
  };
  // Field by field rather than the whole object, so that cross-field rules still run (and
  // report) when some unrelated field is bad.
  for (const field of FIELD_NAMES) {
    const parsed = ConfigSchema.shape[field].safeParse(raw[field]);
    if (parsed.success) values[field] = parsed.data;
    else problems.push(`${describe(field)}: ${parsed.error.issues[0]?.message ?? "is invalid"}`);
  }
  for (const [field, message] of crossFieldProblems(values as Partial<Parsed>)) {
    problems.push(`${describe(field)}: ${message}`);
  }
  if (problems.length > 0) {
    return {
      ok: false,
      message: `invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    };
  }
  return { ok: true, config: deepFreeze(ConfigSchema.parse(raw)) };
}

function parseFlags(args: readonly string[], problems: string[]): Map<Field, string> {
  const values = new Map<Field, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (!arg.startsWith("--") || arg === "--") {
      problems.push(`unexpected argument ${JSON.stringify(arg)}: flags look like --name=value`);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const field = BY_FLAG.get(name);
    if (field === undefined) {
      problems.push(`unknown flag --${name}`);
      continue;
    }
    let value: string;
    if (eq >= 0) {
      value = arg.slice(eq + 1);
    } else if (FIELDS[field].boolean) {
      // A bare boolean flag switches the setting on; the next argument is never its value.
      value = "true";
    } else {
      const next = args[i + 1];
      if (next === undefined || next.startsWith("--")) {
        problems.push(`--${name} needs a value`);
        continue;
      }
      value = next;
      i++;
    }
    if (values.has(field)) {
      problems.push(`--${name} is given more than once`);
      continue;
    }
    values.set(field, value);
  }
  return values;
}

function addressesClash(a: Address, b: Address): boolean {
  if (a.port !== b.port || a.port === 0) return false;
  const wildcard = (host: string) => host === "" || host === "0.0.0.0" || host === "::";
  return a.host === b.host || wildcard(a.host) || wildcard(b.host);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object") {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
