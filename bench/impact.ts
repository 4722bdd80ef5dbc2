// The impact preview's cost, without a cluster: what Plan adds to an upgrade of a HelmRelease
// app when --render-helper is set. For the demo chart (1.0.0 → 1.1.0, 5 objects) and a
// generated chart of about 100 objects (v1 → v2), each run renders both versions with
// cairn-render (Helm's engine; Plan renders only the target, the current manifest comes from
// Helm storage, so the figure of interest is one render plus the comparison), parses both
// manifests, computes the impact and the dangers, and gzips the detail. It also reports the
// helper's peak resident memory (ru_maxrss of the child, via /usr/bin/time when present,
// otherwise /proc/<pid>/status VmHWM sampled at exit).
//
//   node bench/impact.ts            (Node 24: `npx node …`; builds cairn-render if missing)
//   node bench/impact.ts --runs=20
//
// Not measured here: the chart download from the Helm repository and the Helm storage read,
// which are one HTTP GET each and one Secret list (cluster- and network-bound).
import { execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { findDangers } from "../src/impact/dangers.ts";
import { computeImpact } from "../src/impact/diff.ts";
import { parseObjects } from "../src/impact/objects.ts";
import { encodeDetail } from "../src/impact/summary.ts";
import { DEFAULT_HELPER_LIMITS, runHelper } from "../src/render/helper.ts";
import { TESTBED_DIR } from "../testbed/src/binaries.ts";

const run = promisify(execFile);
/** As the preview renders: post-rendered with helm-controller's origin labels. */
const HR = { name: "demo", namespace: "demo" };
const RUNS = Number(/^--runs=(\d+)$/.exec(process.argv[2] ?? "")?.[1] ?? 10);

async function helperPath(): Promise<string> {
  const { stdout } = await run("bash", [join(TESTBED_DIR, "build.sh"), "render"]);
  const dirs = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as { render: string };
  return join(dirs.render, "cairn-render");
}

/** A chart of `services` Deployment + Service + ConfigMap triples plus a Secret, ~3n+1 objects. */
async function bigChart(dir: string, version: string, services: number): Promise<string> {
  const root = join(dir, `big-${version}`);
  await mkdir(join(root, "templates"), { recursive: true });
  await writeFile(
    join(root, "Chart.yaml"),
    `apiVersion: v2\nname: big\nversion: ${version}\nappVersion: "${version}"\n`,
  );
  await writeFile(join(root, "values.yaml"), `services: ${services}\nregistry: r.invalid\n`);
  await writeFile(
    join(root, "templates", "all.yaml"),
    `apiVersion: v1
kind: Secret
metadata: { name: {{ .Release.Name }}-shared }
stringData: { TOKEN: t }
{{- range $i := until (int .Values.services) }}
---
apiVersion: v1
kind: ConfigMap
metadata: { name: {{ $.Release.Name }}-cfg-{{ $i }}, labels: { helm.sh/chart: big-{{ $.Chart.Version }} } }
data: { INDEX: "{{ $i }}", MODE: {{ if eq $.Chart.Version "2.0.0" }}fast{{ else }}safe{{ end }} }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: {{ $.Release.Name }}-svc-{{ $i }}, labels: { helm.sh/chart: big-{{ $.Chart.Version }} } }
spec:
  replicas: 1
  selector: { matchLabels: { app: svc-{{ $i }} } }
  template:
    metadata: { labels: { app: svc-{{ $i }} } }
    spec:
      containers:
        - name: app
          image: {{ $.Values.registry }}/svc-{{ $i }}:{{ $.Chart.AppVersion }}
          envFrom: [{ secretRef: { name: {{ $.Release.Name }}-shared } }, { configMapRef: { name: {{ $.Release.Name }}-cfg-{{ $i }} } }]
---
apiVersion: v1
kind: Service
metadata: { name: {{ $.Release.Name }}-svc-{{ $i }} }
spec: { selector: { app: svc-{{ $i }} }, ports: [{ port: 80 }] }
{{- end }}
`,
  );
  return root;
}

/** Peak RSS (KiB) of one helper run on the request, via GNU time's %M. */
async function peakRssKiB(helper: string, request: unknown): Promise<number | undefined> {
  return new Promise((resolve) => {
    const child = spawn("/usr/bin/time", ["-f", "%M", helper], {
      stdio: ["pipe", "ignore", "pipe"],
    });
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", () => resolve(undefined));
    child.on("close", () => {
      const kib = Number(err.trim().split("\n").at(-1));
      resolve(Number.isFinite(kib) ? kib : undefined);
    });
    child.stdin.end(JSON.stringify(request));
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

async function main(): Promise<void> {
  const helper = await helperPath();
  const dir = await mkdtemp(join(tmpdir(), "cairn-bench-impact-"));
  try {
    const demo = (v: string) => join(TESTBED_DIR, "fixtures", "charts", `demo-${v}`);
    const cases = [
      { name: "demo 1.0.0 → 1.1.0", from: demo("1.0.0"), to: demo("1.1.0") },
      {
        name: "big 1.0.0 → 2.0.0",
        from: await bigChart(dir, "1.0.0", 33),
        to: await bigChart(dir, "2.0.0", 33),
      },
    ];
    const rows: string[] = [];
    for (const c of cases) {
      const render = async (chartPath: string) => {
        const r = await runHelper(
          { path: helper, ...DEFAULT_HELPER_LIMITS },
          { helm: { chartPath, releaseName: "demo", namespace: "demo", helmRelease: HR } },
        );
        if (!r.ok) throw new Error(r.message);
        return r.manifest;
      };
      const current = await render(c.from);
      const renderMs: number[] = [];
      const compareMs: number[] = [];
      let objects = 0;
      for (let i = 0; i < RUNS; i++) {
        const t0 = performance.now();
        const target = await render(c.to);
        const t1 = performance.now();
        const before = parseObjects(current, "demo");
        const after = parseObjects(target, "demo");
        if (!before.ok || !after.ok) throw new Error("unparsable manifest");
        const impact = computeImpact(before.objects, after.objects, "manifest");
        const findings = findDangers({
          current: before.objects,
          target: after.objects,
          impact,
          mode: "manifest",
          owner: { kind: "HelmRelease", releaseName: "demo", namespace: "demo" },
          live: new Map(),
        });
        encodeDetail(impact, findings);
        const t2 = performance.now();
        renderMs.push(t1 - t0);
        compareMs.push(t2 - t1);
        objects = after.objects.length;
      }
      const rss = await peakRssKiB(helper, {
        helm: { chartPath: c.to, releaseName: "demo", namespace: "demo", helmRelease: HR },
      });
      rows.push(
        `| ${c.name} | ${objects} | ${median(renderMs).toFixed(0)} | ${median(compareMs).toFixed(1)} | ${rss === undefined ? "n/a" : (rss / 1024).toFixed(0)} |`,
      );
    }
    console.log(`cairn-render ${helper}; ${RUNS} runs each, medians`);
    console.log("| case | objects | render ms | compare ms | helper peak RSS MiB |");
    console.log("| --- | ---: | ---: | ---: | ---: |");
    for (const row of rows) console.log(row);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
