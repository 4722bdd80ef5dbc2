// cairn-render, the rendering helper, on the test bed's charts and a kustomize folder: Helm's
// and kustomize's real engines, no cluster needed (the binary comes from testbed/build.sh).
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TESTBED_DIR } from "../../../testbed/src/binaries.ts";
import { computeImpact } from "../../../src/impact/diff.ts";
import { parseObjects } from "../../../src/impact/objects.ts";
import { DEFAULT_HELPER_LIMITS, HelperError, runHelper } from "../../../src/render/helper.ts";

const run = promisify(execFile);
let helper = "";
let work = "";

beforeAll(async () => {
  const { stdout } = await run("bash", [join(TESTBED_DIR, "build.sh"), "render"]);
  const dirs = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as { render: string };
  helper = join(dirs.render, "cairn-render");
  work = await mkdtemp(join(tmpdir(), "cairn-render-test-"));
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

const chart = (name: string) => join(TESTBED_DIR, "fixtures", "charts", name);
const options = () => ({ path: helper, ...DEFAULT_HELPER_LIMITS });

describe("cairn-render, Helm side", () => {
  it("renders a chart with the release name, namespace and merged values", async () => {
    const result = await runHelper(options(), {
      helm: {
        chartPath: chart("demo-1.1.0"),
        releaseName: "shop",
        namespace: "apps",
        kubeVersion: "v1.37.2",
        valuesFrom: [{ source: "ConfigMap/v", data: "web:\n  replicas: 2\n" }],
        values: { db: { replicas: 3 } },
      },
    });
    if (!result.ok) throw new Error(result.message);
    const parsed = parseObjects(result.manifest, "apps");
    if (!parsed.ok) throw new Error(parsed.message);
    const names = parsed.objects.map((o) => `${o.id.kind}/${o.id.namespace}/${o.id.name}`);
    expect(names.sort()).toEqual([
      "Deployment/apps/shop-web",
      "PersistentVolumeClaim/apps/shop-uploads",
      "Service/apps/shop-db",
      "Service/apps/shop-web",
      "StatefulSet/apps/shop-db",
    ]);
    const replicas = (kind: string) =>
      (parsed.objects.find((o) => o.id.kind === kind)?.object["spec"] as { replicas?: number })
        .replicas;
    expect(replicas("Deployment")).toBe(2);
    expect(replicas("StatefulSet")).toBe(3);
  });

  it("shows what 1.0.0 to 1.1.0 changes, comparing manifests as Helm does", async () => {
    const render = async (name: string) => {
      const r = await runHelper(options(), {
        helm: { chartPath: chart(name), releaseName: "demo", namespace: "demo" },
      });
      if (!r.ok) throw new Error(r.message);
      const parsed = parseObjects(r.manifest, "demo");
      if (!parsed.ok) throw new Error(parsed.message);
      return parsed.objects;
    };
    const impact = computeImpact(
      await render("demo-1.0.0"),
      await render("demo-1.1.0"),
      "manifest",
    );
    expect(impact.added).toEqual([]);
    expect(impact.removed).toEqual([]);
    // Every object carries the chart label, so all five change, at least in that label.
    expect(impact.changed).toHaveLength(5);
    for (const change of impact.changed) {
      expect(change.changes).toContainEqual({
        path: 'metadata.labels["helm.sh/chart"]',
        from: "demo-1.0.0",
        to: "demo-1.1.0",
      });
    }
  });

  it("post-renders as helm-controller does: origin labels, commonMetadata, postRenderers", async () => {
    const result = await runHelper(options(), {
      helm: {
        chartPath: chart("demo-1.0.0"),
        releaseName: "demo",
        namespace: "shop",
        helmRelease: {
          name: "demo-hr",
          namespace: "shop",
          commonMetadata: { labels: { team: "web" }, annotations: { owner: "ops" } },
          postRenderers: [
            {
              kustomize: {
                patches: [
                  {
                    target: { kind: "Deployment" },
                    patch: "- op: replace\n  path: /spec/replicas\n  value: 4\n",
                  },
                ],
                images: [{ name: "registry.cairn.invalid/demo-web", newTag: "9.9.9" }],
              },
            },
          ],
        },
      },
    });
    if (!result.ok) throw new Error(result.message);
    const parsed = parseObjects(result.manifest, "shop");
    if (!parsed.ok) throw new Error(parsed.message);
    expect(parsed.objects).toHaveLength(5);
    for (const { object } of parsed.objects) {
      const metadata = object["metadata"] as {
        labels: Record<string, string>;
        annotations?: Record<string, string>;
      };
      expect(metadata.labels).toMatchObject({
        "helm.toolkit.fluxcd.io/name": "demo-hr",
        "helm.toolkit.fluxcd.io/namespace": "shop",
        team: "web",
      });
      expect(metadata.annotations).toMatchObject({ owner: "ops" });
    }
    const web = parsed.objects.find((o) => o.id.kind === "Deployment")?.object;
    expect((web?.["spec"] as { replicas: number }).replicas).toBe(4);
    expect(JSON.stringify(web)).toContain("registry.cairn.invalid/demo-web:9.9.9");
  });

  it("answers a template error as a message, and a bad request too", async () => {
    const bad = join(work, "bad-chart");
    await cp(chart("demo-1.0.0"), bad, { recursive: true });
    await writeFile(join(bad, "templates", "broken.yaml"), "{{ .Values.nope.deeper }}\n");
    const result = await runHelper(options(), {
      helm: { chartPath: bad, releaseName: "demo", namespace: "demo" },
    });
    expect(result.ok).toBe(false);
    expect(result.ok ? "" : result.message).toMatch(/nil pointer evaluating|nope/);
    const missing = await runHelper(options(), {
      helm: { chartPath: join(work, "absent"), releaseName: "demo", namespace: "demo" },
    });
    expect(missing.ok ? "" : missing.message).toMatch(/^helm: loading the chart/);
  });

  /** kind/name → spec.replicas of a rendered manifest's workloads, or the message. */
  const rendered = async (helm: Parameters<typeof runHelper>[1] & { helm: unknown }) => {
    const r = await runHelper(options(), helm);
    if (!r.ok) return r.message;
    const parsed = parseObjects(r.manifest, "demo");
    if (!parsed.ok) throw new Error(parsed.message);
    return Object.fromEntries(
      parsed.objects.map((o) => [
        `${o.id.kind}/${o.id.name}`,
        (o.object["spec"] as { replicas?: number } | undefined)?.replicas ?? null,
      ]),
    );
  };

  it("merges spec.chart.spec.valuesFiles into the chart's defaults, as source-controller", async () => {
    const dir = join(work, "values-files");
    await cp(chart("demo-1.1.0"), dir, { recursive: true });
    await writeFile(join(dir, "values-big.yaml"), "web:\n  replicas: 4\n");
    const helm = { chartPath: dir, releaseName: "demo", namespace: "demo" };
    expect(
      await rendered({ helm: { ...helm, valuesFiles: ["values.yaml", "values-big.yaml"] } }),
    ).toMatchObject({ "Deployment/demo-web": 4, "StatefulSet/demo-db": 1 });
    // spec.values still comes last.
    expect(
      await rendered({
        helm: {
          ...helm,
          valuesFiles: ["values.yaml", "values-big.yaml"],
          values: { web: { replicas: 6 } },
        },
      }),
    ).toMatchObject({ "Deployment/demo-web": 6 });
    // Without values.yaml in the list the chart's defaults are gone, as in source-controller.
    expect(await rendered({ helm: { ...helm, valuesFiles: ["values-big.yaml"] } })).toMatch(
      /^helm: rendering demo: .*nil pointer evaluating interface \{\}\.registry/s,
    );
    expect(await rendered({ helm: { ...helm, valuesFiles: ["values-none.yaml"] } })).toBe(
      "helm: valuesFiles: no values file found at path 'values-none.yaml'",
    );
    expect(
      await rendered({
        helm: {
          ...helm,
          valuesFiles: ["values.yaml", "values-none.yaml"],
          ignoreMissingValuesFiles: true,
        },
      }),
    ).toMatchObject({ "Deployment/demo-web": 1 });
  });

  it("renders a chart folder of a Git tree: its ignore rules applied, values files from the tree", async () => {
    const root = join(work, "git-chart");
    const chartDir = join(root, "charts", "demo");
    await cp(chart("demo-1.1.0"), chartDir, { recursive: true });
    await mkdir(join(root, "env"));
    await writeFile(join(root, "env", "prod.yaml"), "web:\n  replicas: 5\n");
    // The artifact leaves out what .sourceignore names, and symlinks.
    await writeFile(join(root, ".sourceignore"), "charts/demo/templates/uploads-pvc.yaml\n");
    await symlink("/etc/hostname", join(chartDir, "templates", "host.yaml"));
    const got = await rendered({
      helm: {
        chartPath: chartDir,
        sourceRoot: root,
        releaseName: "demo",
        namespace: "demo",
        valuesFiles: ["charts/demo/values.yaml", "env/prod.yaml"],
      },
    });
    expect(got).toEqual({
      "Deployment/demo-web": 5,
      "Service/demo-db": null,
      "Service/demo-web": null,
      "StatefulSet/demo-db": 1,
    });
    expect(
      await rendered({
        helm: {
          chartPath: chart("demo-1.1.0"),
          sourceRoot: root,
          releaseName: "d",
          namespace: "d",
        },
      }),
    ).toBe("helm: chartPath must lie inside sourceRoot");
    expect(
      await rendered({
        helm: {
          chartPath: chartDir,
          sourceRoot: root,
          releaseName: "demo",
          namespace: "demo",
          valuesFiles: ["../outside.yaml"],
        },
      }),
    ).toBe(
      "helm: valuesFiles: no values file found at path '/outside.yaml' (reference '../outside.yaml')",
    );
  });

  it("sets the build metadata Flux gives the chart's version, as templates print it", async () => {
    const r = await runHelper(options(), {
      helm: {
        chartPath: chart("impact-1.0.0"),
        releaseName: "demo",
        namespace: "demo",
        versionMetadata: "19f0cffdab8e",
      },
    });
    if (!r.ok) throw new Error(r.message);
    const parsed = parseObjects(r.manifest, "demo");
    if (!parsed.ok) throw new Error(parsed.message);
    // The chart writes the version into a label, "+" turned into "_" as `helm create` does.
    expect(
      new Set(
        parsed.objects.map(
          (o) =>
            (o.object["metadata"] as { labels?: Record<string, string> }).labels?.["helm.sh/chart"],
        ),
      ),
    ).toEqual(new Set(["impact-1.0.0_19f0cffdab8e"]));
    const bad = await runHelper(options(), {
      helm: {
        chartPath: chart("impact-1.0.0"),
        releaseName: "d",
        namespace: "d",
        versionMetadata: "a b",
      },
    });
    expect(bad.ok ? "" : bad.message).toMatch(/^helm: versionMetadata "a b": /);
  });

  it("refuses a chart whose dependencies are not in its charts/ folder", async () => {
    const dir = join(work, "with-dependency");
    await cp(chart("demo-1.1.0"), dir, { recursive: true });
    const meta = await readFile(join(dir, "Chart.yaml"), "utf8");
    await writeFile(
      join(dir, "Chart.yaml"),
      `${meta}dependencies:\n  - name: redis\n    version: 1.0.0\n    repository: https://charts.invalid\n`,
    );
    expect(
      await rendered({ helm: { chartPath: dir, releaseName: "demo", namespace: "demo" } }),
    ).toBe("helm: found in Chart.yaml, but missing in charts/ directory: redis");
  });

  it("is a HelperError when the binary cannot run", async () => {
    await expect(
      runHelper(
        { ...options(), path: join(work, "no-such-binary") },
        {
          helm: { chartPath: "x", releaseName: "a", namespace: "b" },
        },
      ),
    ).rejects.toBeInstanceOf(HelperError);
  });
});

describe("cairn-render, kustomize side", () => {
  it("applies the Kustomization's namespace, images, patches and substitutions", async () => {
    const root = join(work, "source");
    await mkdir(join(root, "apps", "web"), { recursive: true });
    await writeFile(
      join(root, "apps", "web", "deploy.yaml"),
      [
        "apiVersion: apps/v1",
        "kind: Deployment",
        "metadata: { name: web, labels: { tier: '${TIER}', env: '${ENV:=dev}' } }",
        "spec:",
        "  template:",
        "    spec:",
        "      containers: [{ name: web, image: registry.cairn.invalid/web:1.0.0 }]",
        "",
      ].join("\n"),
    );
    const result = await runHelper(options(), {
      kustomize: {
        root,
        path: "./apps/web",
        kustomization: {
          apiVersion: "kustomize.toolkit.fluxcd.io/v1",
          kind: "Kustomization",
          metadata: { name: "apps", namespace: "flux-system" },
          spec: {
            path: "./apps/web",
            targetNamespace: "shop",
            images: [{ name: "registry.cairn.invalid/web", newTag: "2.0.0" }],
            patches: [
              {
                patch: "- op: add\n  path: /metadata/annotations\n  value: { patched: 'yes' }\n",
                target: { kind: "Deployment" },
              },
            ],
            postBuild: { substitute: { TIER: "front" } },
          },
        },
      },
    });
    if (!result.ok) throw new Error(result.message);
    const parsed = parseObjects(result.manifest, "default");
    if (!parsed.ok) throw new Error(parsed.message);
    expect(parsed.objects).toHaveLength(1);
    const web = parsed.objects[0];
    expect(web?.id).toEqual({ group: "apps", kind: "Deployment", namespace: "shop", name: "web" });
    expect(web?.object["metadata"]).toEqual({
      name: "web",
      namespace: "shop",
      labels: { tier: "front", env: "dev" },
      annotations: { patched: "yes" },
    });
    expect(JSON.stringify(web?.object)).toContain("registry.cairn.invalid/web:2.0.0");
    // The generator wrote the kustomization.yaml into the copy, as kustomize-controller does.
    expect(await readFile(join(root, "apps", "web", "kustomization.yaml"), "utf8")).toContain(
      "deploy.yaml",
    );
  });

  // What source-controller leaves out of a GitRepository's artifact is not there for
  // kustomize-controller to build: the tree's .sourceignore files and spec.ignore, or, with
  // neither, Flux's default exclusions.
  async function sourceTree(name: string, files: Record<string, string>): Promise<string> {
    const root = join(work, name);
    for (const [path, content] of Object.entries(files)) {
      await mkdir(join(root, path, ".."), { recursive: true });
      await writeFile(join(root, path), content);
    }
    return root;
  }
  const configMap = (name: string) =>
    `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name} }\n`;
  const buildNames = async (root: string, ignore?: string, sparseCheckout?: readonly string[]) => {
    const result = await runHelper(options(), {
      kustomize: {
        root,
        path: "./apps/web",
        kustomization: {
          apiVersion: "kustomize.toolkit.fluxcd.io/v1",
          kind: "Kustomization",
          metadata: { name: "apps", namespace: "flux-system" },
          spec: { path: "./apps/web" },
        },
        ...(ignore !== undefined ? { ignore } : {}),
        ...(sparseCheckout ? { sparseCheckout } : {}),
      },
    });
    if (!result.ok) return result.message;
    const parsed = parseObjects(result.manifest, "default");
    if (!parsed.ok) throw new Error(parsed.message);
    return parsed.objects.map((o) => o.id.name).sort();
  };

  it("leaves out what .sourceignore and the GitRepository's spec.ignore exclude", async () => {
    const root = await sourceTree("ignored", {
      ".sourceignore": "*.local.yaml\n",
      "apps/web/app.yaml": configMap("app"),
      "apps/web/dev.local.yaml": configMap("dev-only"),
      "apps/web/drafts/next.yaml": configMap("draft"),
    });
    expect(await buildNames(root, "/apps/web/drafts/\n")).toEqual(["app"]);
  });

  it("builds from only the folders of the GitRepository's spec.sparseCheckout", async () => {
    const files = {
      "apps/web/kustomization.yaml": "resources:\n  - app.yaml\n  - ../../base\n",
      "apps/web/app.yaml": configMap("app"),
      "base/kustomization.yaml": "resources:\n  - shared.yaml\n",
      "base/shared.yaml": configMap("shared"),
    };
    expect(
      await buildNames(await sourceTree("sparse-both", files), undefined, ["./apps/", "base"]),
    ).toEqual(["app", "shared"]);
    // The clone holds no base/, so the build fails as kustomize-controller's would.
    expect(await buildNames(await sourceTree("sparse-apps", files), undefined, ["./apps"])).toMatch(
      /^kustomize build failed: .*base/s,
    );
    expect(await buildNames(await sourceTree("sparse-none", files), undefined, ["./nope"])).toBe(
      "sparse checkout dir './nope' does not exist in repository",
    );
  });

  it("applies Flux's default exclusions when no pattern is given, and only then", async () => {
    // A sops config beside the manifests is no Kubernetes object: Flux's defaults drop it.
    const files = {
      "apps/web/app.yaml": configMap("app"),
      "apps/web/.sops.yaml": "creation_rules: [{ path_regex: .*.yaml }]\n",
    };
    expect(await buildNames(await sourceTree("defaults", files))).toEqual(["app"]);
    // spec.ignore replaces the defaults, as in source-controller: the sops file is built.
    expect(await buildNames(await sourceTree("replaced", files), "/nothing\n")).toMatch(
      /failed to decode Kubernetes YAML from .*\/\.sops\.yaml/,
    );
  });

  it("refuses a path outside the source", async () => {
    const result = await runHelper(options(), {
      kustomize: {
        root: join(work, "source"),
        path: "../..",
        kustomization: {
          apiVersion: "kustomize.toolkit.fluxcd.io/v1",
          kind: "Kustomization",
          metadata: { name: "x" },
          spec: {},
        },
      },
    });
    expect(result).toEqual({
      ok: false,
      message: 'kustomize: path "../.." leaves the source root',
    });
  });
});
