// The Helm repository: the fixture charts packed with tar, indexed, and served over real HTTP on
// 127.0.0.1, checked the way a Helm client reads them (index.yaml, then the archive by URL).
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { request } from "node:http";
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { z } from "zod";
import {
  packageCharts,
  servableName,
  startHelmRepo,
  type HelmRepo,
  type PackagedChart,
} from "../../src/helm-repo.ts";

const run = promisify(execFile);
const CHARTS = fileURLToPath(new URL("../../fixtures/charts", import.meta.url));
const VERSIONS = ["1.0.0", "1.1.0", "2.0.0"];
// The impact preview's chart (test/integration/render): its versions' changes are asserted there.
const IMPACT_VERSIONS = ["1.0.0", "1.1.0", "2.0.0", "3.0.0"];

const Index = z.object({
  apiVersion: z.literal("v1"),
  generated: z.string(),
  entries: z.record(
    z.string(),
    z.array(
      z.object({
        apiVersion: z.string(),
        name: z.string(),
        version: z.string(),
        appVersion: z.string(),
        urls: z.array(z.string()),
        digest: z.string(),
        created: z.string(),
      }),
    ),
  ),
});

let tmp: string;
let out: string;
let repo: HelmRepo;
let packed: PackagedChart[];

async function fetchIndex(): Promise<z.infer<typeof Index>> {
  const res = await fetch(`${repo.url}/index.yaml`);
  expect(res.status).toBe(200);
  return Index.parse(parse(await res.text()));
}

async function download(url: string): Promise<Buffer> {
  const res = await fetch(url);
  expect(res.status, url).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

/** The text of one file inside a chart archive. */
async function fileInArchive(archive: Buffer, member: string): Promise<string> {
  const file = join(tmp, `archive-${createHash("sha256").update(archive).digest("hex")}.tgz`);
  await writeFile(file, archive);
  return (await run("tar", ["-xzOf", file, member])).stdout;
}

/** Sends the path exactly as given (fetch() would normalise `..` away) and reports the status. */
function rawStatus(path: string, method = "GET"): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: repo.port, path, method }, (res) => {
      res.resume();
      res.on("end", () => {
        resolve(res.statusCode ?? 0);
      });
    });
    req.on("error", reject);
    req.end();
  });
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "helm-repo-test-"));
  out = join(tmp, "repo");
  await mkdir(out);
  // The index needs the URL, so the server starts first, over a folder filled afterwards.
  repo = await startHelmRepo({ root: out });
  packed = await packageCharts(CHARTS, out, repo.url);
  await writeFile(join(tmp, "secret.tgz"), "outside the root");
});

afterAll(async () => {
  await repo.close();
  await rm(tmp, { recursive: true, force: true });
});

describe("helm repository", () => {
  it("listens on 127.0.0.1", () => {
    expect(repo.url).toBe(`http://127.0.0.1:${repo.port}`);
  });

  it("packs each fixture folder as <name>-<version>.tgz", () => {
    expect(packed.map((c) => [c.name, c.version]).sort()).toEqual([
      ...VERSIONS.map((v) => ["demo", v]),
      ...IMPACT_VERSIONS.map((v) => ["impact", v]),
    ]);
    for (const chart of packed) {
      expect(chart.file).toBe(join(out, `${chart.name}-${chart.version}.tgz`));
    }
  });

  it("serves an index listing all three versions with their URLs", async () => {
    const index = await fetchIndex();
    expect(Number.isNaN(Date.parse(index.generated))).toBe(false);
    expect(Object.keys(index.entries).sort()).toEqual(["demo", "impact"]);
    const entries = index.entries["demo"] ?? [];
    expect(entries.map((e) => e.version)).toEqual(["2.0.0", "1.1.0", "1.0.0"]);
    for (const entry of entries) {
      expect(entry).toMatchObject({ apiVersion: "v2", name: "demo", appVersion: entry.version });
      expect(entry.urls).toEqual([`${repo.url}/demo-${entry.version}.tgz`]);
      expect(Number.isNaN(Date.parse(entry.created))).toBe(false);
    }
  });

  it("serves archives whose sha256 matches the index digest", async () => {
    for (const entry of (await fetchIndex()).entries["demo"] ?? []) {
      const archive = await download(entry.urls[0] ?? "");
      expect(createHash("sha256").update(archive).digest("hex")).toBe(entry.digest);
      expect(entry.digest).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it("packs one top-level demo/ directory holding the chart", async () => {
    const archive = await download(`${repo.url}/demo-1.1.0.tgz`);
    const file = join(tmp, "list.tgz");
    await writeFile(file, archive);
    const members = (await run("tar", ["-tzf", file])).stdout.split("\n").filter(Boolean);
    for (const member of members) expect(member).toMatch(/^demo(\/|$)/);
    expect(members).toEqual(
      expect.arrayContaining([
        "demo/Chart.yaml",
        "demo/values.yaml",
        "demo/templates/db-statefulset.yaml",
      ]),
    );
    const chart = parse(await fileInArchive(archive, "demo/Chart.yaml")) as Record<string, unknown>;
    expect(chart).toMatchObject({
      apiVersion: "v2",
      name: "demo",
      version: "1.1.0",
      appVersion: "1.1.0",
    });
  });

  it("breaks only 2.0.0, with a nodeSelector on every pod template", async () => {
    for (const version of VERSIONS) {
      const archive = await download(`${repo.url}/demo-${version}.tgz`);
      for (const template of ["db-statefulset.yaml", "web-deployment.yaml"]) {
        const text = await fileInArchive(archive, `demo/templates/${template}`);
        expect(text.includes('cairn.dev/never: "true"'), `${version} ${template}`).toBe(
          version === "2.0.0",
        );
        expect(text).toContain("{{ .Chart.AppVersion }}");
      }
      const sts = await fileInArchive(archive, "demo/templates/db-statefulset.yaml");
      expect(sts).toContain("volumeClaimTemplates:");
      expect(sts).toContain("{{ .Release.Name }}-db");
      const pvc = await fileInArchive(archive, "demo/templates/uploads-pvc.yaml");
      expect(pvc).toContain("{{ .Release.Name }}-uploads");
      expect(pvc).toMatch(/ReadWriteOnce/);
    }
  });

  it("answers HEAD with the length and refuses other methods", async () => {
    const res = await fetch(`${repo.url}/index.yaml`, { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(Number(res.headers.get("content-length"))).toBe(
      (await readFile(join(out, "index.yaml"))).length,
    );
    expect(await rawStatus("/index.yaml", "POST")).toBe(405);
  });

  it("refuses traversal and serves nothing but index.yaml and archives by plain name", async () => {
    expect(await rawStatus("/../secret.tgz")).toBe(400);
    expect(await rawStatus("/%2e%2e/secret.tgz")).toBe(400);
    expect(await rawStatus("/%2e%2e%2fsecret.tgz")).toBe(400);
    expect(await rawStatus("/sub/index.yaml")).toBe(404);
    expect(await rawStatus("/")).toBe(404);
    expect(await rawStatus("/Chart.yaml")).toBe(404);
    expect(await rawStatus("/missing-9.9.9.tgz")).toBe(404);
    await symlink(join(tmp, "secret.tgz"), join(out, "link.tgz"));
    expect(await rawStatus("/link.tgz")).toBe(404);
    expect(await rawStatus("/demo-1.0.0.tgz?x=1")).toBe(200);
  });
});

describe("helm repository with basic auth", () => {
  it("answers 401 without the credentials and serves with them", async () => {
    const privateRepo = await startHelmRepo({
      root: out,
      basicAuth: { username: "reader", password: "s3cret" },
    });
    try {
      const url = `${privateRepo.url}/index.yaml`;
      const anonymous = await fetch(url);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get("www-authenticate")).toBe('Basic realm="charts"');
      const wrong = `Basic ${Buffer.from("reader:wrong").toString("base64")}`;
      expect((await fetch(url, { headers: { Authorization: wrong } })).status).toBe(401);
      const right = `Basic ${Buffer.from("reader:s3cret").toString("base64")}`;
      const res = await fetch(url, { headers: { Authorization: right } });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(await readFile(join(out, "index.yaml"), "utf8"));
    } finally {
      await privateRepo.close();
    }
  });
});

describe("servableName", () => {
  it("accepts only plain index.yaml and .tgz names", () => {
    expect(servableName("/index.yaml")).toEqual({ name: "index.yaml" });
    expect(servableName("/demo-1.0.0+build.1.tgz")).toEqual({ name: "demo-1.0.0+build.1.tgz" });
    expect(servableName("/a/../index.yaml")).toBe("bad");
    expect(servableName("/%zz")).toBe("bad");
    expect(servableName("/.hidden.tgz")).toBe("missing");
    expect(servableName("/values.yaml")).toBe("missing");
  });
});

describe("packageCharts", () => {
  async function chartsWith(charts: Record<string, string>): Promise<string> {
    const dir = await mkdtemp(join(tmp, "charts-"));
    for (const [folder, chartYaml] of Object.entries(charts)) {
      await cp(join(CHARTS, "demo-1.0.0"), join(dir, folder), { recursive: true });
      await writeFile(join(dir, folder, "Chart.yaml"), chartYaml);
    }
    return dir;
  }

  it("rejects a Chart.yaml that is not apiVersion v2 with name, version and appVersion", async () => {
    const dir = await chartsWith({ old: "apiVersion: v1\nname: demo\nversion: 1.0.0\n" });
    await expect(packageCharts(dir, `${dir}-out`, "http://127.0.0.1:1")).rejects.toThrow(
      /Chart\.yaml[\s\S]*(apiVersion|appVersion)/,
    );
  });

  it("rejects two folders with the same chart version", async () => {
    const chart = 'apiVersion: v2\nname: demo\nversion: 1.0.0\nappVersion: "1.0.0"\n';
    const dir = await chartsWith({ a: chart, b: chart });
    await expect(packageCharts(dir, `${dir}-out`, "http://127.0.0.1:1")).rejects.toThrow(
      /both demo 1\.0\.0/,
    );
  });
});
