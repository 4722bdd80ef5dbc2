// Completion answers, in Cobra's format, which kubectl expects from a plugin's
// kubectl_complete-<name> executable and the shell scripts of completion-scripts.ts read: one
// candidate a line ("value\tdescription"), then ":<directive>" (4: do not fall back to file
// names). The words are what follows "kubectl cairn"; the last one is the word being typed.
// Commands and flags come from program.ts; app and request names from the cluster, through
// `names`, so this module stays pure.
import type { Option } from "commander";
import {
  COMMANDS,
  commandSpec,
  globalOptions,
  OUTPUT_FORMATS,
  SHELLS,
  type ArgumentKind,
} from "./program.ts";

/** Cobra's ShellCompDirectiveNoFileComp. */
export const NO_FILE_COMPLETION = 4;

export type NameKind = "app" | "upgrade" | "rollback" | "namespace";

/** Where the dynamic names come from, with the connection flags the words carry. */
export interface CompletionContext {
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly namespace?: string;
}

export type NameSource = (kind: NameKind, ctx: CompletionContext) => Promise<readonly string[]>;

interface Scanned {
  readonly command?: string;
  readonly positionals: number;
  /** The flag whose value is being typed, when the previous word takes one. */
  readonly pendingFlag?: Option;
  readonly ctx: CompletionContext;
}

function takesValue(option: Option): boolean {
  return option.required || option.optional;
}

function findOption(options: readonly Option[], word: string): Option | undefined {
  const name = word.split("=")[0] ?? word;
  return options.find((o) => o.long === name || o.short === name);
}

function optionsOf(command: string | undefined): Option[] {
  return [...globalOptions(), ...(command ? (commandSpec(command)?.options ?? []) : [])];
}

/** Walks the finished words: which command, how many arguments, which flag wants a value. */
export function scan(done: readonly string[]): Scanned {
  let command: string | undefined;
  let positionals = 0;
  let pending: Option | undefined;
  const ctx: { kubeconfig?: string; context?: string; namespace?: string } = {};
  const remember = (option: Option, value: string) => {
    if (option.long === "--namespace") ctx.namespace = value;
    if (option.long === "--context") ctx.context = value;
    if (option.long === "--kubeconfig") ctx.kubeconfig = value;
  };
  for (const word of done) {
    if (pending) {
      remember(pending, word);
      pending = undefined;
      continue;
    }
    if (word.startsWith("-") && word !== "-") {
      const option = findOption(optionsOf(command), word);
      if (option && takesValue(option)) {
        if (word.includes("=")) remember(option, word.slice(word.indexOf("=") + 1));
        else pending = option;
      }
      continue;
    }
    if (command === undefined) command = word;
    else positionals++;
  }
  return {
    ...(command !== undefined ? { command } : {}),
    positionals,
    ...(pending ? { pendingFlag: pending } : {}),
    ctx,
  };
}

function flagCandidates(command: string | undefined): string[] {
  return optionsOf(command).flatMap((o) => (o.long ? [`${o.long}\t${o.description}`] : []));
}

async function argumentCandidates(
  kind: ArgumentKind | undefined,
  names: NameSource,
  ctx: CompletionContext,
): Promise<readonly string[]> {
  switch (kind) {
    case "app":
      return names("app", ctx);
    case "upgrade":
      return names("upgrade", ctx);
    case "request": {
      const [upgrades, rollbacks] = await Promise.all([
        names("upgrade", ctx),
        names("rollback", ctx),
      ]);
      return [...upgrades, ...rollbacks];
    }
    case "app-or-request": {
      const [apps, upgrades, rollbacks] = await Promise.all([
        names("app", ctx),
        names("upgrade", ctx),
        names("rollback", ctx),
      ]);
      return [...apps, ...upgrades, ...rollbacks];
    }
    case "shell":
      return SHELLS;
    default:
      return [];
  }
}

/** The candidates for the last word, filtered by what is typed of it, and the directive. */
export async function complete(words: readonly string[], names: NameSource): Promise<string[]> {
  const typed = words[words.length - 1] ?? "";
  const scanned = scan(words.slice(0, -1));
  let candidates: readonly string[];
  if (scanned.pendingFlag) {
    const long = scanned.pendingFlag.long;
    candidates =
      long === "--namespace"
        ? await names("namespace", scanned.ctx)
        : long === "--output"
          ? OUTPUT_FORMATS
          : [];
  } else if (typed.startsWith("-")) {
    candidates = flagCandidates(scanned.command);
  } else if (scanned.command === undefined) {
    candidates = COMMANDS.map((c) => `${c.name}\t${c.summary}`);
  } else {
    const spec = commandSpec(scanned.command);
    candidates = await argumentCandidates(spec?.completes[scanned.positionals], names, scanned.ctx);
  }
  const matching = candidates.filter((c) => c.startsWith(typed));
  return [...matching, `:${NO_FILE_COMPLETION}`];
}
