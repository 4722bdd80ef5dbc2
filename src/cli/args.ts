// The values of a parsed command line checked and turned into a typed invocation. Pure: every
// mistake becomes a UsageError (exit 2) before the cluster is contacted. program.ts owns the
// shape of the command line (commander); this module owns what the values may be.
import {
  CHART_VERSION_PATTERN,
  DNS_LABEL_PATTERN,
  IMAGE_NAME_PATTERN,
  IMAGE_TAG_PATTERN,
} from "../api/fields.ts";
import { UsageError } from "./errors.ts";
import { parseDuration } from "./format/duration.ts";
import { isOutputFormat, type OutputFormat } from "./format/output.ts";
import type { RawInvocation } from "./program.ts";

export interface Target {
  /** A chart version; absent with no images: the app's status.availableUpdate. */
  readonly chart?: string;
  readonly images: readonly { readonly name: string; readonly tag: string }[];
  /** Allow a chart version older than the one in Git (spec.allowDowngrade). */
  readonly allowDowngrade: boolean;
}

/** Table output options: `--no-headers`. */
export interface TableOptions {
  readonly noHeaders: boolean;
}

export type Command =
  | ({
      readonly name: "status";
      readonly app?: string;
      readonly allNamespaces: boolean;
      readonly selector?: string;
    } & TableOptions)
  | {
      readonly name: "plan";
      readonly app: string;
      readonly target: Target;
      readonly timeoutMs: number;
      /** The whole per-object impact diff (--diff). */
      readonly diff: boolean;
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
  | { readonly name: "watch"; readonly request: string; readonly timeoutMs: number }
  | { readonly name: "describe"; readonly request: string }
  | ({ readonly name: "events"; readonly target: string } & TableOptions)
  | { readonly name: "abort"; readonly request: string; readonly yes: boolean }
  | { readonly name: "approve"; readonly request: string; readonly yes: boolean }
  | { readonly name: "unfreeze"; readonly app: string; readonly force: boolean }
  | ({ readonly name: "history"; readonly app: string; readonly all: boolean } & TableOptions)
  | { readonly name: "updates"; readonly app?: string; readonly allNamespaces: boolean }
  | { readonly name: "version"; readonly clientOnly: boolean }
  | { readonly name: "completion"; readonly shell: "bash" | "zsh" | "fish" }
  | { readonly name: "__complete"; readonly words: readonly string[] };

export type CommandName = Command["name"];

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

/** A label selector as kubectl takes it; the API server checks the grammar, this the charset. */
function labelSelector(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  if (value.trim() === "" || /[\s]/.test(value.trim())) {
    throw new UsageError(`--selector "${value}" is not a label selector such as app=web,tier!=db`);
  }
  return value.trim();
}

function flag(options: Readonly<Record<string, unknown>>, name: string): boolean {
  return options[name] === true;
}

function text(options: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = options[name];
  return typeof value === "string" ? value : undefined;
}

function list(options: Readonly<Record<string, unknown>>, name: string): string[] | undefined {
  const value = options[name];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : undefined;
}

/** commander's `--no-headers` sets `headers: false`. */
function tableOptions(options: Readonly<Record<string, unknown>>): TableOptions {
  return { noHeaders: options["headers"] === false };
}

function isShell(value: string | undefined): value is "bash" | "zsh" | "fish" {
  return value === "bash" || value === "zsh" || value === "fish";
}

/** The checked invocation of what commander parsed. */
export function toInvocation(raw: RawInvocation): Invocation {
  const output = raw.globals.output;
  if (!isOutputFormat(output)) {
    throw new UsageError(`--output "${output}" is not one of table, json, yaml`);
  }
  const globals: Globals = {
    output,
    ...(raw.globals.kubeconfig !== undefined ? { kubeconfig: raw.globals.kubeconfig } : {}),
    ...(raw.globals.context !== undefined ? { context: raw.globals.context } : {}),
    ...(raw.globals.namespace !== undefined
      ? { namespace: dnsLabel(raw.globals.namespace, "namespace") }
      : {}),
  };
  const o = raw.options;
  const [first] = raw.args;
  const command = ((): Command => {
    switch (raw.command) {
      case "status": {
        const allNamespaces = flag(o, "allNamespaces");
        if (allNamespaces && first !== undefined) {
          throw new UsageError("an app name and --all-namespaces exclude each other");
        }
        const selector = labelSelector(o["selector"]);
        if (selector !== undefined && first !== undefined) {
          throw new UsageError("an app name and --selector exclude each other");
        }
        return {
          name: "status",
          allNamespaces,
          ...(first !== undefined ? { app: dnsLabel(first, "app") } : {}),
          ...(selector !== undefined ? { selector } : {}),
          ...tableOptions(o),
        };
      }
      case "plan":
        return {
          name: "plan",
          app: dnsLabel(first, "app"),
          target: target(text(o, "to"), list(o, "image"), flag(o, "allowDowngrade")),
          timeoutMs: timeout(text(o, "timeout"), PLAN_TIMEOUT_MS),
          diff: flag(o, "diff"),
        };
      case "upgrade": {
        const dryRun = flag(o, "dryRun");
        const watch = flag(o, "watch");
        if (text(o, "timeout") !== undefined && !watch && !dryRun) {
          throw new UsageError("--timeout limits waiting: it needs --watch");
        }
        if (dryRun && flag(o, "skipSnapshot")) {
          throw new UsageError("--dry-run takes no snapshot: --skip-snapshot has no meaning");
        }
        const app = dnsLabel(first, "app");
        const goal = target(text(o, "to"), list(o, "image"), flag(o, "allowDowngrade"));
        // A dry run is a plan: it waits for the result, bounded by default.
        if (dryRun) {
          return {
            name: "plan",
            app,
            target: goal,
            timeoutMs: timeout(text(o, "timeout"), PLAN_TIMEOUT_MS),
            diff: false,
          };
        }
        return {
          name: "upgrade",
          app,
          target: goal,
          watch,
          timeoutMs: timeout(text(o, "timeout"), 0),
          skipSnapshot: flag(o, "skipSnapshot"),
        };
      }
      case "rollback": {
        const watch = flag(o, "watch");
        if (text(o, "timeout") !== undefined && !watch) {
          throw new UsageError("--timeout limits waiting: it needs --watch");
        }
        return {
          name: "rollback",
          upgrade: dnsLabel(first, "upgrade request"),
          watch,
          timeoutMs: timeout(text(o, "timeout"), 0),
        };
      }
      case "watch":
        return {
          name: "watch",
          request: dnsLabel(first, "request"),
          timeoutMs: timeout(text(o, "timeout"), 0),
        };
      case "describe":
        return { name: "describe", request: dnsLabel(first, "request") };
      case "events":
        return { name: "events", target: dnsLabel(first, "app or request"), ...tableOptions(o) };
      case "abort":
        return { name: "abort", request: dnsLabel(first, "request"), yes: flag(o, "yes") };
      case "approve":
        return { name: "approve", request: dnsLabel(first, "request"), yes: flag(o, "yes") };
      case "unfreeze":
        return { name: "unfreeze", app: dnsLabel(first, "app"), force: flag(o, "force") };
      case "history":
        return {
          name: "history",
          app: dnsLabel(first, "app"),
          all: flag(o, "all"),
          ...tableOptions(o),
        };
      case "updates": {
        const allNamespaces = flag(o, "allNamespaces");
        if (allNamespaces && first !== undefined) {
          throw new UsageError("an app name and --all-namespaces exclude each other");
        }
        return {
          name: "updates",
          allNamespaces,
          ...(first !== undefined ? { app: dnsLabel(first, "app") } : {}),
        };
      }
      case "version":
        return { name: "version", clientOnly: flag(o, "client") };
      case "completion":
        if (!isShell(first)) {
          throw new UsageError(`shell "${first ?? ""}" is not one of bash, zsh, fish`);
        }
        return { name: "completion", shell: first };
      case "__complete":
        return { name: "__complete", words: raw.args };
      default:
        throw new UsageError(`unknown command "${raw.command}"`);
    }
  })();
  return { globals, command };
}
