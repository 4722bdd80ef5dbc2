// The ManagedApp controller's update check: for an app whose HelmRelease takes its chart from a
// HelmRepository or an OCIRepository, the newest version the source offers that the app's
// versionPolicy allows, as status.availableUpdate, status.updateCheck (where and when it was
// looked for) and the UpdateAvailable condition, which also says why an app is not checked. An
// HTTP repository is event-driven: an informer on HelmRepositories wakes the apps that use one
// when its spec or artifact revision changes. An OCI repository (type oci) has no index and no
// artifact: the chart's tags are listed every versionPolicy.checkInterval. So are an
// OCIRepository's tags (an informer wakes its apps when its spec changes), and the tags of
// versionPolicy.image, for an app without a HelmRelease whose version is an image tag. All are
// read by IndexCache, off the reconcile path.
import type { ManagedApp } from "../api/index.ts";
import { durationMs } from "../api/fields.ts";
import type { KubeClient, KubeObject } from "../kube/client.ts";
import type { BackoffOptions } from "../runtime/backoff.ts";
import type { Clock } from "../runtime/clock.ts";
import type { Informer } from "../runtime/informer.ts";
import type { InformerFactory } from "../runtime/informer-factory.ts";
import {
  chartSourceOf,
  repositorySettings,
  type RepositoryRef,
  type RepositorySettings,
} from "./chart-source.ts";
import { displayUrl, fetchHelmIndex, IndexReadError } from "./fetch-index.ts";
import { parseHelmIndex } from "./helm-index.ts";
import {
  IndexCache,
  keyOfSource,
  sourceKey,
  type IndexReading,
  type ReadIndex,
} from "./index-cache.ts";
import { imageSettings, imageTagListing, readImagePolicyTag } from "./image-source.ts";
import { listOciChartVersions, listOciTags } from "./oci-registry.ts";
import { chartOfOciUrl, OCI_REPOSITORY_TYPE, ociRepositorySettings } from "./oci-repository.ts";
import { selectUpdate, withinLevel } from "./versions.ts";

export const UPDATE_AVAILABLE = "UpdateAvailable";

export const UpdateReason = {
  NewerVersion: "NewerVersion",
  UpToDate: "UpToDate",
  /** The app has no HelmRelease, or its chart comes from a source Cairn does not read. */
  NotChecked: "NotChecked",
  CurrentVersionUnknown: "CurrentVersionUnknown",
  CurrentVersionInvalid: "CurrentVersionInvalid",
  ReferenceDenied: "ReferenceDenied",
  SourceNotFound: "SourceNotFound",
  SourceInvalid: "SourceInvalid",
  ChartNotFound: "ChartNotFound",
  Checking: "Checking",
} as const;

export interface UpdateCondition {
  readonly status: "True" | "False" | "Unknown";
  readonly reason: string;
  readonly message: string;
}

/**
 * Where the app's versions were looked for, and when (status.updateCheck): a chart in a
 * HelmRepository or an OCIRepository (source and chart), or an image's tags (image).
 */
export interface UpdateCheckStatus {
  readonly image?: string;
  readonly source?: {
    readonly kind: "HelmRepository" | "OCIRepository" | "ImagePolicy";
    readonly namespace: string;
    readonly name: string;
  };
  readonly url: string;
  readonly chart?: string;
  /** source-controller's artifact revision of the index, when it had one. */
  readonly revision?: string;
  readonly checkedAt: string;
}

export interface UpdateOutcome {
  readonly condition: UpdateCondition;
  /** undefined: remove status.availableUpdate. */
  readonly availableUpdate: string | undefined;
  /** undefined: remove status.updateCheck. */
  readonly updateCheck: UpdateCheckStatus | undefined;
  /**
   * The newest offered version within versionPolicy.autoUpdate's level of the running one, the
   * target of an automatic upgrade (never written to status; availableUpdate may lie beyond it).
   */
  readonly autoTarget?: string;
}

export interface UpdateDecisionInput {
  readonly app: ManagedApp;
  readonly current: string | undefined;
  readonly chart: string;
  readonly settings: RepositorySettings;
  readonly reading: IndexReading;
}

const repoName = (ref: RepositoryRef, kind = "HelmRepository") =>
  `${kind} ${ref.namespace}/${ref.name}`;

const notChecked = (reason: string, message: string): UpdateOutcome => ({
  condition: { status: "Unknown", reason, message },
  availableUpdate: undefined,
  updateCheck: undefined,
});

/** Shown while the first read of an app's repository runs and nothing was said before. */
const checking = (): UpdateOutcome =>
  notChecked(UpdateReason.Checking, "reading the versions the app's chart source offers");

/** Writes an outcome into the status to patch; absent fields are removed, not left stale. */
export function applyUpdateOutcome(status: Record<string, unknown>, outcome: UpdateOutcome): void {
  const { availableUpdate, updateCheck } = outcome;
  if (availableUpdate === undefined) delete status["availableUpdate"];
  else status["availableUpdate"] = availableUpdate;
  if (updateCheck === undefined) delete status["updateCheck"];
  else status["updateCheck"] = updateCheck;
}

/** A Normal Event when a version is offered that was not before; nothing otherwise. */
export function newUpdateEvent(
  before: string | undefined,
  outcome: UpdateOutcome,
): { readonly reason: string; readonly message: string } | undefined {
  if (outcome.availableUpdate === undefined || outcome.availableUpdate === before) return undefined;
  return { reason: UpdateReason.NewerVersion, message: outcome.condition.message };
}

/** The status an index reading gives the app (pure). */
export function decideUpdate(input: UpdateDecisionInput): UpdateOutcome {
  const { settings, reading, chart } = input;
  // An image (versionPolicy.image) is read like an OCI chart; only the words differ.
  const image = settings.type === "image";
  const imagePolicy = image ? settings.imagePolicy : undefined;
  const sourceKind =
    settings.type === OCI_REPOSITORY_TYPE
      ? ("OCIRepository" as const)
      : ("HelmRepository" as const);
  const where =
    imagePolicy !== undefined
      ? `ImagePolicy ${settings.ref.namespace}/${imagePolicy}`
      : image
        ? `the registry (${displayUrl(settings.url)})`
        : `${repoName(settings.ref, sourceKind)} (${displayUrl(settings.url)})`;
  const subject = image ? `image ${chart}` : `chart ${chart}`;
  if (!reading.ok) return notChecked(reading.reason, `${where}: ${reading.message}`);
  const checkedAt = reading.readAt.toISOString();
  const updateCheck: UpdateCheckStatus = image
    ? {
        image: chart,
        ...(imagePolicy !== undefined
          ? {
              source: {
                kind: "ImagePolicy" as const,
                namespace: settings.ref.namespace,
                name: imagePolicy,
              },
            }
          : {}),
        url: displayUrl(settings.url),
        checkedAt,
      }
    : {
        source: { kind: sourceKind, ...settings.ref },
        url: displayUrl(settings.url),
        chart,
        ...(settings.revision ? { revision: settings.revision } : {}),
        checkedAt,
      };
  const versions = reading.charts.get(chart);
  if (!versions) {
    return {
      ...notChecked(
        UpdateReason.ChartNotFound,
        image ? `${where} has no tags of image ${chart}` : `${where} has no chart ${chart}`,
      ),
      updateCheck,
    };
  }
  if (input.current === undefined) {
    return {
      ...notChecked(
        UpdateReason.CurrentVersionUnknown,
        `the app's current version is not known yet (see the VersionResolved condition)`,
      ),
      updateCheck,
    };
  }
  const policy = input.app.spec.versionPolicy;
  const selection = selectUpdate(input.current, versions, {
    constraint: policy.constraint,
    prereleases: policy.prereleases,
  });
  const rules = [
    policy.prereleases ? "pre-releases included" : "pre-releases excluded",
    ...(policy.constraint ? [`constraint ${policy.constraint}`] : []),
  ].join(", ");
  switch (selection.kind) {
    case "currentInvalid":
      return {
        ...notChecked(UpdateReason.CurrentVersionInvalid, selection.message),
        updateCheck,
      };
    case "update": {
      const current = input.current;
      const level = policy.autoUpdate;
      const auto = selectUpdate(
        current,
        versions,
        { constraint: policy.constraint, prereleases: policy.prereleases },
        (v) => withinLevel(current, v, level),
      );
      return {
        condition: {
          status: "True",
          reason: UpdateReason.NewerVersion,
          message: `${subject} ${selection.version} (running ${input.current}) in ${where} (${rules})`,
        },
        availableUpdate: selection.version,
        updateCheck,
        ...(auto.kind === "update" ? { autoTarget: auto.version } : {}),
      };
    }
    case "upToDate":
      return {
        condition: {
          status: "False",
          reason: UpdateReason.UpToDate,
          message: `no version of ${subject} newer than ${input.current} in ${where} (${rules})`,
        },
        availableUpdate: undefined,
        updateCheck,
      };
  }
}

/**
 * Reads an index through the HelmRepository's settings, or an OCI repository's tags of the
 * chart; never rejects.
 */
export function helmIndexReader(client: Pick<KubeClient, "get">, clock: Clock): ReadIndex {
  return async (settings, chart) => {
    try {
      if (settings.type === "image") {
        // An ImagePolicy's choice stands in for the tag list: one candidate.
        const tags =
          settings.imagePolicy !== undefined
            ? await readImagePolicyTag(client, settings.ref.namespace, settings.imagePolicy, chart)
            : await listOciTags(client, imageTagListing(settings, chart));
        const charts = new Map(tags.length > 0 ? [[chart, tags]] : []);
        return { ok: true, charts, readAt: clock.now() };
      }
      if (settings.type === "oci" || settings.type === OCI_REPOSITORY_TYPE) {
        const versions = await listOciChartVersions(client, settings, chart);
        // No tag at all: the registry has no such chart, as an index without its entry.
        const charts = new Map(versions.length > 0 ? [[chart, versions]] : []);
        return { ok: true, charts, readAt: clock.now() };
      }
      const parsed = parseHelmIndex(await fetchHelmIndex(client, settings));
      return parsed.ok
        ? { ok: true, charts: parsed.charts, readAt: clock.now() }
        : { ok: false, reason: "IndexInvalid", message: parsed.message, readAt: clock.now() };
    } catch (err) {
      // IndexReadErrors name the URL without credentials; API errors (reading a Secret) name
      // the object only.
      const reason = err instanceof IndexReadError ? err.reason : "IndexUnreachable";
      const message = err instanceof Error ? err.message : String(err);
      return { ok: false, reason, message, readAt: clock.now() };
    }
  };
}

export interface UpdateCheckerDeps {
  readonly client: Pick<KubeClient, "get">;
  readonly clock: Clock;
  readonly informers: InformerFactory;
  readonly allowCrossNamespaceRefs: boolean;
  /** Runs a pass of the app with this key. */
  readonly enqueue: (appKey: string) => void;
  /** How a failed read is retried; defaults to 30s doubling up to 30m. */
  readonly backoff?: BackoffOptions;
  readonly random?: () => number;
  /** Replaces the HTTP read (unit tests). */
  readonly read?: ReadIndex;
}

export interface UpdateCheck {
  /** undefined: the first read runs; the app's update status stays as it is. */
  readonly outcome: UpdateOutcome | undefined;
  readonly requeueAfterMs?: number;
}

const DEFAULT_CHECK_INTERVAL_MS = 3_600_000;
const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 30_000, maxMs: 30 * 60_000, jitter: 0.2 };

export class UpdateChecker {
  /** HelmRepositories and OCIRepositories, for the manager to run with the module's others. */
  readonly informers: readonly Informer[];
  readonly #helmRepositories: Informer;
  readonly #ociRepositories: Informer;
  readonly #deps: UpdateCheckerDeps;
  readonly #cache: IndexCache;
  /** Repository key → the apps whose last pass used it. */
  readonly #users = new Map<string, Set<string>>();
  /** App key → the repository key it used. */
  readonly #uses = new Map<string, string>();

  constructor(deps: UpdateCheckerDeps) {
    this.#deps = deps;
    this.#helmRepositories = deps.informers.for("source.toolkit.fluxcd.io/v1", "HelmRepository");
    this.#ociRepositories = deps.informers.for("source.toolkit.fluxcd.io/v1", "OCIRepository");
    this.informers = [this.#helmRepositories, this.#ociRepositories];
    this.#cache = new IndexCache({
      read: deps.read ?? helmIndexReader(deps.client, deps.clock),
      clock: deps.clock,
      onSettled: (repo) => this.#wake(repo),
      backoff: deps.backoff ?? DEFAULT_BACKOFF,
      random: deps.random ?? Math.random,
    });
    for (const [informer, type] of [
      [this.#helmRepositories, "default"],
      [this.#ociRepositories, OCI_REPOSITORY_TYPE],
    ] as const) {
      informer.onChange((ev) => {
        if (ev.type === "updated" && ev.resync) return;
        const key = keyOfSource(ev.key, type);
        if (ev.type === "deleted") this.#cache.forget(key);
        this.#wake(key);
      });
    }
  }

  /** The app is gone. */
  forget(appKey: string): void {
    this.#use(appKey, undefined);
  }

  /**
   * The app's update status. `current` is its current version; `reported` says whether its
   * status already has an UpdateAvailable condition, which stands while a first read runs.
   */
  check(
    appKey: string,
    app: ManagedApp,
    helmRelease: KubeObject | undefined,
    seen: { readonly current: string | undefined; readonly reported: boolean },
  ): UpdateCheck {
    const check = this.#check(appKey, app, helmRelease, seen.current);
    if (check.outcome || seen.reported) return check;
    return { ...check, outcome: checking() };
  }

  #check(
    appKey: string,
    app: ManagedApp,
    helmRelease: KubeObject | undefined,
    current: string | undefined,
  ): UpdateCheck {
    const ns = app.metadata.namespace ?? "";
    const interval = durationMs(app.spec.versionPolicy.checkInterval) ?? DEFAULT_CHECK_INTERVAL_MS;
    const image = app.spec.versionPolicy.image;
    if (!app.spec.helmReleaseRef && image) {
      // The image's tags, listed every interval; the read's end wakes the app.
      const settings = imageSettings(ns, image);
      this.#use(appKey, `${ns}/${settings.ref.name}`);
      return this.#decide(app, current, settings, image.name, interval);
    }
    if (!app.spec.helmReleaseRef) {
      this.#use(appKey, undefined);
      return {
        outcome: notChecked(
          UpdateReason.NotChecked,
          "update checks read the chart versions of the app's HelmRelease, or the tags of spec.versionPolicy.image; the app has neither",
        ),
      };
    }
    if (!helmRelease) {
      this.#use(appKey, undefined);
      return {
        outcome: notChecked(UpdateReason.NotChecked, "the app's HelmRelease was not found"),
      };
    }
    const source = chartSourceOf(helmRelease);
    if (!source.ok) {
      this.#use(appKey, undefined);
      return { outcome: notChecked(UpdateReason.NotChecked, source.message) };
    }
    const ref = source.repository;
    const oci = source.kind === "OCIRepository";
    if (ref.namespace !== ns && !this.#deps.allowCrossNamespaceRefs) {
      this.#use(appKey, undefined);
      return {
        outcome: notChecked(
          UpdateReason.ReferenceDenied,
          `the HelmRelease's chart source ${repoName(ref, source.kind)} is in another namespace than the ManagedApp; the controller reads it only with --allow-cross-namespace-refs`,
        ),
      };
    }
    // From here on the app follows the repository: its appearance or change wakes the app.
    this.#use(appKey, sourceKey({ ref, type: oci ? OCI_REPOSITORY_TYPE : "default" }));
    const obj = (oci ? this.#ociRepositories : this.#helmRepositories).get(
      `${ref.namespace}/${ref.name}`,
    );
    if (!obj) {
      return {
        outcome: notChecked(UpdateReason.SourceNotFound, `${repoName(ref, source.kind)} not found`),
      };
    }
    const settings = oci ? ociRepositorySettings(ref, obj) : repositorySettings(ref, obj);
    if (!settings.ok) {
      const reason = settings.unsupported ? UpdateReason.NotChecked : UpdateReason.SourceInvalid;
      return { outcome: notChecked(reason, settings.message) };
    }
    // Nothing announces a new tag in a registry: its answer gets old after the app's interval.
    return this.#decide(
      app,
      current,
      settings.settings,
      source.chart ?? chartOfOciUrl(settings.settings.url),
      settings.settings.type === "default" ? undefined : interval,
    );
  }

  #decide(
    app: ManagedApp,
    current: string | undefined,
    settings: RepositorySettings,
    chart: string,
    maxAgeMs: number | undefined,
  ): UpdateCheck {
    const cached = this.#cache.lookup(settings, chart, maxAgeMs);
    const outcome = cached.reading
      ? decideUpdate({ app, current, chart, settings, reading: cached.reading })
      : undefined;
    return cached.requeueAfterMs === undefined
      ? { outcome }
      : { outcome, requeueAfterMs: cached.requeueAfterMs };
  }

  #use(appKey: string, repoKey: string | undefined): void {
    const before = this.#uses.get(appKey);
    if (before === repoKey) return;
    if (before !== undefined) {
      const users = this.#users.get(before);
      users?.delete(appKey);
      if (users?.size === 0) this.#users.delete(before);
    }
    if (repoKey === undefined) {
      this.#uses.delete(appKey);
      return;
    }
    this.#uses.set(appKey, repoKey);
    let users = this.#users.get(repoKey);
    if (!users) this.#users.set(repoKey, (users = new Set()));
    users.add(appKey);
  }

  #wake(repoKey: string): void {
    for (const app of this.#users.get(repoKey) ?? []) this.#deps.enqueue(app);
  }
}
