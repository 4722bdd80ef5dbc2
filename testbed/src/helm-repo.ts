// A static Helm chart repository on loopback (design note, section 11): the charts are packed
// with tar, indexed from TypeScript and served as plain files, so the test bed needs no helm CLI.
// A HelmRepository of the default (non-OCI) type reads index.yaml, then one <name>-<version>.tgz.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { cp, lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { parse, stringify } from "yaml";
import { z } from "zod";
import { closeServer, listenOnLoopback } from "./loopback-http.ts";

const run = promisify(execFile);

/** The Chart.yaml fields the index needs; anything else in the file is carried along unread. */
export const ChartMetadata = z.object({
  apiVersion: z.literal("v2"),
  // Helm's own rule for chart names; it also keeps the archive name a plain file name.
  name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/),
  version: z.string().regex(/^\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]*)?$/),
  appVersion: z.string().min(1),
  description: z.string().optional(),
});
export type ChartMetadata = z.infer<typeof ChartMetadata>;

export interface PackagedChart {
  readonly name: string;
  readonly version: string;
  readonly appVersion: string;
  /** Absolute path of the .tgz in outDir. */
  readonly file: string;
  /** sha256 of the archive, hex. */
  readonly digest: string;
}

export interface HelmRepoOptions {
  /** Folder holding index.yaml and the archives. */
  readonly root: string;
  /** 0 or absent: a free port. */
  readonly port?: number;
  /** Answer 401 to requests without these basic-auth credentials (a private repository). */
  readonly basicAuth?: { readonly username: string; readonly password: string };
}

export interface HelmRepo {
  /** `http://127.0.0.1:<port>`, no trailing slash: the HelmRepository's spec.url. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export function archiveName(chart: { name: string; version: string }): string {
  return `${chart.name}-${chart.version}.tgz`;
}

/**
 * What the server may send for a request path: index.yaml or a .tgz directly under root, by a
 * plain file name. `bad` for traversal attempts (`..`, encoded slashes), `missing` otherwise.
 */
export function servableName(rawUrl: string): { name: string } | "bad" | "missing" {
  const rawPath = rawUrl.split("?", 1)[0] ?? "";
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return "bad";
  }
  if (decoded.includes("..") || decoded.includes("\\") || decoded.includes("\0")) return "bad";
  const name = decoded.replace(/^\/+/, "");
  if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(name)) return "missing";
  if (name !== "index.yaml" && !name.endsWith(".tgz")) return "missing";
  return { name };
}

function send(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8" });
  res.end(`${text}\n`);
}

async function serve(
  options: HelmRepoOptions,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const root = options.root;
  if (options.basicAuth) {
    const { username, password } = options.basicAuth;
    const expected = `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
    if (req.headers.authorization !== expected) {
      res.setHeader("WWW-Authenticate", 'Basic realm="charts"');
      send(res, 401, "unauthorized");
      return;
    }
  }
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("Allow", "GET, HEAD");
    send(res, 405, "method not allowed");
    return;
  }
  const target = servableName(req.url ?? "/");
  if (target !== "bad" && target !== "missing") {
    const path = join(root, target.name);
    // lstat: a symlink in the folder must not lead the server elsewhere.
    const info = await lstat(path).catch(() => undefined);
    if (info?.isFile()) {
      sendFile(req, res, path, info.size);
      return;
    }
  }
  send(res, target === "bad" ? 400 : 404, target === "bad" ? "bad path" : "not found");
}

function sendFile(req: IncomingMessage, res: ServerResponse, path: string, size: number): void {
  res.writeHead(200, {
    "Content-Type": path.endsWith(".tgz") ? "application/gzip" : "application/x-yaml",
    "Content-Length": size,
  });
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  const stream = createReadStream(path);
  stream.once("error", () => res.destroy());
  stream.pipe(res);
}

export async function startHelmRepo(options: HelmRepoOptions): Promise<HelmRepo> {
  const server = createServer((req, res) => {
    serve(options, req, res).catch(() => {
      if (res.headersSent) res.destroy();
      else send(res, 500, "internal error");
    });
  });
  const port = await listenOnLoopback(server, options.port);
  return { url: `http://127.0.0.1:${port}`, port, close: () => closeServer(server) };
}

export async function readChartMetadata(chartFolder: string): Promise<ChartMetadata> {
  const file = join(chartFolder, "Chart.yaml");
  const result = ChartMetadata.safeParse(parse(await readFile(file, "utf8")));
  if (!result.success) throw new Error(`${file}: ${z.prettifyError(result.error)}`);
  return result.data;
}

/** Newest first, as `helm repo index` writes them; consumers re-sort, so this is for readers. */
function newestFirst(a: PackagedChart, b: PackagedChart): number {
  return b.version.localeCompare(a.version, "en", { numeric: true });
}

/**
 * Packs every chart folder `<chartsDir>/<folder>` into `<outDir>/<name>-<version>.tgz` and writes
 * `<outDir>/index.yaml` whose URLs start with baseUrl. Folder names are free: the archive's single
 * top-level directory is the chart name, as Helm expects, so each folder is staged under a
 * temporary `<name>/` first.
 */
export async function packageCharts(
  chartsDir: string,
  outDir: string,
  baseUrl: string,
): Promise<PackagedChart[]> {
  await mkdir(outDir, { recursive: true });
  const folders = (await readdir(chartsDir, { withFileTypes: true }))
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  const packed: { meta: ChartMetadata; chart: PackagedChart }[] = [];
  const seen = new Map<string, string>();
  for (const folder of folders) {
    const source = join(chartsDir, folder);
    const meta = await readChartMetadata(source);
    const file = join(outDir, archiveName(meta));
    const earlier = seen.get(file);
    if (earlier) throw new Error(`${folder} and ${earlier} are both ${meta.name} ${meta.version}`);
    seen.set(file, folder);
    const stage = await mkdtemp(join(tmpdir(), "cairn-chart-"));
    try {
      await cp(source, join(stage, meta.name), { recursive: true });
      await run("tar", ["-czf", file, "-C", stage, meta.name]);
    } finally {
      await rm(stage, { recursive: true, force: true });
    }
    const digest = createHash("sha256")
      .update(await readFile(file))
      .digest("hex");
    const { name, version, appVersion } = meta;
    packed.push({ meta, chart: { name, version, appVersion, file, digest } });
  }

  const base = baseUrl.replace(/\/+$/, "");
  const now = new Date().toISOString();
  const entries: Record<string, Record<string, unknown>[]> = {};
  for (const { meta, chart } of [...packed].sort((a, b) => newestFirst(a.chart, b.chart))) {
    (entries[chart.name] ??= []).push({
      apiVersion: meta.apiVersion,
      name: chart.name,
      version: chart.version,
      appVersion: chart.appVersion,
      ...(meta.description === undefined ? {} : { description: meta.description }),
      urls: [`${base}/${archiveName(chart)}`],
      digest: chart.digest,
      created: now,
    });
  }
  await writeFile(
    join(outDir, "index.yaml"),
    stringify({ apiVersion: "v1", entries, generated: now }),
  );
  return packed.map((p) => p.chart);
}
