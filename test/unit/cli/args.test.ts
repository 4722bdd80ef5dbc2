import { describe, expect, it } from "vitest";
import { parseCommandLine } from "../../../src/cli/args.ts";
import { UsageError } from "../../../src/cli/errors.ts";

function usageError(argv: string[]): UsageError {
  try {
    parseCommandLine(argv);
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error(`parsed: ${argv.join(" ")}`);
}

describe("parseCommandLine", () => {
  it("reads global flags before and after the command", () => {
    const parsed = parseCommandLine([
      "-n",
      "shop",
      "status",
      "web",
      "-o",
      "yaml",
      "--context",
      "prod",
    ]);
    expect(parsed.globals).toEqual({ namespace: "shop", output: "yaml", context: "prod" });
    expect(parsed.command).toEqual({ name: "status", app: "web", allNamespaces: false });
  });

  it("defaults to table output and lets -A list every namespace", () => {
    const parsed = parseCommandLine(["status", "-A", "--kubeconfig", "/tmp/k"]);
    expect(parsed.globals).toEqual({ output: "table", kubeconfig: "/tmp/k" });
    expect(parsed.command).toEqual({ name: "status", allNamespaces: true });
  });

  it("reads a chart target, repeated images and the watch options of upgrade", () => {
    const parsed = parseCommandLine([
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
    ]);
    expect(parsed.command).toEqual({
      name: "upgrade",
      app: "web",
      target: {
        chart: "v2.1.0-rc.1",
        images: [
          { name: "ghcr.io/org/web", tag: "2.1" },
          { name: "registry:5000/side", tag: "1.0_b" },
        ],
        allowDowngrade: false,
      },
      watch: true,
      timeoutMs: 5_400_000,
      skipSnapshot: true,
    });
  });

  it("leaves the target empty without --to (the app's available update) and bounds plan waits", () => {
    expect(parseCommandLine(["plan", "web"]).command).toEqual({
      name: "plan",
      app: "web",
      target: { images: [], allowDowngrade: false },
      timeoutMs: 300_000,
    });
    expect(parseCommandLine(["upgrade", "web"]).command).toMatchObject({
      watch: false,
      timeoutMs: 0,
    });
  });

  it("parses rollback, unfreeze and history", () => {
    expect(parseCommandLine(["rollback", "web-upgrade-x", "--watch"]).command).toEqual({
      name: "rollback",
      upgrade: "web-upgrade-x",
      watch: true,
      timeoutMs: 0,
    });
    expect(parseCommandLine(["unfreeze", "web", "--force"]).command).toEqual({
      name: "unfreeze",
      app: "web",
      force: true,
    });
    expect(parseCommandLine(["history", "web"]).command).toEqual({ name: "history", app: "web" });
  });

  it("passes --allow-downgrade on to the request of plan and upgrade", () => {
    for (const word of ["plan", "upgrade"]) {
      expect(
        parseCommandLine([word, "web", "--to", "1.0.0", "--allow-downgrade"]).command,
      ).toMatchObject({ target: { chart: "1.0.0", images: [], allowDowngrade: true } });
    }
    expect(() => parseCommandLine(["rollback", "web-x", "--allow-downgrade"])).toThrow(
      /allow-downgrade/,
    );
  });

  it("parses updates for one app, a namespace or all of them", () => {
    expect(parseCommandLine(["updates"]).command).toEqual({
      name: "updates",
      allNamespaces: false,
    });
    expect(parseCommandLine(["updates", "web"]).command).toEqual({
      name: "updates",
      app: "web",
      allNamespaces: false,
    });
    expect(parseCommandLine(["updates", "-A"]).command).toEqual({
      name: "updates",
      allNamespaces: true,
    });
    expect(() => parseCommandLine(["updates", "web", "-A"])).toThrow(
      "an app name and --all-namespaces exclude each other",
    );
    expect(() => parseCommandLine(["updates", "-A", "-n", "shop"])).toThrow(
      "--all-namespaces and --namespace exclude each other",
    );
  });

  it("answers help without a cluster", () => {
    expect(parseCommandLine(["--help"]).command).toEqual({ name: "help" });
    expect(parseCommandLine(["help"]).command).toEqual({ name: "help" });
  });

  it.each([
    [[], "missing command"],
    [["frobnicate"], 'unknown command "frobnicate"'],
    [["status", "--watch"], 'flag --watch does not apply to "status"'],
    [["history", "web", "--force"], 'flag --force does not apply to "history"'],
    [["status", "--bogus"], "--bogus"],
    [["plan"], "missing app"],
    [["plan", "Web_App"], 'app "Web_App" is not a valid name'],
    [["status", "a", "b"], 'unexpected argument "b"'],
    [["status", "-o", "wide"], '--output "wide" is not one of table, json, yaml'],
    [["plan", "web", "--to", "latest"], '--to "latest" is not a chart version'],
    [["plan", "web", "--image", "ghcr.io/org/web"], "must be NAME=TAG"],
    [["plan", "web", "--image", "web=-bad"], '"-bad" is not an image tag'],
    [["plan", "web", "--image", "a=1", "--image", "a=2"], "--image a is given twice"],
    [["upgrade", "web", "-w", "--timeout", "10"], '--timeout "10" is not a duration'],
    [["upgrade", "web", "--timeout", "10m"], "--timeout limits waiting: it needs --watch"],
    [["status", "-A", "-n", "shop"], "--all-namespaces and --namespace exclude each other"],
    [["status", "web", "-A"], "an app name and --all-namespaces exclude each other"],
  ])("rejects %j: %s", (argv, message) => {
    const err = usageError(argv);
    expect(err.message).toContain(message);
    expect(err.exitCode).toBe(2);
  });
});
