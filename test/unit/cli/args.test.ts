import { describe, expect, it } from "vitest";
import { toInvocation, type Invocation } from "../../../src/cli/args.ts";
import { UsageError } from "../../../src/cli/errors.ts";
import { parseCommandLine, type ParseResult } from "../../../src/cli/program.ts";

function parseRaw(argv: string[]): { result: ParseResult; out: string; err: string } {
  let out = "";
  let err = "";
  const result = parseCommandLine(argv, {
    writeOut: (t) => (out += t),
    writeErr: (t) => (err += t),
  });
  return { result, out, err };
}

function parse(argv: string[]): Invocation {
  const { result, err } = parseRaw(argv);
  if (result.kind !== "run") throw new Error(`not a command (${result.code}): ${err}`);
  return toInvocation(result.invocation);
}

/** A mistake commander finds: printed with a hint, exit 2. */
function commanderError(argv: string[]): string {
  const { result, err } = parseRaw(argv);
  expect(result).toEqual({ kind: "exit", code: 2 });
  expect(err).toContain("--help");
  return err;
}

function usageError(argv: string[]): UsageError {
  try {
    parse(argv);
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error(`parsed: ${argv.join(" ")}`);
}

describe("the command line", () => {
  it("reads global flags before and after the command", () => {
    const parsed = parse(["-n", "shop", "status", "web", "-o", "yaml", "--context", "prod"]);
    expect(parsed.globals).toEqual({ namespace: "shop", output: "yaml", context: "prod" });
    expect(parsed.command).toEqual({
      name: "status",
      app: "web",
      allNamespaces: false,
      noHeaders: false,
    });
  });

  it("defaults to table output; -A lists every namespace and wins over -n; -l and --no-headers", () => {
    const parsed = parse(["status", "-A", "--kubeconfig", "/tmp/k", "-n", "shop"]);
    expect(parsed.globals).toEqual({ output: "table", kubeconfig: "/tmp/k", namespace: "shop" });
    expect(parsed.command).toEqual({ name: "status", allNamespaces: true, noHeaders: false });
    expect(parse(["status", "-l", "team=web,tier!=db", "--no-headers"]).command).toEqual({
      name: "status",
      allNamespaces: false,
      selector: "team=web,tier!=db",
      noHeaders: true,
    });
  });

  it("reads a chart target, repeated images and the watch options of upgrade", () => {
    const parsed = parse([
      "upgrade",
      "web",
      "--to",
      "v2.1.0-rc.1",
      "--image",
      "ghcr.io/org/web=2.1",
      "--image",
      "registry:5000/side=1.0_b",
      "-w",
      "--timeout",
      "1h30m",
      "--skip-snapshot",
      "--allow-downgrade",
    ]);
    expect(parsed.command).toEqual({
      name: "upgrade",
      app: "web",
      target: {
        allowDowngrade: true,
        chart: "v2.1.0-rc.1",
        images: [
          { name: "ghcr.io/org/web", tag: "2.1" },
          { name: "registry:5000/side", tag: "1.0_b" },
        ],
      },
      watch: true,
      timeoutMs: 5_400_000,
      skipSnapshot: true,
    });
  });

  it("reads updates with an app or every namespace, never both", () => {
    expect(parse(["updates"]).command).toEqual({ name: "updates", allNamespaces: false });
    expect(parse(["updates", "web"]).command).toEqual({
      name: "updates",
      app: "web",
      allNamespaces: false,
    });
    expect(parse(["updates", "-A"]).command).toEqual({ name: "updates", allNamespaces: true });
    expect(() => parse(["updates", "web", "-A"])).toThrow(/exclude each other/);
  });

  it("leaves the target empty without --to and bounds plan waits; upgrade --dry-run is plan", () => {
    const plan = {
      name: "plan",
      app: "web",
      target: { images: [], allowDowngrade: false },
      timeoutMs: 300_000,
      diff: false,
    };
    expect(parse(["plan", "web"]).command).toEqual(plan);
    expect(parse(["plan", "web", "--diff"]).command).toEqual({ ...plan, diff: true });
    expect(parse(["upgrade", "web", "--dry-run"]).command).toEqual(plan);
    expect(parse(["upgrade", "web", "--dry-run", "--timeout", "1m"]).command).toEqual({
      ...plan,
      timeoutMs: 60_000,
    });
    expect(parse(["upgrade", "web"]).command).toMatchObject({ watch: false, timeoutMs: 0 });
  });

  it("parses rollback, watch, describe, events, abort, unfreeze, history, version, completion", () => {
    expect(parse(["rollback", "web-upgrade-x", "--watch"]).command).toEqual({
      name: "rollback",
      upgrade: "web-upgrade-x",
      watch: true,
      timeoutMs: 0,
    });
    expect(parse(["watch", "web-upgrade-x", "--timeout", "10m"]).command).toEqual({
      name: "watch",
      request: "web-upgrade-x",
      timeoutMs: 600_000,
    });
    expect(parse(["describe", "web-upgrade-x"]).command).toEqual({
      name: "describe",
      request: "web-upgrade-x",
    });
    expect(parse(["events", "web", "--no-headers"]).command).toEqual({
      name: "events",
      target: "web",
      noHeaders: true,
    });
    expect(parse(["abort", "web-upgrade-x", "-y"]).command).toEqual({
      name: "abort",
      request: "web-upgrade-x",
      yes: true,
    });
    expect(parse(["unfreeze", "web", "--force"]).command).toEqual({
      name: "unfreeze",
      app: "web",
      force: true,
    });
    expect(parse(["history", "web"]).command).toEqual({
      name: "history",
      app: "web",
      all: false,
      noHeaders: false,
    });
    expect(parse(["history", "web", "--all"]).command).toMatchObject({ all: true });
    expect(parse(["version"]).command).toEqual({ name: "version", clientOnly: false });
    expect(parse(["version", "--client"]).command).toEqual({ name: "version", clientOnly: true });
    expect(parse(["completion", "fish"]).command).toEqual({ name: "completion", shell: "fish" });
  });

  it("hands every word after __complete over as it is, flags included", () => {
    expect(parse(["__complete", "status", "-n", ""]).command).toEqual({
      name: "__complete",
      words: ["status", "-n", ""],
    });
  });

  it("prints help to stdout, with examples per command, for --help, help and a bare call", () => {
    for (const argv of [[], ["--help"], ["help"]]) {
      const { result, out } = parseRaw(argv);
      expect(result).toEqual({ kind: "exit", code: 0 });
      expect(out).toContain("Usage: kubectl cairn <command> [flags]");
      expect(out).toMatch(/^ {2}abort \[options\] <request> +stop a running request/m);
    }
    const { result, out } = parseRaw(["upgrade", "--help"]);
    expect(result).toEqual({ kind: "exit", code: 0 });
    expect(out).toContain("Examples:\n  kubectl cairn upgrade web --watch\n");
    expect(out).toContain("--dry-run");
    expect(out).toContain("Global Options:");
    expect(parseRaw(["help", "abort"]).out).toContain(
      "kubectl cairn abort web-upgrade-x7k2p --yes",
    );
  });

  it.each([
    [["frobnicate"], "unknown command 'frobnicate'"],
    [["status", "--watch"], "unknown option '--watch'"],
    [["history", "web", "--force"], "unknown option '--force'"],
    [["status", "--bogus"], "unknown option '--bogus'"],
    [["plan"], "missing required argument 'app'"],
    [["status", "a", "b"], "too many arguments for 'status'"],
    [
      ["status", "-o", "wide"],
      "option '-o, --output <format>' argument 'wide' is invalid. Allowed choices are table, json, yaml",
    ],
    [["upgrade", "web", "--to"], "option '--to <version>' argument missing"],
  ])("commander rejects %j: %s", (argv, message) => {
    expect(commanderError(argv)).toContain(`error: ${message}`);
  });

  it.each([
    [["plan", "Web_App"], 'app "Web_App" is not a valid name'],
    [["plan", "web", "--to", "latest"], '--to "latest" is not a chart version'],
    [["plan", "web", "--image", "ghcr.io/org/web"], "must be NAME=TAG"],
    [["plan", "web", "--image", "web=-bad"], '"-bad" is not an image tag'],
    [["plan", "web", "--image", "a=1", "--image", "a=2"], "--image a is given twice"],
    [["upgrade", "web", "-w", "--timeout", "10"], '--timeout "10" is not a duration'],
    [["upgrade", "web", "--timeout", "10m"], "--timeout limits waiting: it needs --watch"],
    [["rollback", "x", "--timeout", "10m"], "--timeout limits waiting: it needs --watch"],
    [["upgrade", "web", "--dry-run", "--skip-snapshot"], "--skip-snapshot has no meaning"],
    [["status", "web", "-A"], "an app name and --all-namespaces exclude each other"],
    [["status", "web", "-l", "a=b"], "an app name and --selector exclude each other"],
    [["status", "-l", "a = b"], "is not a label selector"],
    [["completion", "tcsh"], 'shell "tcsh" is not one of bash, zsh, fish'],
    [["-n", "Bad_NS", "status"], 'namespace "Bad_NS" is not a valid name'],
  ])("rejects the values of %j: %s", (argv, message) => {
    const err = usageError(argv);
    expect(err.message).toContain(message);
    expect(err.exitCode).toBe(2);
  });
});
