// An upgrade's plan, as a pure function of what Plan gathered (docs/architecture.md):
// the Flux objects in suspend order, the PVCs with everything a restore needs, the workloads
// with their replicas, the snapshot names, the Git file with its from/to values and the diff,
// and every preflight check, passed or not. A real run and a dry run plan the same way.
import type {
  ManagedApp,
  Plan,
  PlannedImage,
  PlannedVolume,
  PlannedWorkload,
  PreflightCheck,
  UpgradeRequest,
} from "../../api/index.ts";
import { VERSION_VALUE_PATTERN } from "../../api/fields.ts";
import {
  currentTag,
  documentIdentity,
  lineDiff,
  readImageTags,
  readValue,
  setImageTag,
  setValue,
} from "../../git/yaml-edit.ts";
import type { KubeObject } from "../../kube/client.ts";
import type { ReleaseStorageView } from "../../helm/release-storage.ts";
import { verifyChartTarget, type SourceVersions } from "../../updates/verify-target.ts";
import {
  chartOciRepository,
  defaultChartVersionPath,
  HELM_CHART_VERSION_PATH,
  OCI_TAG_VERSION_PATH,
} from "../../updates/chart-source.ts";
import { snapshotName } from "../request/snapshots.ts";
import { suspendedObjectVerdict } from "../request/suspended-check.ts";
import { releaseStorageCheck } from "./release-check.ts";
import { fluxSettling, isSuspended, readyNow, routineReconcile } from "../request/flux.ts";

export const DEFAULT_HELM_VERSION_PATH = HELM_CHART_VERSION_PATH;

/** The PVC facts a restore needs, minus the annotations that bind it to its old volume. */
const BINDING_ANNOTATIONS = new Set([
  "pv.kubernetes.io/bind-completed",
  "pv.kubernetes.io/bound-by-controller",
  "volume.kubernetes.io/storage-provisioner",
  "volume.beta.kubernetes.io/storage-provisioner",
  "volume.kubernetes.io/selected-node",
]);

export function plannedVolume(pvc: KubeObject, snapshot: string | undefined): PlannedVolume {
  const spec = (pvc["spec"] ?? {}) as {
    accessModes?: PlannedVolume["accessModes"];
    storageClassName?: string;
    volumeMode?: PlannedVolume["volumeMode"];
    resources?: { requests?: { storage?: string } };
  };
  const annotations = Object.fromEntries(
    Object.entries(pvc.metadata.annotations ?? {}).filter(([k]) => !BINDING_ANNOTATIONS.has(k)),
  );
  const labels = { ...(pvc.metadata.labels ?? {}) };
  return {
    namespace: pvc.metadata.namespace ?? "",
    name: pvc.metadata.name ?? "",
    ...(spec.accessModes ? { accessModes: spec.accessModes } : {}),
    ...(spec.storageClassName !== undefined ? { storageClassName: spec.storageClassName } : {}),
    ...(spec.volumeMode ? { volumeMode: spec.volumeMode } : {}),
    ...(spec.resources?.requests?.storage ? { size: spec.resources.requests.storage } : {}),
    ...(snapshot ? { snapshot } : {}),
    ...(Object.keys(labels).length > 0 ? { labels } : {}),
    ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
  };
}

const VERSION_VALUE = new RegExp(VERSION_VALUE_PATTERN);

export interface PlanInput {
  readonly request: UpgradeRequest;
  readonly app: ManagedApp;
  /** The Flux objects to suspend, in order, as they are now. */
  readonly flux: readonly {
    readonly ref: Plan["flux"][number];
    readonly object: KubeObject | undefined;
    /**
     * For a suspended object: the Cairn requests its cairn.dev/suspended-by lists, and whether
     * each is still live (another app's request that shares the suspend target).
     */
    readonly holders?: readonly { readonly name: string; readonly live: boolean }[];
  }[];
  /** Parents of the suspend target whose apply owns its spec.suspend and that run. */
  readonly runningParents: readonly string[];
  readonly gitRepository: { readonly namespace: string; readonly name: string } | undefined;
  readonly git:
    | {
        readonly ok: true;
        readonly url: string;
        readonly branch: string;
        readonly head: string;
        readonly content: string | undefined;
        readonly canPush: { readonly ok: boolean; readonly message: string };
      }
    | {
        readonly ok: false;
        /** Which check failed (gitFailureCheck); GitReachable when not told. */
        readonly check?: string;
        readonly message: string;
      };
  /**
   * The versions the chart's source offers, read when a chart target is planned for an app with
   * a HelmRelease; absent otherwise (the version in Git is then not a chart's).
   */
  readonly chartSource?: SourceVersions | undefined;
  readonly volumes: readonly KubeObject[];
  readonly missingVolumes: readonly string[];
  readonly workloads: readonly PlannedWorkload[];
  /** Problems discovery found (a bare pod writing to a PVC, an unsafe StatefulSet …). */
  readonly discoveryProblems: readonly string[];
  /** Helm's storage, read for an app with a HelmRelease (inventory or not). */
  readonly releaseStorage?: ReleaseStorageView | undefined;
  readonly snapshotClass:
    | { readonly ok: true; readonly name: string | undefined; readonly message: string }
    | { readonly ok: false; readonly message: string }
    | undefined;
}

export interface PlanOutput {
  readonly plan: Plan | undefined;
  readonly checks: PreflightCheck[];
  /** The failed checks that are only a Flux reconcile in flight: Plan waits these out. */
  readonly settling: readonly PreflightCheck[];
}

function check(name: string, passed: boolean, message: string): PreflightCheck {
  return { name, passed, message: message.slice(0, 1024) };
}

export function snapshotsWanted(request: UpgradeRequest, app: ManagedApp): boolean {
  return app.spec.volumeSnapshots.enabled && !request.spec.skipSnapshot;
}

/** The chart version a request upgrades to: its target's, or the app's available update. */
export function chartTargetOf(request: UpgradeRequest, app: ManagedApp): string | undefined {
  const target = request.spec.targetVersion;
  return target?.chart ?? (target?.images ? undefined : app.status?.availableUpdate);
}

export function composePlan(input: PlanInput): PlanOutput {
  const { request, app } = input;
  const checks: PreflightCheck[] = [];
  const settling: PreflightCheck[] = [];
  const target = request.spec.targetVersion;
  const chart = chartTargetOf(request, app);
  const images = target?.images;

  // Flux objects: they exist, are Ready, and nobody else suspended them.
  for (const f of input.flux) {
    const what = `${f.ref.kind} ${f.ref.namespace}/${f.ref.name}`;
    if (!f.object) {
      checks.push(check("FluxObjects", false, `${what} not found`));
      continue;
    }
    if (isSuspended(f.object)) {
      const v = suspendedObjectVerdict(
        what,
        f.holders ?? [],
        "this request",
        `whoever suspended it must resume it before upgrading`,
      );
      checks.push(check("FluxObjects", v.passed, v.message));
      continue;
    }
    const ready = readyNow(f.object);
    const routine = ready.ready ? undefined : routineReconcile(f.ref.kind, f.object);
    const c = check(
      "FluxObjects",
      ready.ready || routine !== undefined,
      ready.ready
        ? `${what} is Ready`
        : routine
          ? `${what} is Ready: ${routine.message}`
          : `${what} is not Ready (${ready.reason}: ${ready.message})`,
    );
    checks.push(c);
    if (!c.passed && fluxSettling(f.object)) settling.push(c);
  }
  checks.push(
    check(
      "SuspendTarget",
      input.runningParents.length === 0,
      input.runningParents.length === 0
        ? `suspend order: ${input.flux.map((f) => `${f.ref.kind} ${f.ref.namespace}/${f.ref.name}`).join(", ")}`
        : `the suspend target is applied by ${input.runningParents.join(", ")}, whose apply sets its spec.suspend and which is not suspended: its next apply would resume the target mid-upgrade; suspend the parent first or remove spec.suspend from the child's manifest`,
    ),
  );
  const storage = releaseStorageCheck(input.releaseStorage);
  if (storage) checks.push(storage);
  if (!input.gitRepository)
    checks.push(check("GitSource", false, "the Kustomization's sourceRef is not a GitRepository"));

  // Git: reachable, the file exists, the version path resolves, and the target differs.
  let git: Plan["git"] | undefined;
  if (!input.git.ok) {
    checks.push(check(input.git.check ?? "GitReachable", false, input.git.message));
  } else {
    checks.push(
      check(
        "GitReachable",
        true,
        `${input.git.url} branch ${input.git.branch} at ${input.git.head.slice(0, 12)}`,
      ),
    );
    checks.push(check("GitPush", input.git.canPush.ok, input.git.canPush.message));
    const content = input.git.content;
    if (content === undefined) {
      checks.push(
        check(
          "GitFile",
          false,
          `spec.gitPath: ${app.spec.gitPath} does not exist on branch ${input.git.branch}`,
        ),
      );
    } else if (chart !== undefined && images === undefined) {
      const helmRelease = input.flux.find((f) => f.ref.kind === "HelmRelease")?.object;
      const ociChart = chartOciRepository(helmRelease);
      const versionPath =
        app.spec.versionPolicy.versionPath ??
        (app.spec.helmReleaseRef ? defaultChartVersionPath(helmRelease) : undefined);
      if (versionPath === undefined) {
        checks.push(
          check(
            "VersionPath",
            false,
            "spec.versionPolicy.versionPath is required for an app without spec.helmReleaseRef",
          ),
        );
      } else {
        const current = readValue(content, versionPath);
        const edited = setValue(content, versionPath, chart);
        // The tag of the OCIRepository spec.chartRef names is the chart version helm-controller
        // releases, which AwaitFlux watches for as it does for spec.chart.spec.version.
        const holder = current.ok ? documentIdentity(content, current.document) : undefined;
        const ociChartTag =
          ociChart !== undefined &&
          versionPath === OCI_TAG_VERSION_PATH &&
          holder?.kind === "OCIRepository" &&
          holder.name === ociChart.name;
        const unverifiable =
          app.spec.helmReleaseRef !== undefined &&
          versionPath !== DEFAULT_HELM_VERSION_PATH &&
          !ociChartTag &&
          !(
            versionPath.startsWith("spec.") &&
            (holder ? holder.kind === "HelmRelease" : /^kind:\s*HelmRelease\s*$/m.test(content))
          );
        if (unverifiable) {
          // AwaitFlux knows a change is released by the HelmRelease's own generation or its
          // chart version; a value elsewhere changes nothing it can observe.
          checks.push(
            check(
              "VersionPath",
              false,
              `spec.versionPolicy.versionPath ${versionPath}: ${app.spec.gitPath} is not the HelmRelease's own manifest (or the path is outside its spec)${ociChart ? `, nor OCIRepository ${ociChart.name}'s ${OCI_TAG_VERSION_PATH}` : ""}, so Cairn cannot tell when the change is released; point gitPath and versionPath at the HelmRelease (e.g. spec.chart.spec.version or spec.values.image.tag)${ociChart ? ` or at the OCIRepository its spec.chartRef names (${OCI_TAG_VERSION_PATH})` : ""}`,
            ),
          );
        } else if (!current.ok || !edited.ok) {
          const error = !current.ok ? current.error : !edited.ok ? edited.error : undefined;
          checks.push(
            check(
              "VersionPath",
              false,
              `spec.versionPolicy.versionPath ${versionPath} in ${app.spec.gitPath}: ${error?.message ?? "cannot be edited"}`,
            ),
          );
        } else if (!VERSION_VALUE.test(current.value)) {
          // A range ("~1.2") or a template is no version to record or to roll back to.
          checks.push(
            check(
              "VersionPath",
              false,
              `spec.versionPolicy.versionPath ${versionPath} in ${app.spec.gitPath}: the current value ${JSON.stringify(current.value.slice(0, 140))} is not a version or tag (letters, digits, '_', '.', '+' and '-'); pin the version in Git first`,
            ),
          );
        } else if (current.value === chart) {
          checks.push(
            check(
              "Target",
              false,
              `the target ${chart} equals the current version at ${versionPath}`,
            ),
          );
        } else {
          checks.push(
            check(
              "VersionPath",
              true,
              `${app.spec.gitPath} ${versionPath}: ${current.value} → ${chart}`,
            ),
          );
          // The target exists in the chart's source and is no unasked-for downgrade.
          if (input.chartSource) {
            const verified = verifyChartTarget({
              target: chart,
              current: current.value,
              source: input.chartSource,
              allowDowngrade: request.spec.allowDowngrade,
            });
            for (const v of verified) checks.push(check(v.name, v.passed, v.message));
          }
          git = {
            branch: input.git.branch,
            path: app.spec.gitPath,
            versionPath,
            from: current.value,
            to: chart,
            ...(ociChartTag ? { ociChartTag: true } : {}),
            baseCommit: input.git.head,
            diff: lineDiff(content, edited.content).slice(0, 4096),
            url: input.git.url,
          };
        }
      }
    } else if (images !== undefined && chart === undefined) {
      let edited = content;
      const planned: PlannedImage[] = [];
      const untagged = new Set<string>();
      let failed = false;
      for (const image of images) {
        const tags = readImageTags(edited, image.name);
        if (!tags.ok) {
          checks.push(
            check(
              "Images",
              false,
              `spec.targetVersion.images ${image.name}: ${tags.error.message}`,
            ),
          );
          failed = true;
          continue;
        }
        // A bare container reference (`image: registry/app`) runs `latest`; the plan says so
        // rather than recording an empty version the API would refuse.
        const from = [...new Set(tags.occurrences.map((o) => currentTag(o) ?? ""))].join(",");
        if (tags.occurrences.some((o) => o.tag === undefined && currentTag(o) !== undefined)) {
          untagged.add(image.name);
        }
        const unreadable = from.split(",").find((tag) => !VERSION_VALUE.test(tag));
        if (unreadable !== undefined) {
          checks.push(
            check(
              "Images",
              false,
              `spec.targetVersion.images ${image.name}: the current tag ${JSON.stringify(unreadable.slice(0, 140))} in ${app.spec.gitPath} is not an image tag`,
            ),
          );
          failed = true;
          continue;
        }
        const set = setImageTag(edited, image.name, image.tag);
        if (!set.ok) {
          checks.push(
            check("Images", false, `spec.targetVersion.images ${image.name}: ${set.error.message}`),
          );
          failed = true;
          continue;
        }
        edited = set.content;
        planned.push({ name: image.name, from: from.slice(0, 128), to: image.tag });
      }
      const first = planned[0];
      if (!failed && first && planned.every((p) => p.from === p.to)) {
        checks.push(check("Target", false, "every target image tag equals the current one"));
      } else if (!failed && first) {
        checks.push(
          check(
            "Images",
            true,
            planned
              .map(
                (p) => `${p.name}: ${p.from}${untagged.has(p.name) ? " (untagged)" : ""} → ${p.to}`,
              )
              .join("; "),
          ),
        );
        git = {
          branch: input.git.branch,
          path: app.spec.gitPath,
          versionPath: "images",
          from: first.from.split(",")[0] ?? first.from,
          to: first.to,
          baseCommit: input.git.head,
          diff: lineDiff(content, edited).slice(0, 4096),
          url: input.git.url,
          images: planned,
        };
      }
    } else if (chart !== undefined && images !== undefined) {
      checks.push(
        check(
          "Target",
          false,
          "spec.targetVersion sets both chart and images; one kind of bump per request",
        ),
      );
    } else {
      checks.push(
        check(
          "Target",
          false,
          "spec.targetVersion is not set and the ManagedApp has no status.availableUpdate",
        ),
      );
    }
  }

  // Data: what will be snapshotted, and whether it can be.
  for (const problem of input.discoveryProblems) checks.push(check("Workloads", false, problem));
  for (const missing of input.missingVolumes)
    checks.push(check("Volumes", false, `PVC ${missing} not found`));
  const wantSnapshots = snapshotsWanted(request, app);
  if (wantSnapshots) {
    if (input.volumes.length === 0) {
      checks.push(
        check(
          "Volumes",
          false,
          "spec.volumeSnapshots.enabled is true but no ReadWriteOnce PVC was found for the app; list them in spec.volumeSnapshots.pvcs, or set skipSnapshot on the request",
        ),
      );
    } else if (input.snapshotClass && !input.snapshotClass.ok) {
      checks.push(check("SnapshotClass", false, input.snapshotClass.message));
    } else if (input.snapshotClass) {
      checks.push(check("SnapshotClass", true, input.snapshotClass.message));
    }
  }
  const uid = request.metadata.uid ?? "";
  const volumes = input.volumes.map((pvc) =>
    plannedVolume(pvc, wantSnapshots ? snapshotName(pvc.metadata.name ?? "", uid) : undefined),
  );
  if (volumes.length > 0 || input.workloads.length > 0)
    checks.push(
      check(
        "Volumes",
        true,
        `${volumes.length} PVC(s), ${input.workloads.length} workload(s) to stop`,
      ),
    );

  const plan: Plan | undefined = git
    ? {
        git,
        flux: input.flux.map((f) => f.ref),
        volumes,
        workloads: [...input.workloads],
        ...(input.gitRepository ? { source: input.gitRepository } : {}),
        ...(wantSnapshots && input.snapshotClass?.ok && input.snapshotClass.name
          ? { volumeSnapshotClassName: input.snapshotClass.name }
          : {}),
        ...(wantSnapshots && volumes.length > 0 && app.spec.volumeSnapshots.runWhileUploading
          ? { runWhileUploading: true }
          : {}),
      }
    : undefined;
  return { plan, checks, settling };
}

export function failedChecks(checks: readonly PreflightCheck[]): PreflightCheck[] {
  return checks.filter((c) => !c.passed);
}
