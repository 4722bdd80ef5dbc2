// The image cannot be built here (no Docker daemon), so its promises are checked on the text:
// Node 24 pinned to the tested toolchain, git and ssh present, non-root, read-only friendly.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../../..");

interface Instruction {
  readonly op: string;
  readonly args: string;
}

/** Instructions with line continuations joined and comments dropped. */
function parseDockerfile(text: string): Instruction[] {
  const logical: string[] = [];
  let current = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("#") && current === "") continue;
    if (line === "" && current === "") continue;
    if (line.endsWith("\\")) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push(current + line);
    current = "";
  }
  if (current !== "") logical.push(current);
  return logical.map((line) => {
    const space = line.search(/\s/);
    return { op: line.slice(0, space).toUpperCase(), args: line.slice(space + 1).trim() };
  });
}

const instructions = parseDockerfile(readFileSync(join(ROOT, "Dockerfile"), "utf8"));
const all = (op: string) => instructions.filter((i) => i.op === op).map((i) => i.args);
const args = new Map(
  all("ARG").map((a) => {
    const [name, value] = a.split("=");
    return [name ?? "", value ?? ""];
  }),
);
const expand = (text: string) =>
  text.replace(
    /\$\{(\w+)\}|\$(\w+)/g,
    (_m, a?: string, b?: string) => args.get(a ?? b ?? "") ?? "",
  );
const env = new Map(
  all("ENV").flatMap((a) =>
    [...a.matchAll(/(\w+)=("[^"]*"|\S+)/g)].map((m) => [
      m[1] ?? "",
      (m[2] ?? "").replace(/"/g, ""),
    ]),
  ),
);

describe("Dockerfile", () => {
  it("builds from a pinned Node 24 slim image, never a floating or latest tag", () => {
    const from = all("FROM");
    expect(from).toHaveLength(2);
    const image = expand(from.at(-1) ?? "");
    expect(image).toMatch(/^node:24\.\d+\.\d+-(bookworm|trixie)-slim$/);
    expect(image).not.toMatch(/latest/);
  });

  it("builds the rendering helper in a pinned Go stage and ships only its binary", () => {
    const builder = expand(all("FROM")[0] ?? "");
    expect(builder).toMatch(/^golang:1\.\d+\.\d+-bookworm AS render$/);
    expect(all("RUN")).toContain("bash scripts/build-render.sh /out");
    expect(all("COPY")).toContain("--from=render /out/cairn-render /usr/local/bin/cairn-render");
    expect(env.get("CAIRN_RENDER_HELPER")).toBe("/usr/local/bin/cairn-render");
  });

  it("runs the Node version the project's toolchain pins, so production runs what was tested", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
      devDependencies: Record<string, string>;
    };
    expect(args.get("NODE_VERSION")).toBe(pkg.devDependencies["node"]);
  });

  it("installs git and openssh-client without recommends, and cleans the apt lists", () => {
    const apt = all("RUN").find((r) => r.includes("apt-get install"));
    expect(apt).toBeDefined();
    expect(apt).toMatch(/apt-get install -y --no-install-recommends/);
    expect(apt).toMatch(/\bgit\b/);
    expect(apt).toMatch(/\bopenssh-client\b/);
    expect(apt).toMatch(/rm -rf \/var\/lib\/apt\/lists\/\*/);
  });

  it("installs production dependencies only, from the lock file", () => {
    const copies = all("COPY");
    expect(copies).toContain("package.json package-lock.json ./");
    const npm = all("RUN").find((r) => r.includes("npm "));
    expect(npm).toMatch(/npm ci --omit=dev/);
  });

  it("copies the sources and CRDs that exist in the repository", () => {
    const copies = all("COPY");
    expect(copies).toContain("src/ ./src/");
    expect(copies).toContain("crds/ ./crds/");
    expect(existsSync(join(ROOT, "src"))).toBe(true);
    expect(existsSync(join(ROOT, "crds"))).toBe(true);
  });

  it("runs as a numeric non-root user", () => {
    const users = all("USER");
    expect(users).toHaveLength(1);
    const [uid, gid] = (users[0] ?? "").split(":");
    expect(uid).toMatch(/^\d+$/);
    expect(Number(uid)).toBeGreaterThan(0);
    if (gid !== undefined) expect(Number(gid)).toBeGreaterThan(0);
    // The USER comes after everything that needs root.
    const userAt = instructions.findIndex((i) => i.op === "USER");
    expect(instructions.slice(userAt + 1).map((i) => i.op)).not.toContain("RUN");
  });

  it("points HOME and temporary files at /tmp and ignores the system git config", () => {
    expect(env.get("HOME")).toBe("/tmp");
    expect(env.get("TMPDIR")).toBe("/tmp");
    expect(env.get("GIT_CONFIG_NOSYSTEM")).toBe("1");
  });

  it("starts the controller's entry point under an init that reaps git's children", () => {
    const entrypoints = all("ENTRYPOINT");
    expect(entrypoints).toHaveLength(1);
    const argv = JSON.parse(entrypoints[0] ?? "") as string[];
    expect(argv).toEqual(["/usr/bin/tini", "--", "node", "src/main.ts"]);
    const apt = all("RUN").find((r) => r.includes("apt-get install"));
    expect(apt).toMatch(/\btini\b/);
  });
});
