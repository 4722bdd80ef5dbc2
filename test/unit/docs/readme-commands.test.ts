// Every command in README.md is run by a test or by .ci/run. The README's commands are the lines
// of its ```bash blocks and its inline `npm …` spans; each must be listed below with the files
// that run it, and each file must contain the text that runs it (so an entry cannot outlive the
// test it names). An entry no longer in the README fails too, so the list stays the README's.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../../..");

interface Run {
  /** The file that runs the command, relative to the repository root. */
  readonly file: string;
  /** Text in that file that runs it. */
  readonly evidence: string;
}

interface Exercised {
  /** The command as the README writes it. */
  readonly command: string;
  readonly runs: readonly Run[];
  /** How the run differs from the README's line, when it does. */
  readonly note?: string;
}

const CI_NPM_CI: Run = { file: ".ci/run", evidence: "npm ci --no-audit --no-fund" };
const FRONT = (evidence: string): Run => ({ file: ".ci/front-door.sh", evidence });
const DEMO_E2E = (evidence: string): Run => ({ file: "test/e2e/demo.test.ts", evidence });
const SCENARIO = (evidence: string): Run => ({ file: "demo/scenario.ts", evidence });
const DEMO_NOTE =
  "demo/scenario.ts runs it through the plugin's main() with -n <the demo's namespace>: demo in npm run demo (.ci/front-door.sh), a random one in test/e2e/demo.test.ts";

export const EXERCISED: readonly Exercised[] = [
  {
    command: "npm ci && npm run demo",
    runs: [CI_NPM_CI, FRONT('check "npm run demo" npm run demo')],
  },
  {
    command: "npm ci && npm test",
    runs: [CI_NPM_CI, { file: ".ci/run", evidence: "\nnpm test\n" }],
  },
  { command: "npm run demo -- --keep", runs: [FRONT("npm run demo -- --keep | tee")] },
  {
    command: "npm run testbed -- up",
    runs: [FRONT('check "npm run testbed -- up" npm run testbed -- up')],
  },
  { command: "npm run testbed -- status", runs: [FRONT("out=$(npm run testbed -- status)")] },
  {
    command: "npm run testbed -- down",
    runs: [FRONT('check "npm run testbed -- down" npm run testbed -- down')],
  },
  {
    command: "npm run typecheck",
    runs: [
      { file: "package.json", evidence: '"test": "npm run typecheck && npm run lint' },
      { file: ".ci/run", evidence: "\nnpm test\n" },
    ],
    note: "npm test runs it",
  },
  {
    command: "npm run lint",
    runs: [
      { file: "package.json", evidence: '"test": "npm run typecheck && npm run lint' },
      { file: ".ci/run", evidence: "\nnpm test\n" },
    ],
    note: "npm test runs it",
  },
  { command: "npm run build", runs: [FRONT('check "npm run build" npm run build')] },
  {
    command: "npm run release:cli",
    runs: [
      { file: "package.json", evidence: '"release:cli": "node scripts/release-cli.ts"' },
      { file: "test/integration/cli/package.test.ts", evidence: "built = await release({" },
    ],
    note: "the test calls the script's release() for linux-amd64 (and linux-arm64 under qemu-user)",
  },
  { command: "npm run docs:fields", runs: [FRONT("npm run docs:fields && git diff --exit-code")] },
  {
    command: "kubectl cairn status demo -n demo",
    runs: [
      SCENARIO("`kubectl cairn status ${APP}`"),
      DEMO_E2E("`$ kubectl cairn status demo -n ${ns}`"),
    ],
    note: DEMO_NOTE,
  },
  {
    command: "kubectl cairn plan demo --to 1.1.0 -n demo",
    runs: [
      SCENARIO("`kubectl cairn plan ${APP} --to ${GOOD}`"),
      DEMO_E2E("`$ kubectl cairn plan demo --to 1.1.0 -n ${ns}`"),
    ],
    note: DEMO_NOTE,
  },
  {
    command: "kubectl cairn upgrade demo --to 1.1.0 --watch -n demo",
    runs: [
      SCENARIO("`kubectl cairn upgrade ${APP} --to ${GOOD} --watch`"),
      DEMO_E2E("`$ kubectl cairn upgrade demo --to 1.1.0 --watch -n ${ns}`"),
    ],
    note: DEMO_NOTE,
  },
  {
    command: "kubectl cairn history demo -n demo",
    runs: [
      SCENARIO("`kubectl cairn history ${APP}`"),
      DEMO_E2E("`$ kubectl cairn history demo -n ${ns}`"),
    ],
    note: DEMO_NOTE,
  },
  {
    command: "kubectl cairn rollback <upgrade-request> --watch -n demo",
    runs: [
      {
        file: "test/integration/cli/requests.test.ts",
        evidence: 'startCli(["rollback", "api-upgrade-to-4", "--watch", "-n", ns])',
      },
    ],
    note: "the real bin, with an upgrade request of the test's namespace",
  },
  {
    command: "kubectl cairn unfreeze demo -n demo",
    runs: [
      {
        file: "test/integration/cli/unfreeze.test.ts",
        evidence: 'runCli(["unfreeze", "web", "-n", ns])',
      },
    ],
    note: "the real bin, on an app of the test's namespace",
  },
];

/** The command lines of the README's ```bash blocks: comments and blank lines dropped. */
export function bashCommands(markdown: string): string[] {
  const out: string[] = [];
  for (const block of markdown.matchAll(/^```bash\n([\s\S]*?)^```$/gm)) {
    const body = (block[1] ?? "").replace(/\\\n\s*/g, " ");
    for (const raw of body.split("\n")) {
      const line = raw.replace(/\s+#.*$/, "").trim();
      if (line && !line.startsWith("#")) out.push(line.replace(/\s+/g, " "));
    }
  }
  return out;
}

/** Inline `npm …` spans outside fenced blocks. */
export function inlineNpmCommands(markdown: string): string[] {
  const prose = markdown.replace(/^```[\s\S]*?^```$/gm, "");
  return [...prose.matchAll(/`(npm [^`]+)`/g)].map((m) => (m[1] ?? "").replace(/\s+/g, " "));
}

const readme = readFileSync(join(ROOT, "README.md"), "utf8");

describe("README.md's commands", () => {
  it("finds the commands of bash blocks and inline npm spans", () => {
    const md = [
      "Run `npm run demo` or `node x`.",
      "```bash",
      "# a comment",
      "npm ci && npm test   # trailing comment",
      "",
      "kubectl cairn plan demo \\",
      "  --to 1.1.0",
      "```",
      "```yaml",
      "npm: not a command",
      "```",
    ].join("\n");
    expect(bashCommands(md)).toEqual(["npm ci && npm test", "kubectl cairn plan demo --to 1.1.0"]);
    expect(inlineNpmCommands(md)).toEqual(["npm run demo"]);
  });

  it("are each run by a test or by .ci/run", () => {
    const listed = new Set(EXERCISED.map((e) => e.command));
    // An inline span may name one part of a listed command ("npm run demo" of "npm ci && npm run demo").
    const parts = new Set(EXERCISED.flatMap((e) => [e.command, ...e.command.split(" && ")]));
    const commands = bashCommands(readme);
    expect(commands.length).toBeGreaterThan(5);
    expect(commands.filter((c) => !listed.has(c))).toEqual([]);
    expect(inlineNpmCommands(readme).filter((c) => !parts.has(c))).toEqual([]);
  });

  it("are listed only while the README has them", () => {
    const commands = new Set([...bashCommands(readme), ...inlineNpmCommands(readme)]);
    expect(EXERCISED.map((e) => e.command).filter((c) => !commands.has(c))).toEqual([]);
  });

  it("name files that really run them", () => {
    const missing = EXERCISED.flatMap((e) =>
      e.runs
        .filter((run) => !readFileSync(join(ROOT, run.file), "utf8").includes(run.evidence))
        .map((run) => `${e.command}: ${run.file} does not contain ${JSON.stringify(run.evidence)}`),
    );
    expect(missing).toEqual([]);
  });
});
