import { describe, expect, it } from "vitest";
import { complete, scan, type NameKind } from "../../../src/cli/completion.ts";
import { completionScript } from "../../../src/cli/completion-scripts.ts";

const NAMES: Record<NameKind, string[]> = {
  app: ["web", "db"],
  upgrade: ["web-upgrade-a1"],
  rollback: ["web-upgrade-a1-rollback-b2"],
  namespace: ["default", "shop"],
};

const asked: { kind: NameKind; namespace?: string | undefined }[] = [];
const names = (kind: NameKind, ctx: { namespace?: string }) => {
  asked.push({ kind, namespace: ctx.namespace });
  return Promise.resolve(NAMES[kind]);
};

describe("completion", () => {
  it("offers the commands with their summaries, filtered by what is typed", async () => {
    const all = await complete([""], names);
    expect(all.at(-1)).toBe(":4");
    expect(all).toContain("status\tapps: version, health, available update, running operation");
    expect(all.map((c) => c.split("\t")[0])).toEqual([
      "status",
      "plan",
      "upgrade",
      "rollback",
      "watch",
      "describe",
      "events",
      "abort",
      "approve",
      "unfreeze",
      "history",
      "updates",
      "version",
      "completion",
      ":4",
    ]);
    expect(await complete(["hi"], names)).toEqual([
      "history\tan app's past requests: outcome, duration, downtime",
      ":4",
    ]);
  });

  it("offers app names, request names or both where the command takes them", async () => {
    expect(await complete(["upgrade", ""], names)).toEqual(["web", "db", ":4"]);
    expect(await complete(["rollback", "w"], names)).toEqual(["web-upgrade-a1", ":4"]);
    expect(await complete(["approve", "w"], names)).toEqual(["web-upgrade-a1", ":4"]);
    expect(await complete(["watch", ""], names)).toEqual([
      "web-upgrade-a1",
      "web-upgrade-a1-rollback-b2",
      ":4",
    ]);
    expect(await complete(["events", "d"], names)).toEqual(["db", ":4"]);
    expect(await complete(["completion", ""], names)).toEqual(["bash", "zsh", "fish", ":4"]);
    // One argument only: nothing after it.
    expect(await complete(["upgrade", "web", ""], names)).toEqual([":4"]);
  });

  it("asks for names in the namespace the words name, wherever -n stands", async () => {
    asked.length = 0;
    await complete(["-n", "shop", "upgrade", "--to", "1.0.0", ""], names);
    await complete(["upgrade", "--namespace=prod", ""], names);
    expect(asked).toEqual([
      { kind: "app", namespace: "shop" },
      { kind: "app", namespace: "prod" },
    ]);
  });

  it("offers flags, namespaces after -n and formats after -o", async () => {
    const flags = await complete(["status", "--"], names);
    expect(flags).toContain(
      "--all-namespaces\tevery namespace (wins over --namespace, as in kubectl)",
    );
    expect(flags).toContain("--no-headers\tprint table rows without the header line");
    expect(flags).toContain('--namespace\tdefault: the context\'s namespace, else "default"');
    expect(flags).not.toContain("--watch\tfollow the request until it finishes");
    expect(await complete(["status", "-n", ""], names)).toEqual(["default", "shop", ":4"]);
    expect(await complete(["-o", "j"], names)).toEqual(["json", ":4"]);
    expect(await complete(["upgrade", "web", "--to", ""], names)).toEqual([":4"]);
  });

  it("scans finished words: command, arguments, the flag awaiting a value", () => {
    expect(scan(["-n", "shop", "upgrade", "web", "--to"])).toMatchObject({
      command: "upgrade",
      positionals: 1,
      ctx: { namespace: "shop" },
    });
    expect(scan(["upgrade", "--to"]).pendingFlag?.long).toBe("--to");
    expect(scan(["upgrade", "-w"]).pendingFlag).toBeUndefined();
  });

  it("has a script per shell that asks kubectl-cairn __complete", () => {
    for (const shell of ["bash", "zsh", "fish"] as const) {
      expect(completionScript(shell)).toContain("kubectl-cairn __complete");
    }
    expect(completionScript("bash")).toContain("complete -F _kubectl_cairn kubectl-cairn");
  });
});
