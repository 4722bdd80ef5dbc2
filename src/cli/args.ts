// The command line, parsed into a typed invocation with node:util parseArgs. Pure: every
// mistake becomes a UsageError (exit 2) before the cluster is contacted.
import { parseArgs, type ParseArgsConfig } from "node:util";
import {
  CHART_VERSION_PATTERN,
  DNS_LABEL_PATTERN,
  IMAGE_NAME_PATTERN,
  IMAGE_TAG_PATTERN,
} from "../api/fields.ts";
import { UsageError } from "./errors.ts";
import { parseDuration } from "./format/duration.ts";
import { isOutputFormat, type OutputFormat } from "./format/output.ts";

export const USAGE = `kubectl cairn: safe, reversible upgrades of Flux-managed apps

Usage:
  kubectl cairn status [app] [-A]                 apps: version, health, update, running operation
  kubectl cairn plan <app> [--to V] [--image N=T] dry-run an upgrade: plan, preflight, Git diff
  kubectl cairn upgrade <app> [--to V] [--image N=T] [--watch] [--skip-snapshot]
  kubectl cairn rollback <upgrade-request> [--watch]
  kubectl cairn unfreeze <app> [--force]          resume Flux objects left suspended
  kubectl cairn history <app>                     past requests, outcomes, durations, downtime
  kubectl cairn updates [app] [-A]                apps: current and available version, its source

Options:
  --to VERSION            chart version to upgrade to (default: the app's available update)
  --image NAME=TAG        image to bump; repeatable
  -w, --watch             follow the request until it finishes; exit 1 if it fails
      --timeout DURATION  how long plan or --watch wait, e.g. 90s, 10m (0: no limit;
                          plan defaults to 5m); the request keeps running after
      --skip-snapshot     upgrade without volume snapshots (not recommended)
      --allow-downgrade   allow a chart version older than the one in Git
      --force             unfreeze even though a failed restore left PVCs missing
  -A, --all-namespaces    status, updates: apps of every namespace
  -o, --output FORMAT     table (default), json or yaml
  -n, --namespace NS      default: the context's namespace, else "default"
      --context NAME      kubeconfig context to use
      --kubeconfig PATH   default: $KUBECONFIG, else ~/.kube/config
  -h, --help
`;

export interface Target {
  /** A chart version; absent with no images: the app's status.availableUpdate. */
  readonly chart?: string;
  readonly images: readonly { readonly name: string; readonly tag: string }[];
  /** Allow a chart version older than the one in Git (spec.allowDowngrade). */
  readonly allowDowngrade: boolean;
}

export type Command =
  | { readonly name: "help" }
  | { readonly name: "status"; readonly app?: string; readonly allNamespaces: boolean }
  | {
      readonly name: "plan";
      readonly app: string;
      readonly target: Target;
      readonly timeoutMs: number;
    }
  | {
      readonly name: "upgrade";
      readonly app: string;
      readonly target: Target;
      readonly watch: boolean;
      readonly timeoutMs: number;
      readonly skipSnapshot: boolean;
    }
  | {
      readonly name: "rollback";
      readonly upgrade: string;
      readonly watch: boolean;
      readonly timeoutMs: number;
    }
  | { readonly name: "unfreeze"; readonly app: string; readonly force: boolean }
  | { readonly name: "history"; readonly app: string }
  | { readonly name: "updates"; readonly app?: string; readonly allNamespaces: boolean };

export interface Globals {
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly namespace?: string;
  readonly output: OutputFormat;
}

export interface Invocation {
  readonly globals: Globals;
  readonly command: Command;
}

const OPTIONS = {
  kubeconfig: { type: "string" },
  context: { type: "string" },
  namespace: { type: "string", short: "n" },
  output: { type: "string", short: "o" },
  help: { type: "boolean", short: "h" },
  "all-namespaces": { type: "boolean", short: "A" },
  to: { type: "string" },
  image: { type: "string", multiple: true },
  watch: { type: "boolean", short: "w" },
  timeout: { type: "string" },
  "skip-snapshot": { type: "boolean" },
  force: { type: "boolean" },
  "allow-downgrade": { type: "boolean" },
} as const satisfies ParseArgsConfig["options"];

type OptionName = keyof typeof OPTIONS;

const GLOBAL: readonly OptionName[] = ["kubeconfig", "context", "namespace", "output", "help"];

const COMMANDS = {
  status: ["all-namespaces"],
  plan: ["to", "image", "timeout", "allow-downgrade"],
  upgrade: ["to", "image", "watch", "timeout", "skip-snapshot", "allow-downgrade"],
  rollback: ["watch", "timeout"],
  unfreeze: ["force"],
  history: [],
  updates: ["all-namespaces"],
  help: [],
} as const satisfies Record<Command["name"], readonly OptionName[]>;

type CommandName = keyof typeof COMMANDS;

function isCommandName(value: string): value is CommandName {
  return Object.hasOwn(COMMANDS, value);
}

/** Waiting for a dry run is bounded by default: planning reads, it never waits on a lock. */
const PLAN_TIMEOUT_MS = 5 * 60_000;

function dnsLabel(value: string | undefined, what: string): string {
  if (value === undefined) throw new UsageError(`missing ${what}`);
  if (!new RegExp(DNS_LABEL_PATTERN).test(value) || value.length > 63) {
    throw new UsageError(`${what} "${value}" is not a valid name (lowercase letters, digits, '-')`);
  }
  return value;
}

function target(
  to: string | undefined,
  images: readonly string[] | undefined,
  allowDowngrade: boolean,
): Target {
  if (to !== undefined && !new RegExp(CHART_VERSION_PATTERN).test(to)) {
    throw new UsageError(`--to "${to}" is not a chart version (SemVer, such as 1.2.3)`);
  }
  const parsed = (images ?? []).map((spec) => {
    const at = spec.lastIndexOf("=");
    const name = spec.slice(0, at);
    const tag = spec.slice(at + 1);
    if (at < 0 || !new RegExp(IMAGE_NAME_PATTERN).test(name)) {
      throw new UsageError(`--image "${spec}" must be NAME=TAG, such as ghcr.io/org/app=1.2.3`);
    }
    if (!new RegExp(IMAGE_TAG_PATTERN).test(tag)) {
      throw new UsageError(`--image "${spec}": "${tag}" is not an image tag`);
    }
    return { name, tag };
  });
  const names = parsed.map((i) => i.name);
  const repeated = names.find((n, i) => names.indexOf(n) !== i);
  if (repeated !== undefined) throw new UsageError(`--image ${repeated} is given twice`);
  return { ...(to !== undefined ? { chart: to } : {}), images: parsed, allowDowngrade };
}

function timeout(value: string | undefined, fallbackMs: number): number {
  if (value === undefined) return fallbackMs;
  const ms = parseDuration(value);
  if (ms === undefined)
    throw new UsageError(`--timeout "${value}" is not a duration such as 90s or 10m`);
  return ms;
}

export function parseCommandLine(argv: readonly string[]): Invocation {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
      tokens: true,
    });
  } catch (err) {
    // parseArgs' messages name the option and say what is wrong with it.
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const { values, positionals, tokens } = parsed;
  const [word, ...args] = positionals;
  const help: Invocation = { globals: { output: "table" }, command: { name: "help" } };
  if (values.help) return help;
  if (word === undefined) throw new UsageError("missing command");
  if (!isCommandName(word)) throw new UsageError(`unknown command "${word}"`);
  if (word === "help") return help;
  const allowed = new Set<string>([...GLOBAL, ...COMMANDS[word]]);
  for (const token of tokens) {
    if (token.kind === "option" && !allowed.has(token.name)) {
      throw new UsageError(`flag --${token.name} does not apply to "${word}"`);
    }
  }
  const output = values.output ?? "table";
  if (!isOutputFormat(output)) {
    throw new UsageError(`--output "${output}" is not one of table, json, yaml`);
  }
  const globals: Globals = {
    output,
    ...(values.kubeconfig !== undefined ? { kubeconfig: values.kubeconfig } : {}),
    ...(values.context !== undefined ? { context: values.context } : {}),
    ...(values.namespace !== undefined
      ? { namespace: dnsLabel(values.namespace, "namespace") }
      : {}),
  };
  if (args.length > 1) throw new UsageError(`unexpected argument "${args[1] ?? ""}"`);
  if (values.timeout !== undefined && word !== "plan" && !values.watch) {
    throw new UsageError("--timeout limits waiting: it needs --watch");
  }
  const command = ((): Command => {
    switch (word) {
      case "status":
        if (values["all-namespaces"] && globals.namespace !== undefined) {
          throw new UsageError("--all-namespaces and --namespace exclude each other");
        }
        if (values["all-namespaces"] && args[0] !== undefined) {
          throw new UsageError("an app name and --all-namespaces exclude each other");
        }
        return {
          name: "status",
          allNamespaces: values["all-namespaces"] ?? false,
          ...(args[0] !== undefined ? { app: dnsLabel(args[0], "app") } : {}),
        };
      case "plan":
        return {
          name: "plan",
          app: dnsLabel(args[0], "app"),
          target: target(values.to, values.image, values["allow-downgrade"] ?? false),
          timeoutMs: timeout(values.timeout, PLAN_TIMEOUT_MS),
        };
      case "upgrade":
        return {
          name: "upgrade",
          app: dnsLabel(args[0], "app"),
          target: target(values.to, values.image, values["allow-downgrade"] ?? false),
          watch: values.watch ?? false,
          timeoutMs: timeout(values.timeout, 0),
          skipSnapshot: values["skip-snapshot"] ?? false,
        };
      case "rollback":
        return {
          name: "rollback",
          upgrade: dnsLabel(args[0], "upgrade request"),
          watch: values.watch ?? false,
          timeoutMs: timeout(values.timeout, 0),
        };
      case "unfreeze":
        return { name: "unfreeze", app: dnsLabel(args[0], "app"), force: values.force ?? false };
      case "history":
        return { name: "history", app: dnsLabel(args[0], "app") };
      case "updates":
        if (values["all-namespaces"] && globals.namespace !== undefined) {
          throw new UsageError("--all-namespaces and --namespace exclude each other");
        }
        if (values["all-namespaces"] && args[0] !== undefined) {
          throw new UsageError("an app name and --all-namespaces exclude each other");
        }
        return {
          name: "updates",
          allNamespaces: values["all-namespaces"] ?? false,
          ...(args[0] !== undefined ? { app: dnsLabel(args[0], "app") } : {}),
        };
    }
  })();
  return { globals, command };
}
