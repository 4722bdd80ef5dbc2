// What a run loads: --help, version --client and completion must not import the Kubernetes
// client (nor zod or yaml); the bash completion script works in a real bash.
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const BIN = join(ROOT, "bin", "kubectl-cairn.js");

/** Runs main() in a fresh Node that records every module it resolves. */
function loadedModules(argv: string[]): { urls: string[]; stdout: string } {
  const script = `
    import { registerHooks } from "node:module";
    const urls = [];
    registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); urls.push(r.url); return r; } });
    const { main } = await import(${JSON.stringify(join(ROOT, "src/cli/main.ts"))});
    let stdout = "";
    const io = { stdout: { write: (t) => (stdout += t) }, stderr: { write: () => {} }, env: {}, home: "/nonexistent", now: () => new Date() };
    const code = await main(${JSON.stringify(argv)}, io);
    process.stdout.write(JSON.stringify({ code, urls, stdout }));
  `;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
    encoding: "utf8",
  });
  const parsed = JSON.parse(out) as { code: number; urls: string[]; stdout: string };
  expect(parsed.code).toBe(0);
  return parsed;
}

function hasShell(name: string): boolean {
  try {
    execFileSync(name, ["-c", "exit 0"]);
    return true;
  } catch {
    return false;
  }
}

const HEAVY = /@kubernetes\/client-node|node_modules\/zod|node_modules\/yaml|src\/kube\//;

describe("start-up", () => {
  it.each([
    [["--help"]],
    [[]],
    [["status", "--help"]],
    [["version", "--client"]],
    [["completion", "zsh"]],
  ])("%j loads neither the Kubernetes client nor zod nor yaml", (argv) => {
    const { urls, stdout } = loadedModules(argv);
    expect(stdout.length).toBeGreaterThan(10);
    expect(urls.some((u) => u.includes("/src/cli/program.ts"))).toBe(true);
    expect(urls.filter((u) => HEAVY.test(u))).toEqual([]);
  });

  it("status loads the client (the check above can fail)", () => {
    const { urls } = loadedModules(["__complete", "status", ""]);
    expect(urls.some((u) => HEAVY.test(u))).toBe(true);
  }, 60_000);
});

describe("bash completion", () => {
  const dir = mkdtempSync(join(tmpdir(), "cairn-completion-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const wrapper = join(dir, "kubectl-cairn");
  writeFileSync(wrapper, `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
  chmodSync(wrapper, 0o755);

  function completeInBash(words: string[]): string[] {
    const script = [
      "source <(kubectl-cairn completion bash)",
      `COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")})`,
      `COMP_CWORD=${words.length - 1}`,
      "_kubectl_cairn",
      'printf "%s\\n" "${COMPREPLY[@]}"',
    ].join("\n");
    const out = execFileSync("bash", ["-c", script], {
      encoding: "utf8",
      env: {
        ...process.env,
        PATH: `${dir}:${process.env["PATH"] ?? ""}`,
        KUBECONFIG: join(dir, "none"),
      },
    });
    return out.split("\n").filter((l) => l !== "");
  }

  const env = {
    ...process.env,
    PATH: `${dir}:${process.env["PATH"] ?? ""}`,
    KUBECONFIG: join(dir, "none"),
  };
  const script = (shell: string) => {
    const file = join(dir, `completion.${shell}`);
    writeFileSync(file, execFileSync(wrapper, ["completion", shell], { encoding: "utf8" }));
    return file;
  };

  // zsh and fish are not on every machine (Debian: apt-get install zsh fish).
  it.runIf(hasShell("zsh"))(
    "zsh: _describe gets the candidates with their descriptions",
    () => {
      const file = script("zsh");
      const out = execFileSync(
        "zsh",
        [
          "-c",
          // compdef and _describe belong to compinit; stand-ins record what the script hands them.
          `compdef() { :; }; _describe() { print -l -- "\${(@P)2}"; }; source ${file}; ` +
            "words=(kubectl-cairn upg); CURRENT=2; _kubectl_cairn; " +
            "words=(kubectl-cairn history --a); CURRENT=3; _kubectl_cairn",
        ],
        { encoding: "utf8", env },
      );
      expect(out).toBe(
        "upgrade:upgrade an app (snapshots first, rolls back on failure)\n--all:include dry runs (plans)\n",
      );
    },
    120_000,
  );

  it.runIf(hasShell("fish"))(
    "fish: complete -C offers the candidates",
    () => {
      const file = script("fish");
      const out = execFileSync(
        "fish",
        [
          "-c",
          `source ${file}; complete -C 'kubectl-cairn upg'; complete -C 'kubectl-cairn history --a'`,
        ],
        { encoding: "utf8", env },
      );
      expect(out).toBe(
        "upgrade\tupgrade an app (snapshots first, rolls back on failure)\n--all\tinclude dry runs (plans)\n",
      );
    },
    120_000,
  );

  it("completes commands and flags through kubectl-cairn __complete", () => {
    expect(completeInBash(["kubectl-cairn", "upg"])).toEqual(["upgrade"]);
    expect(completeInBash(["kubectl-cairn", "history", "--a"])).toEqual(["--all"]);
    // No cluster to ask: no names, and no error in the middle of the command line.
    expect(completeInBash(["kubectl-cairn", "upgrade", ""])).toEqual([]);
  }, 120_000);
});
