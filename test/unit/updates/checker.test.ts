import { afterEach, describe, expect, it } from "vitest";
import { ManagedApp } from "../../../src/api/index.ts";
import type { KubeObject } from "../../../src/kube/client.ts";
import { InformerFactory } from "../../../src/runtime/informer-factory.ts";
import { chartSourceOf, repositorySettings } from "../../../src/updates/chart-source.ts";
import {
  applyUpdateOutcome,
  decideUpdate,
  newUpdateEvent,
  UpdateChecker,
  type UpdateCheck,
} from "../../../src/updates/checker.ts";
import type { IndexReading } from "../../../src/updates/index-cache.ts";
import { flush, until } from "../../fakes/async.ts";
import { FakeClock } from "../../fakes/clock.ts";
import { FakeWatchSource, modified } from "../../fakes/watch-source.ts";

const app = (versionPolicy: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) =>
  ManagedApp.parse({
    apiVersion: "cairn.dev/v1alpha1",
    kind: "ManagedApp",
    metadata: { name: "demo", namespace: "shop" },
    spec: {
      gitPath: "apps/demo.yaml",
      kustomizationRef: { name: "apps" },
      helmReleaseRef: { name: "demo" },
      versionPolicy,
      ...extra,
    },
  });

const helmRelease = (chartSpec: Record<string, unknown>, spec: Record<string, unknown> = {}) => ({
  apiVersion: "helm.toolkit.fluxcd.io/v2",
  kind: "HelmRelease",
  metadata: { name: "demo", namespace: "shop" },
  spec: { chart: { spec: chartSpec }, ...spec },
});
const fromRepo = (namespace?: string) =>
  helmRelease({
    chart: "demo",
    version: "1.0.0",
    sourceRef: { kind: "HelmRepository", name: "charts", ...(namespace ? { namespace } : {}) },
  });

const repository = (
  revision: string | undefined,
  spec: Record<string, unknown> = {},
  namespace = "shop",
): KubeObject => ({
  apiVersion: "source.toolkit.fluxcd.io/v1",
  kind: "HelmRepository",
  metadata: { name: "charts", namespace, generation: 1, resourceVersion: revision ?? "0" },
  spec: { url: "https://user:pw@charts.example/stable/", ...spec },
  ...(revision ? { status: { artifact: { revision } } } : {}),
});

const reading = (charts: Record<string, string[]>): IndexReading => ({
  ok: true,
  charts: new Map(Object.entries(charts)),
  readAt: new Date("2026-01-02T03:04:05Z"),
});

describe("chartSourceOf and repositorySettings", () => {
  it("finds the HelmRepository in the HelmRelease's namespace unless it names one", () => {
    expect(chartSourceOf(fromRepo())).toEqual({
      ok: true,
      kind: "HelmRepository",
      chart: "demo",
      repository: { namespace: "shop", name: "charts" },
    });
    expect(chartSourceOf(fromRepo("flux-system"))).toMatchObject({
      repository: { namespace: "flux-system" },
    });
  });

  it("follows spec.chartRef to an OCIRepository, in the HelmRelease's namespace unless it names one", () => {
    expect(
      chartSourceOf(
        helmRelease({}, { chart: undefined, chartRef: { kind: "OCIRepository", name: "demo" } }),
      ),
    ).toEqual({
      ok: true,
      kind: "OCIRepository",
      chart: undefined,
      repository: { namespace: "shop", name: "demo" },
    });
    expect(
      chartSourceOf(
        helmRelease(
          {},
          {
            chart: undefined,
            chartRef: { kind: "OCIRepository", name: "demo", namespace: "flux" },
          },
        ),
      ),
    ).toMatchObject({ repository: { namespace: "flux", name: "demo" } });
  });

  it("names sources it does not read", () => {
    expect(
      chartSourceOf(helmRelease({}, { chartRef: { kind: "ExternalArtifact", name: "demo" } })),
    ).toEqual({
      ok: false,
      message:
        "HelmRelease shop/demo takes its chart from ExternalArtifact demo (spec.chartRef); update checks read HelmRepositories and OCIRepositories only",
    });
    expect(
      chartSourceOf(
        helmRelease({ chart: "./charts/demo", sourceRef: { kind: "GitRepository", name: "g" } }),
      ),
    ).toMatchObject({ ok: false, message: expect.stringContaining("GitRepository g") as unknown });
    const ref = { namespace: "shop", name: "charts" };
    expect(repositorySettings(ref, repository("r", { type: "s3" }))).toEqual({
      ok: false,
      message:
        "HelmRepository shop/charts is of type s3; Cairn reads HelmRepositories of type default (HTTP) and oci",
      unsupported: true,
    });
  });

  it("reads again when the spec or the artifact revision changes", () => {
    const ref = { namespace: "shop", name: "charts" };
    const fp = (obj: KubeObject) => {
      const s = repositorySettings(ref, obj);
      return s.ok ? s.settings.fingerprint : "";
    };
    expect(fp(repository("sha256:a"))).not.toBe(fp(repository("sha256:b")));
    const base = repository("sha256:a");
    const newer = { ...base, metadata: { ...base.metadata, generation: 2 } };
    expect(fp(newer)).not.toBe(fp(repository("sha256:a")));
  });
});

describe("decideUpdate", () => {
  const settings = (() => {
    const s = repositorySettings({ namespace: "shop", name: "charts" }, repository("sha256:a"));
    if (!s.ok) throw new Error(s.message);
    return s.settings;
  })();
  const decide = (current: string | undefined, r: IndexReading, policy = {}) =>
    decideUpdate({ app: app(policy), current, chart: "demo", settings, reading: r });

  it("names the newest version within autoUpdate's level as the automatic target", () => {
    const versions = reading({ demo: ["1.0.0", "1.0.1", "1.2.0", "2.0.0", "2.1.0-rc.1"] });
    const target = (autoUpdate: string, policy: Record<string, unknown> = {}) =>
      decide("1.0.0", versions, { autoUpdate, ...policy }).autoTarget;
    expect(target("none")).toBeUndefined();
    expect(target("patch")).toBe("1.0.1");
    expect(target("minor")).toBe("1.2.0");
    expect(target("major")).toBe("2.0.0");
    expect(target("major", { prereleases: true })).toBe("2.1.0-rc.1");
    expect(target("major", { constraint: "<1.1.0" })).toBe("1.0.1");
    expect(decide("1.0.0", versions, { autoUpdate: "minor" }).availableUpdate).toBe("2.0.0");
  });

  it("offers the newest allowed version, with where and when it was found", () => {
    const out = decide("1.0.0", reading({ demo: ["1.0.0", "1.1.0", "2.0.0-rc.1"] }));
    expect(out).toEqual({
      condition: {
        status: "True",
        reason: "NewerVersion",
        message:
          "chart demo 1.1.0 (running 1.0.0) in HelmRepository shop/charts (https://charts.example/stable/) (pre-releases excluded)",
      },
      availableUpdate: "1.1.0",
      updateCheck: {
        source: { kind: "HelmRepository", namespace: "shop", name: "charts" },
        url: "https://charts.example/stable/",
        chart: "demo",
        revision: "sha256:a",
        checkedAt: "2026-01-02T03:04:05.000Z",
      },
    });
  });

  it("says UpToDate, ChartNotFound, or why the index could not be read, naming the source", () => {
    expect(decide("1.1.0", reading({ demo: ["1.0.0", "1.1.0"] })).condition).toMatchObject({
      status: "False",
      reason: "UpToDate",
    });
    expect(decide("1.1.0", reading({ other: ["1.0.0"] }))).toMatchObject({
      condition: {
        status: "Unknown",
        reason: "ChartNotFound",
        message: "HelmRepository shop/charts (https://charts.example/stable/) has no chart demo",
      },
      availableUpdate: undefined,
    });
    const failed: IndexReading = {
      ok: false,
      reason: "IndexUnreachable",
      message: "GET https://charts.example/stable/index.yaml: HTTP 401",
      readAt: new Date(),
    };
    expect(decide("1.0.0", failed)).toEqual({
      condition: {
        status: "Unknown",
        reason: "IndexUnreachable",
        message:
          "HelmRepository shop/charts (https://charts.example/stable/): GET https://charts.example/stable/index.yaml: HTTP 401",
      },
      availableUpdate: undefined,
      updateCheck: undefined,
    });
  });

  it("follows the policy's constraint and pre-release setting", () => {
    const r = reading({ demo: ["1.0.0", "1.2.0", "2.0.0", "2.1.0-rc.1"] });
    expect(decide("1.0.0", r, { constraint: "<2.0.0" }).availableUpdate).toBe("1.2.0");
    expect(decide("1.0.0", r, { prereleases: true }).availableUpdate).toBe("2.1.0-rc.1");
  });

  it("names a current version it cannot compare", () => {
    expect(decide(undefined, reading({ demo: ["1.0.0"] })).condition.reason).toBe(
      "CurrentVersionUnknown",
    );
    expect(decide("main", reading({ demo: ["1.0.0"] })).condition.reason).toBe(
      "CurrentVersionInvalid",
    );
  });
});

describe("newUpdateEvent", () => {
  const offer = (availableUpdate: string | undefined) => ({
    condition: { status: "True" as const, reason: "NewerVersion", message: "chart demo 1.2.0 …" },
    availableUpdate,
    updateCheck: undefined,
  });
  it("announces a version offered for the first time, once", () => {
    expect(newUpdateEvent(undefined, offer("1.2.0"))).toEqual({
      reason: "NewerVersion",
      message: "chart demo 1.2.0 …",
    });
    expect(newUpdateEvent("1.1.0", offer("1.2.0"))?.reason).toBe("NewerVersion");
    expect(newUpdateEvent("1.2.0", offer("1.2.0"))).toBeUndefined();
    expect(newUpdateEvent("1.2.0", offer(undefined))).toBeUndefined();
  });
});

describe("applyUpdateOutcome", () => {
  it("removes fields the outcome does not carry", () => {
    const status: Record<string, unknown> = { availableUpdate: "1.1.0", updateCheck: {}, x: 1 };
    applyUpdateOutcome(status, {
      condition: { status: "False", reason: "UpToDate", message: "" },
      availableUpdate: undefined,
      updateCheck: undefined,
    });
    expect(status).toEqual({ x: 1 });
  });
});

describe("UpdateChecker", () => {
  const stops: AbortController[] = [];
  afterEach(() => {
    for (const s of stops.splice(0)) s.abort();
  });

  async function harness(
    repos: KubeObject[],
    opts: { allowCross?: boolean; ociRepositories?: KubeObject[] } = {},
  ) {
    const clock = new FakeClock();
    // The OCIRepository informer lists first, so the most recent watch is the HelmRepositories'.
    const source = new FakeWatchSource()
      .answerList(opts.ociRepositories ?? [], "1")
      .answerList(repos, "1");
    const informers = new InformerFactory({ source, clock });
    const woken: string[] = [];
    const reads: string[] = [];
    const readsOf: { type: string; url: string; chart: string }[] = [];
    let answer: IndexReading = reading({ demo: ["1.0.0", "1.1.0"] });
    const checker = new UpdateChecker({
      client: { get: () => Promise.reject(new Error("unused")) },
      clock,
      informers,
      allowCrossNamespaceRefs: opts.allowCross ?? false,
      enqueue: (key) => woken.push(key),
      backoff: { baseMs: 1000, maxMs: 4000, jitter: 0 },
      random: () => 0,
      read: (settings, chart) => {
        reads.push(settings.fingerprint);
        readsOf.push({ type: settings.type, url: settings.url, chart });
        return Promise.resolve(answer);
      },
    });
    const stop = new AbortController();
    stops.push(stop);
    for (const informer of [...checker.informers].reverse()) {
      expect(["HelmRepository", "OCIRepository"]).toContain(informer.kind);
      void informer.run(stop.signal);
      await informer.waitForSync(stop.signal);
    }
    return {
      checker,
      source,
      clock,
      woken,
      reads,
      readsOf,
      answer: (r: IndexReading) => (answer = r),
      check: (a = app(), hr: KubeObject | null = fromRepo(), reported = true): UpdateCheck =>
        checker.check("shop/demo", a, hr ?? undefined, { current: "1.0.0", reported }),
    };
  }

  it("reads a repository once, wakes its apps, and reads again on a new artifact revision", async () => {
    const h = await harness([repository("sha256:a")]);
    // The first pass starts the read; a pass that reported nothing before says it is checking.
    expect(h.check().outcome).toBeUndefined();
    expect(h.check(app(), fromRepo(), false).outcome?.condition.reason).toBe("Checking");
    await until("woken", () => h.woken.length === 1);
    expect(h.check().outcome?.availableUpdate).toBe("1.1.0");
    expect(h.reads).toEqual(["1/sha256:a"]);
    // source-controller fetched a new index: the app is woken and the index read again.
    h.answer(reading({ demo: ["1.0.0", "1.1.0", "1.2.0"] }));
    h.source.current.push(modified(repository("sha256:b")));
    await until("woken again", () => h.woken.length === 2);
    expect(h.check().outcome).toBeUndefined();
    await until("read settled", () => h.woken.length === 3);
    expect(h.check().outcome?.availableUpdate).toBe("1.2.0");
    expect(h.reads).toEqual(["1/sha256:a", "1/sha256:b"]);
    // Another resync of the same revision reads nothing.
    h.check();
    await flush();
    expect(h.reads).toHaveLength(2);
  });

  it("retries a failed read after a backoff", async () => {
    const h = await harness([repository("sha256:a")]);
    h.answer({ ok: false, reason: "IndexUnreachable", message: "down", readAt: new Date() });
    h.check();
    await until("woken", () => h.woken.length === 1);
    const failed = h.check();
    expect(failed.outcome?.condition.reason).toBe("IndexUnreachable");
    expect(failed.requeueAfterMs).toBe(1000);
    h.answer(reading({ demo: ["2.0.0"] }));
    await h.clock.advance(1000);
    h.check();
    await until("woken again", () => h.woken.length === 2);
    expect(h.check().outcome?.availableUpdate).toBe("2.0.0");
  });

  it("names a missing repository and wakes the app when it appears", async () => {
    const h = await harness([]);
    expect(h.check().outcome?.condition).toEqual({
      status: "Unknown",
      reason: "SourceNotFound",
      message: "HelmRepository shop/charts not found",
    });
    h.source.current.push({ type: "ADDED", object: repository("sha256:a") });
    await until("woken", () => h.woken.includes("shop/demo"));
  });

  it("refuses a repository in another namespace without --allow-cross-namespace-refs", async () => {
    const denied = await harness([repository("sha256:a", {}, "flux-system")]);
    expect(denied.check(app(), fromRepo("flux-system")).outcome?.condition).toMatchObject({
      reason: "ReferenceDenied",
      message: expect.stringContaining("--allow-cross-namespace-refs") as unknown,
    });
    expect(denied.reads).toEqual([]);
    const allowed = await harness([repository("sha256:a", {}, "flux-system")], {
      allowCross: true,
    });
    allowed.check(app(), fromRepo("flux-system"));
    await until("read", () => allowed.reads.length === 1);
  });

  it("lists an OCI repository's tags again every checkInterval, and only then", async () => {
    const h = await harness([repository("sha256:a", { type: "oci", url: "oci://r/charts" })]);
    const tags = (versions: string[]): IndexReading => ({
      ok: true,
      charts: new Map([["demo", versions]]),
      readAt: h.clock.now(),
    });
    const every30m = app({ checkInterval: "30m" });
    h.answer(tags(["1.0.0", "1.1.0"]));
    expect(h.check(every30m).outcome).toBeUndefined();
    await until("woken", () => h.woken.length === 1);
    expect(h.check(every30m)).toMatchObject({
      outcome: { availableUpdate: "1.1.0" },
      requeueAfterMs: 30 * 60_000,
    });
    await h.clock.advance(29 * 60_000);
    expect(h.check(every30m).requeueAfterMs).toBe(60_000);
    await flush();
    expect(h.reads).toHaveLength(1);
    // A tag pushed meanwhile: found once the answer is 30 minutes old, the old one standing
    // while the registry is read.
    await h.clock.advance(60_000);
    h.answer(tags(["1.0.0", "1.1.0", "1.2.0"]));
    expect(h.check(every30m).outcome?.availableUpdate).toBe("1.1.0");
    await until("woken again", () => h.woken.length === 2);
    expect(h.check(every30m).outcome?.availableUpdate).toBe("1.2.0");
    expect(h.reads).toHaveLength(2);
  });

  it("lists the tags of an OCIRepository named by spec.chartRef every checkInterval, woken by its changes", async () => {
    const ociRepository = (generation: number, spec: Record<string, unknown> = {}): KubeObject => ({
      apiVersion: "source.toolkit.fluxcd.io/v1",
      kind: "OCIRepository",
      // Named as the HelmRepository is: the two are told apart.
      metadata: {
        name: "charts",
        namespace: "shop",
        generation,
        resourceVersion: String(generation),
      },
      spec: { url: "oci://registry.example/charts/demo", ref: { tag: "1.0.0" }, ...spec },
    });
    const h = await harness([repository("sha256:a")], { ociRepositories: [ociRepository(1)] });
    const viaChartRef = {
      ...helmRelease({}),
      spec: { chartRef: { kind: "OCIRepository", name: "charts" } },
    };
    const every10m = app({ checkInterval: "10m" });
    h.answer({ ok: true, charts: new Map([["demo", ["1.0.0", "1.1.0"]]]), readAt: h.clock.now() });
    expect(h.check(every10m, viaChartRef).outcome).toBeUndefined();
    await until("woken", () => h.woken.length === 1);
    const found = h.check(every10m, viaChartRef);
    expect(h.readsOf).toEqual([
      { type: "ocirepository", url: "oci://registry.example/charts/demo", chart: "demo" },
    ]);
    expect(found).toMatchObject({
      requeueAfterMs: 10 * 60_000,
      outcome: {
        availableUpdate: "1.1.0",
        updateCheck: {
          source: { kind: "OCIRepository", namespace: "shop", name: "charts" },
          url: "oci://registry.example/charts/demo",
          chart: "demo",
        },
        condition: {
          message:
            "chart demo 1.1.0 (running 1.0.0) in OCIRepository shop/charts (oci://registry.example/charts/demo) (pre-releases excluded)",
        },
      },
    });
    // A new spec (another URL) is read at once and wakes the app; the HelmRepository of the same
    // name is not what changed.
    const oci = h.source.watches.find((w) => w.kind === "OCIRepository");
    oci?.push(modified(ociRepository(2, { url: "oci://registry.example/other/demo" })));
    await until("woken again", () => h.woken.length === 2);
    h.check(every10m, viaChartRef);
    await until("read again", () => h.readsOf.length === 2);
    expect(h.readsOf[1]?.url).toBe("oci://registry.example/other/demo");
    // Settings Cairn cannot honour are named, never read anonymously.
    oci?.push(modified(ociRepository(3, { provider: "aws" })));
    await until("woken a third time", () => h.woken.length >= 3);
    expect(h.check(every10m, viaChartRef).outcome?.condition).toEqual({
      status: "Unknown",
      reason: "NotChecked",
      message: "OCIRepository shop/charts sets spec.provider aws, which Cairn does not read",
    });
    const missing = h.check(every10m, {
      ...viaChartRef,
      spec: { chartRef: { kind: "OCIRepository", name: "gone" } },
    });
    expect(missing.outcome?.condition).toMatchObject({
      reason: "SourceNotFound",
      message: "OCIRepository shop/gone not found",
    });
  });

  it("says SourceInvalid for a broken repository", async () => {
    const oci = await harness([repository("sha256:a", { type: "oci", url: "https://r/charts" })]);
    expect(oci.check().outcome?.condition).toMatchObject({
      reason: "SourceInvalid",
      message: "HelmRepository shop/charts: spec.url https://r/charts is not an oci:// URL",
    });
    const broken = await harness([repository("sha256:a", { url: "ftp://charts" })]);
    expect(broken.check().outcome?.condition).toMatchObject({
      reason: "SourceInvalid",
      message: "HelmRepository shop/charts: spec.url ftp://charts is not an http(s) URL",
    });
  });

  it("says why an app without a HelmRelease from a HelmRepository is not checked", async () => {
    const h = await harness([repository("sha256:a")]);
    const plain = ManagedApp.parse({
      ...app(),
      spec: { gitPath: "a.yaml", kustomizationRef: { name: "apps" } },
    });
    expect(h.check(plain, null).outcome?.condition).toMatchObject({
      reason: "NotChecked",
      message: expect.stringContaining("or the tags of spec.versionPolicy.image") as unknown,
    });
    expect(h.check(app(), null).outcome?.condition.reason).toBe("NotChecked");
  });

  it("lists an image-versioned app's tags every checkInterval, waking the app, with the image's own words", async () => {
    const h = await harness([]);
    const imageApp = ManagedApp.parse({
      ...app(),
      spec: {
        gitPath: "apps/web/kustomization.yaml",
        kustomizationRef: { name: "apps" },
        versionPolicy: {
          versionPath: "images.0.newTag",
          checkInterval: "10m",
          image: { name: "registry.example:5000/shop/web", secretRef: { name: "pull" } },
        },
      },
    });
    const tags = (charts: Record<string, string[]>): IndexReading => ({
      ok: true,
      charts: new Map(Object.entries(charts)),
      readAt: h.clock.now(),
    });
    h.answer(
      tags({ "registry.example:5000/shop/web": ["1.0.0", "1.1.0", "latest", "2.0.0-rc.1"] }),
    );
    expect(h.check(imageApp, null).outcome).toBeUndefined();
    await until("woken", () => h.woken.includes("shop/demo"));
    const found = h.check(imageApp, null);
    expect(found.requeueAfterMs).toBe(10 * 60_000);
    expect(found.outcome).toMatchObject({
      availableUpdate: "1.1.0",
      updateCheck: {
        image: "registry.example:5000/shop/web",
        url: "https://registry.example:5000/shop/web",
      },
      condition: {
        status: "True",
        reason: "NewerVersion",
        message:
          "image registry.example:5000/shop/web 1.1.0 (running 1.0.0) in the registry (https://registry.example:5000/shop/web) (pre-releases excluded)",
      },
    });
    expect(found.outcome?.updateCheck?.source).toBeUndefined();
    // The Secret's name is part of what is read: the fingerprint says so.
    expect(h.reads).toEqual(["pull/false"]);
    await h.clock.advance(10 * 60_000);
    h.answer(tags({}));
    h.check(imageApp, null);
    await until("read again", () => h.reads.length === 2);
    await until("woken again", () => h.woken.length === 2);
    expect(h.check(imageApp, null).outcome?.condition).toMatchObject({
      reason: "ChartNotFound",
      message:
        "the registry (https://registry.example:5000/shop/web) has no tags of image registry.example:5000/shop/web",
    });
  });

  it("takes an ImagePolicy's choice as the image's candidate, naming the policy as the source", async () => {
    const h = await harness([]);
    const viaPolicy = ManagedApp.parse({
      ...app(),
      spec: {
        gitPath: "apps/web/kustomization.yaml",
        kustomizationRef: { name: "apps" },
        versionPolicy: {
          versionPath: "images[0].newTag",
          image: { name: "ghcr.io/org/web", policyRef: { name: "web" } },
        },
      },
    });
    h.answer({
      ok: true,
      charts: new Map([["ghcr.io/org/web", ["1.3.0"]]]),
      readAt: h.clock.now(),
    });
    h.check(viaPolicy, null);
    await until("woken", () => h.woken.includes("shop/demo"));
    expect(h.check(viaPolicy, null).outcome).toMatchObject({
      availableUpdate: "1.3.0",
      updateCheck: {
        image: "ghcr.io/org/web",
        source: { kind: "ImagePolicy", namespace: "shop", name: "web" },
        url: "https://ghcr.io/org/web",
      },
      condition: {
        message:
          "image ghcr.io/org/web 1.3.0 (running 1.0.0) in ImagePolicy shop/web (pre-releases excluded)",
      },
    });
  });
});
