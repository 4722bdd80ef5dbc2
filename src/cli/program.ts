// The command line's shape: every command, argument and flag with its help text and examples,
// declared once with commander, which parses, prints help and names unknown flags. This module
// must stay light: `--help`, `version --client` and `completion` run on it alone, so it imports
// nothing that reaches the Kubernetes client, zod or yaml (what a command needs is imported when
// it runs).
import { Command, CommanderError, Option } from "commander";

export const OUTPUT_FORMATS = ["table", "json", "yaml"] as const;
export const SHELLS = ["bash", "zsh", "fish"] as const;

/** What an argument names, so completion knows what to offer. */
export type ArgumentKind = "app" | "request" | "upgrade" | "app-or-request" | "shell" | "none";

/** The parsed command line before the values are checked: strings and booleans as typed. */
export interface RawInvocation {
  readonly command: string;
  readonly args: readonly string[];
  /** The command's own flags. */
  readonly options: Readonly<Record<string, unknown>>;
  readonly globals: {
    readonly kubeconfig?: string;
    readonly context?: string;
    readonly namespace?: string;
    readonly output: string;
  };
}

export type ParseResult =
  | { readonly kind: "run"; readonly invocation: RawInvocation }
  /** Help was printed (or the usage error was): nothing more to do but exit with this code. */
  | { readonly kind: "exit"; readonly code: 0 | 2 };

export interface Output {
  readonly writeOut: (text: string) => void;
  readonly writeErr: (text: string) => void;
}

interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  readonly description?: string;
  readonly args: readonly { readonly syntax: string; readonly what: string }[];
  /** What each positional argument names, for completion. */
  readonly completes: readonly ArgumentKind[];
  readonly options: readonly Option[];
  readonly examples: readonly string[];
}

const timeoutOption = (what: string) =>
  new Option(
    "--timeout <duration>",
    `how long ${what} waits, e.g. 90s, 10m (0: no limit); the request goes on after`,
  );
const noHeaders = () => new Option("--no-headers", "print table rows without the header line");
const selector = () =>
  new Option("-l, --selector <selector>", "only apps with these labels, e.g. team=web,tier!=db");
const allNamespaces = () =>
  new Option("-A, --all-namespaces", "every namespace (wins over --namespace, as in kubectl)");
const target = () => [
  new Option("--to <version>", "chart version to upgrade to (default: the app's available update)"),
  new Option("--image <name=tag>", "image to bump; repeatable").argParser(
    (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
  ),
];
const allowDowngrade = () =>
  new Option(
    "--allow-downgrade",
    "allow a chart version older than the one in Git (refused by the Downgrade check otherwise)",
  );
const watchFlag = () => new Option("-w, --watch", "follow the request until it finishes");

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: "status",
    summary: "apps: version, health, available update, running operation",
    args: [{ syntax: "[app]", what: "one app (default: every app of the namespace)" }],
    completes: ["app"],
    options: [allNamespaces(), selector(), noHeaders()],
    examples: [
      "kubectl cairn status",
      "kubectl cairn status web -n shop",
      "kubectl cairn status -A -l team=payments",
      "kubectl cairn status -o json",
    ],
  },
  {
    name: "plan",
    summary: "dry-run an upgrade: plan, impact, preflight checks, Git diff",
    description:
      "Creates a dry-run UpgradeRequest, waits for it and prints the plan, the impact (with " +
      "--render-helper on the controller), every preflight check and the Git diff. Exit 1 " +
      "when planning fails. Same as upgrade --dry-run.",
    args: [{ syntax: "<app>", what: "the app to plan an upgrade of" }],
    completes: ["app"],
    options: [
      ...target(),
      allowDowngrade(),
      new Option(
        "--diff",
        "the whole impact diff: every field change and the body of every added object (with -o json, the detail)",
      ),
      timeoutOption("planning").default("5m"),
    ],
    examples: [
      "kubectl cairn plan web",
      "kubectl cairn plan web --to 2.1.0",
      "kubectl cairn plan web --to 2.1.0 --diff",
      "kubectl cairn plan web --to 2.1.0 -o json",
    ],
  },
  {
    name: "upgrade",
    summary: "upgrade an app (snapshots first, rolls back on failure)",
    description:
      "Creates an UpgradeRequest. Without --to and --image the app's available update is used.",
    args: [{ syntax: "<app>", what: "the app to upgrade" }],
    completes: ["app"],
    options: [
      ...target(),
      allowDowngrade(),
      new Option("--skip-snapshot", "upgrade without volume snapshots (not recommended)"),
      new Option("--dry-run", "plan only: the same as kubectl cairn plan"),
      watchFlag(),
      timeoutOption("--watch or --dry-run"),
    ],
    examples: [
      "kubectl cairn upgrade web --watch",
      "kubectl cairn upgrade web --to 2.1.0 --image ghcr.io/org/web=2.1.0",
      "kubectl cairn upgrade web --dry-run",
    ],
  },
  {
    name: "rollback",
    summary: "roll an upgrade back, data included",
    args: [{ syntax: "<upgrade-request>", what: "the UpgradeRequest to roll back" }],
    completes: ["upgrade"],
    options: [watchFlag(), timeoutOption("--watch")],
    examples: ["kubectl cairn rollback web-upgrade-x7k2p --watch"],
  },
  {
    name: "watch",
    summary: "follow a running request until it finishes (exit 1 if it fails)",
    description:
      "Attaches to any request, such as the rollback Cairn starts on its own or one whose " +
      "--watch timed out. A request that has finished is shown at once.",
    args: [{ syntax: "<request>", what: "an UpgradeRequest or RollbackRequest" }],
    completes: ["request"],
    options: [timeoutOption("watch")],
    examples: [
      "kubectl cairn watch web-upgrade-x7k2p",
      "kubectl cairn watch web-upgrade-x7k2p-rollback-q9d4m",
    ],
  },
  {
    name: "describe",
    summary: "one request: spec, plan, steps with times, conditions, events",
    args: [{ syntax: "<request>", what: "an UpgradeRequest or RollbackRequest" }],
    completes: ["request"],
    options: [],
    examples: ["kubectl cairn describe web-upgrade-x7k2p"],
  },
  {
    name: "events",
    summary: "the Kubernetes events of an app or a request",
    args: [{ syntax: "<app|request>", what: "a ManagedApp, UpgradeRequest or RollbackRequest" }],
    completes: ["app-or-request"],
    options: [noHeaders()],
    examples: ["kubectl cairn events web", "kubectl cairn events web-upgrade-x7k2p"],
  },
  {
    name: "abort",
    summary: "stop a running request: Cairn undoes what it did and keeps it in history",
    description:
      "Annotates the request cairn.dev/abort. The step at work fails with reason Aborted and the " +
      "controller runs the same compensation as after a failed step (Flux resumed, replicas " +
      "restored; after an upgrade's commit, its rollback as for any failure there); a rollback " +
      "that has begun restoring volumes leaves the app frozen instead (see docs/rollback.md). " +
      "The request stays in history. Asks first unless --yes is given.",
    args: [{ syntax: "<request>", what: "a running UpgradeRequest or RollbackRequest" }],
    completes: ["request"],
    options: [new Option("-y, --yes", "do not ask for confirmation")],
    examples: [
      "kubectl cairn abort web-upgrade-x7k2p",
      "kubectl cairn abort web-upgrade-x7k2p --yes",
    ],
  },
  {
    name: "approve",
    summary: "approve the plan of an upgrade that waits for approval",
    description:
      "For an upgrade that waits after planning (spec.approval: Manual on its app or on the " +
      "request). Shows the plan, asks, and annotates the request cairn.dev/approved-by with your " +
      "user name as the API server knows it. The controller plans again and goes on only if the " +
      "plan is unchanged; otherwise the request fails PlanChanged before any side effect. To " +
      "reject a plan, abort the request. Asks first unless --yes is given.",
    args: [{ syntax: "<upgrade-request>", what: "an UpgradeRequest waiting for approval" }],
    completes: ["upgrade"],
    options: [new Option("-y, --yes", "do not ask for confirmation")],
    examples: [
      "kubectl cairn approve web-upgrade-x7k2p",
      "kubectl cairn approve web-upgrade-x7k2p --yes",
    ],
  },
  {
    name: "unfreeze",
    summary: "resume Flux objects a failed operation left suspended",
    args: [{ syntax: "<app>", what: "the app whose Flux objects to resume" }],
    completes: ["app"],
    options: [new Option("--force", "resume even though a failed restore left PVCs missing")],
    examples: ["kubectl cairn unfreeze web"],
  },
  {
    name: "history",
    summary: "an app's past requests: outcome, duration, downtime",
    args: [{ syntax: "<app>", what: "the app" }],
    completes: ["app"],
    options: [new Option("--all", "include dry runs (plans)"), noHeaders()],
    examples: ["kubectl cairn history web", "kubectl cairn history web --all -o yaml"],
  },
  {
    name: "updates",
    summary: "apps: current and available version, and where it was found",
    description:
      "Shows each app's status.availableUpdate as the controller found it in the app's " +
      "HelmRepository, with the source, when it was read and why it could not be.",
    args: [{ syntax: "[app]", what: "one app (default: every app of the namespace)" }],
    completes: ["app"],
    options: [allNamespaces()],
    examples: ["kubectl cairn updates", "kubectl cairn updates web", "kubectl cairn updates -A"],
  },
  {
    name: "version",
    summary: "the plugin's version and the controller's",
    args: [],
    completes: [],
    options: [new Option("--client", "the plugin's version only, without contacting the cluster")],
    examples: ["kubectl cairn version", "kubectl cairn version --client"],
  },
  {
    name: "completion",
    summary: "shell completion script for bash, zsh or fish",
    description:
      "Prints a script that completes commands, flags, app and request names. kubectl " +
      "completes plugins through an executable kubectl_complete-cairn on PATH: see " +
      "docs/plugin.md.",
    args: [{ syntax: "<shell>", what: "bash, zsh or fish" }],
    completes: ["shell"],
    options: [],
    examples: [
      "source <(kubectl cairn completion bash)",
      'kubectl cairn completion zsh > "${fpath[1]}/_kubectl-cairn"',
      "kubectl cairn completion fish > ~/.config/fish/completions/kubectl-cairn.fish",
    ],
  },
];

export function commandSpec(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}

/** The root command's flags, valid before or after the command word. */
export function globalOptions(): Option[] {
  return [
    new Option("-n, --namespace <namespace>", 'default: the context\'s namespace, else "default"'),
    new Option("-o, --output <format>", "table, json or yaml")
      .choices(OUTPUT_FORMATS)
      .default("table"),
    new Option("--context <name>", "kubeconfig context to use"),
    new Option("--kubeconfig <path>", "default: $KUBECONFIG, else ~/.kube/config"),
  ];
}

/** The whole program; `onRun` receives the invocation of the command that was chosen. */
export function buildProgram(out: Output, onRun: (raw: RawInvocation) => void): Command {
  const program = new Command("kubectl cairn")
    .description("Safe, reversible upgrades of Flux-managed apps")
    .usage("<command> [flags]")
    .configureOutput({ writeOut: out.writeOut, writeErr: out.writeErr })
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .helpCommand("help [command]", "help for a command")
    .showHelpAfterError('Run "kubectl cairn --help" for usage.')
    .exitOverride();
  for (const option of globalOptions()) program.addOption(option);
  program.addHelpText(
    "after",
    '\nRun "kubectl cairn <command> --help" for a command\'s flags and examples.\n',
  );
  for (const spec of COMMANDS) {
    const cmd = program
      .command(spec.name)
      .summary(spec.summary)
      .description(spec.description ?? spec.summary)
      .configureOutput({ writeOut: out.writeOut, writeErr: out.writeErr })
      .showHelpAfterError(`Run "kubectl cairn ${spec.name} --help" for usage.`)
      .exitOverride();
    for (const arg of spec.args) cmd.argument(arg.syntax, arg.what);
    for (const option of spec.options) cmd.addOption(option);
    cmd.addHelpText("after", `\nExamples:\n${spec.examples.map((e) => `  ${e}`).join("\n")}\n`);
    cmd.action((...params: unknown[]) => {
      const positional = params
        .slice(0, spec.args.length)
        .filter((p): p is string => typeof p === "string");
      const globals = program.opts<RawInvocation["globals"]>();
      onRun({ command: spec.name, args: positional, options: cmd.opts(), globals });
    });
  }
  return program;
}

/**
 * Parses argv (without node and the script). A bare `kubectl cairn` prints help to stdout.
 * Help and usage errors are printed here; usage errors exit 2, help 0.
 */
export function parseCommandLine(argv: readonly string[], out: Output): ParseResult {
  // The completion entry takes every word as it is, flags included: they are what is typed.
  if (argv[0] === "__complete") {
    const invocation = { command: "__complete", args: argv.slice(1), options: {} };
    return { kind: "run", invocation: { ...invocation, globals: { output: "table" } } };
  }
  let chosen: RawInvocation | undefined;
  const program = buildProgram(out, (raw) => (chosen = raw));
  if (argv.length === 0) {
    program.outputHelp();
    return { kind: "exit", code: 0 };
  }
  try {
    program.parse([...argv], { from: "user" });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    const help = ["commander.helpDisplayed", "commander.help", "commander.version"];
    return { kind: "exit", code: help.includes(err.code) ? 0 : 2 };
  }
  if (chosen === undefined) {
    // Only global flags, no command word: as bare.
    program.outputHelp();
    return { kind: "exit", code: 0 };
  }
  return { kind: "run", invocation: chosen };
}
