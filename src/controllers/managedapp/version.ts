// Where an app's current version comes from, and what a Git file says it is (pure). A HelmRelease
// app runs the chart version its HelmRelease names. One whose HelmRelease takes its chart from an
// OCIRepository (spec.chartRef) names none: it runs the OCIRepository's tag, read from Git as any
// other app's version is: the value at spec.versionPolicy.versionPath (default spec.ref.tag) in
// the file at spec.gitPath, read at the commit its Kustomization last applied: the branch head
// may hold a commit Flux has not applied yet (or one Cairn pushed while Flux is suspended), which
// is not what the cluster runs.
import { VersionValue, type ManagedApp } from "../../api/index.ts";
import { readValue } from "../../git/yaml-edit.ts";
import type { KubeObject } from "../../kube/client.ts";
import { revisionSha } from "../../git/revision.ts";
import { chartVersionOf } from "./evaluate.ts";
import type { AppRefs } from "../../discovery/app-refs.ts";
import {
  chartOciRepository,
  HELM_CHART_VERSION_PATH,
  OCI_TAG_VERSION_PATH,
} from "../../updates/chart-source.ts";

/** The ManagedApp condition telling whether status.currentVersion is known, and from where. */
export const VERSION_RESOLVED = "VersionResolved";

export const VersionReason = {
  /** True: the HelmRelease's spec.chart.spec.version. */
  HelmRelease: "HelmRelease",
  /** True: the value at versionPath in the Git file at the applied commit. */
  GitFile: "GitFile",
  /** Unknown: an app without a HelmRelease and without spec.versionPolicy.versionPath. */
  NoVersionPath: "NoVersionPath",
  /** Unknown: the Kustomization has not applied a revision yet. */
  NotApplied: "NotApplied",
  /** Unknown: the Flux object the version depends on is missing or denied (Ready says which). */
  ReferenceUnresolved: "ReferenceUnresolved",
  /** Unknown: the file is being read. */
  InProgress: "InProgress",
  /** False: the HelmRelease names no chart version. */
  NoChartVersion: "NoChartVersion",
  /** False: the HelmRelease names a range ("*", ">=1.0.0"), not one version. */
  ChartVersionNotPinned: "ChartVersionNotPinned",
  /** False: spec.gitPath is not in the applied commit. */
  GitFileNotFound: "GitFileNotFound",
  /** False: spec.versionPolicy.versionPath does not lead to one valid version in the file. */
  VersionPathInvalid: "VersionPathInvalid",
  /** False: the applied commit is not on the branch Cairn reads. */
  GitCommitNotFound: "GitCommitNotFound",
  /** False: the GitRepository, its Secret or the URL cannot be used (the message says which). */
  GitSourceInvalid: "GitSourceInvalid",
  /** False: Git could not be reached or refused to answer; read again later. */
  GitUnreachable: "GitUnreachable",
} as const;

export interface VersionCondition {
  readonly status: "True" | "False" | "Unknown";
  readonly reason: string;
  readonly message: string;
}

export interface VersionReading {
  readonly condition: VersionCondition;
  /** The version, when the condition is True. */
  readonly value?: string;
  /** A failure that says nothing about the file (network, credentials): worth reading again. */
  readonly transient?: boolean;
}

/** What to read from Git; the fingerprint changes whenever the answer could. */
export interface GitVersionQuery {
  readonly gitPath: string;
  readonly versionPath: string;
  readonly commit: string;
  readonly kustomization: { readonly namespace: string; readonly name: string };
  readonly fingerprint: string;
}

export type VersionSource =
  | {
      readonly from: "known";
      readonly reading: VersionReading;
      /**
       * A HelmRelease app's Git settings, checked by reading its file the way an upgrade will:
       * a failure (a missing branch, an unusable Secret, a folder at gitPath) is shown instead
       * of the reading, so bad settings show on the app before an upgrade trips over them.
       */
      readonly check?: GitVersionQuery;
    }
  | { readonly from: "git"; readonly query: GitVersionQuery };

const unknown = (reason: string, message: string): VersionSource => ({
  from: "known",
  reading: { condition: { status: "Unknown", reason, message } },
});

export interface VersionSourceInput {
  readonly app: ManagedApp;
  readonly refs: AppRefs;
  /** False when Ready denied a reference: nothing is read through it. */
  readonly referencesAllowed: boolean;
  readonly kustomization: KubeObject | undefined;
  readonly helmRelease: KubeObject | undefined;
}

export function versionSourceOf(input: VersionSourceInput): VersionSource {
  const { app, refs } = input;
  if (!input.referencesAllowed) {
    return unknown(VersionReason.ReferenceUnresolved, "a reference is denied; see Ready");
  }
  if (refs.helmRelease) {
    const h = refs.helmRelease;
    if (!input.helmRelease) {
      return unknown(
        VersionReason.ReferenceUnresolved,
        `HelmRelease ${h.namespace}/${h.name} not found`,
      );
    }
    const oci = chartOciRepository(input.helmRelease);
    if (oci)
      return gitVersionSource(input, app.spec.versionPolicy.versionPath ?? OCI_TAG_VERSION_PATH);
    // An empty version names nothing; a range ("*", helm-controller's default, which a chart
    // from Git or an OCIRepository leaves) names no one version either.
    const named = chartVersionOf(input.helmRelease) || undefined;
    const version =
      named !== undefined && VersionValue.safeParse(named).success ? named : undefined;
    const check = version
      ? gitQueryOf(
          input,
          app.spec.versionPolicy.versionPath ?? HELM_CHART_VERSION_PATH,
          input.kustomization,
        )
      : undefined;
    return {
      from: "known",
      ...(check ? { check } : {}),
      reading: version
        ? {
            condition: {
              status: "True",
              reason: VersionReason.HelmRelease,
              message: `spec.chart.spec.version of HelmRelease ${h.namespace}/${h.name}`,
            },
            value: version,
          }
        : named !== undefined
          ? {
              condition: {
                status: "False",
                reason: VersionReason.ChartVersionNotPinned,
                message: `spec.chart.spec.version of HelmRelease ${h.namespace}/${h.name} is ${JSON.stringify(named.slice(0, 140))}, not one version`,
              },
            }
          : {
              condition: {
                status: "False",
                reason: VersionReason.NoChartVersion,
                message: `HelmRelease ${h.namespace}/${h.name} has no spec.chart.spec.version`,
              },
            },
    };
  }
  const versionPath = app.spec.versionPolicy.versionPath;
  if (versionPath === undefined) {
    return unknown(
      VersionReason.NoVersionPath,
      "spec.versionPolicy.versionPath is not set: without a HelmRelease, the version is read from that path of spec.gitPath (image bumps still work; the version is then known after Cairn's first upgrade)",
    );
  }
  return gitVersionSource(input, versionPath);
}

/** The value at versionPath in gitPath, at the commit the Kustomization applied. */
function gitVersionSource(input: VersionSourceInput, versionPath: string): VersionSource {
  const k = input.refs.kustomization;
  if (!input.kustomization) {
    return unknown(
      VersionReason.ReferenceUnresolved,
      `Kustomization ${k.namespace}/${k.name} not found`,
    );
  }
  const query = gitQueryOf(input, versionPath, input.kustomization);
  if (query === undefined) {
    return unknown(
      VersionReason.NotApplied,
      `Kustomization ${k.namespace}/${k.name} has not applied a Git revision yet`,
    );
  }
  return { from: "git", query };
}

/** The read of versionPath in gitPath at the commit the Kustomization applied, if it applied one. */
function gitQueryOf(
  input: VersionSourceInput,
  versionPath: string,
  kustomization: KubeObject | undefined,
): GitVersionQuery | undefined {
  const { app, refs } = input;
  const status = kustomization?.["status"] as { lastAppliedRevision?: unknown } | undefined;
  const commit = revisionSha(status?.lastAppliedRevision);
  if (commit === undefined) return undefined;
  const sourceRef = (kustomization?.["spec"] as { sourceRef?: unknown } | undefined)?.sourceRef;
  return {
    gitPath: app.spec.gitPath,
    versionPath,
    commit,
    kustomization: refs.kustomization,
    // The uid: a recreated app starts afresh. The Git settings and the Kustomization's source
    // decide which repository is read, so a change of either reads again.
    fingerprint: JSON.stringify([
      app.metadata.uid ?? "",
      commit,
      app.spec.gitPath,
      versionPath,
      app.spec.git ?? null,
      sourceRef ?? null,
    ]),
  };
}

const short = (sha: string) => sha.slice(0, 12);

/** What to show while the first read of a query runs. */
export function readingInProgress(query: GitVersionQuery): VersionReading {
  return {
    condition: {
      status: "Unknown",
      reason: VersionReason.InProgress,
      message: `reading ${query.gitPath} at commit ${short(query.commit)}`,
    },
  };
}

/** The version in a file's content (undefined: the commit has no such file). */
export function versionFromContent(
  content: string | undefined,
  query: GitVersionQuery,
): VersionReading {
  const at = `at commit ${short(query.commit)} (applied by Kustomization ${query.kustomization.namespace}/${query.kustomization.name})`;
  if (content === undefined) {
    return {
      condition: {
        status: "False",
        reason: VersionReason.GitFileNotFound,
        message: `spec.gitPath: ${query.gitPath} does not exist ${at}`,
      },
    };
  }
  const read = readValue(content, query.versionPath);
  if (!read.ok) {
    return {
      condition: {
        status: "False",
        reason: VersionReason.VersionPathInvalid,
        message: `spec.versionPolicy.versionPath: ${read.error.message} (${query.gitPath} ${at})`,
      },
    };
  }
  const valid = VersionValue.safeParse(read.value);
  if (!valid.success) {
    return {
      condition: {
        status: "False",
        reason: VersionReason.VersionPathInvalid,
        message: `spec.versionPolicy.versionPath: ${JSON.stringify(read.value.slice(0, 140))} in ${query.gitPath} ${at} is not a version or image tag`,
      },
    };
  }
  return {
    condition: {
      status: "True",
      reason: VersionReason.GitFile,
      message: `${query.versionPath} in ${query.gitPath} ${at}`,
    },
    value: valid.data,
  };
}
