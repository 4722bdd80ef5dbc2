// Invalid objects, each the valid example of its kind (crds/examples) with one field broken.
// The unit tests prove zod rejects every one; the integration tests prove the API server does,
// and that both name the same field.
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import type { Kind } from "../../../src/api/group.ts";

export const EXAMPLE_FILES = {
  ManagedApp: "managedapp.yaml",
  UpgradeRequest: "upgraderequest.yaml",
  RollbackRequest: "rollbackrequest.yaml",
} as const satisfies Record<Kind, string>;

export const REPO_ROOT = new URL("../../../", import.meta.url);

export type PlainObject = Record<string, unknown>;

function isPlainObject(value: unknown): value is PlainObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The example of a kind, freshly parsed (callers may change it). */
export function loadExample(kind: Kind): PlainObject {
  const text = readFileSync(new URL(`crds/examples/${EXAMPLE_FILES[kind]}`, REPO_ROOT), "utf8");
  const doc: unknown = parse(text);
  if (!isPlainObject(doc)) throw new Error(`crds/examples/${EXAMPLE_FILES[kind]} is not an object`);
  return doc;
}

/**
 * A copy of obj with the value at a dotted path ("spec.targetVersion.images.0.tag") replaced;
 * undefined removes the field. Missing objects on the way are created.
 */
export function withValue(obj: PlainObject, path: string, value: unknown): PlainObject {
  const copy = structuredClone(obj);
  const keys = path.split(".");
  const last = keys.pop();
  if (last === undefined) throw new Error("empty path");
  let node: PlainObject | unknown[] = copy;
  for (const key of keys) {
    const next: unknown = Array.isArray(node) ? node[Number(key)] : node[key];
    if (isPlainObject(next) || Array.isArray(next)) {
      node = next;
    } else {
      const created: PlainObject = {};
      if (Array.isArray(node)) node[Number(key)] = created;
      else node[key] = created;
      node = created;
    }
  }
  if (Array.isArray(node)) node[Number(last)] = value;
  else if (value === undefined) Reflect.deleteProperty(node, last);
  else node[last] = value;
  return copy;
}

export interface InvalidCase {
  readonly what: string;
  readonly kind: Kind;
  /** Dotted path of the field to change (array indices as numbers). */
  readonly set: string;
  /** The new value; undefined removes the field. */
  readonly value: unknown;
  /** The field the rejection must name, as both the API server and describeZodError write it. */
  readonly field: string;
}

const image = (name: string, tag: string) => ({ name, tag });

export const INVALID_CASES: readonly InvalidCase[] = [
  // ManagedApp
  {
    what: "missing gitPath",
    kind: "ManagedApp",
    set: "spec.gitPath",
    value: undefined,
    field: "spec.gitPath",
  },
  {
    what: "gitPath climbing out of the repository",
    kind: "ManagedApp",
    set: "spec.gitPath",
    value: "apps/../../etc/passwd",
    field: "spec.gitPath",
  },
  {
    what: "absolute gitPath",
    kind: "ManagedApp",
    set: "spec.gitPath",
    value: "/apps/podinfo.yaml",
    field: "spec.gitPath",
  },
  {
    what: "gitPath naming a folder (trailing '/')",
    kind: "ManagedApp",
    set: "spec.gitPath",
    value: "apps/podinfo/",
    field: "spec.gitPath",
  },
  {
    what: "gitPath with a '.' segment",
    kind: "ManagedApp",
    set: "spec.gitPath",
    value: "./apps/podinfo.yaml",
    field: "spec.gitPath",
  },
  {
    what: "gitPath with an empty segment",
    kind: "ManagedApp",
    set: "spec.gitPath",
    value: "apps//podinfo.yaml",
    field: "spec.gitPath",
  },
  {
    what: "missing kustomizationRef",
    kind: "ManagedApp",
    set: "spec.kustomizationRef",
    value: undefined,
    field: "spec.kustomizationRef",
  },
  {
    what: "missing kustomizationRef.name",
    kind: "ManagedApp",
    set: "spec.kustomizationRef",
    value: { namespace: "flux-system" },
    field: "spec.kustomizationRef.name",
  },
  {
    what: "kustomizationRef.name not a DNS subdomain",
    kind: "ManagedApp",
    set: "spec.kustomizationRef.name",
    value: "Apps_1",
    field: "spec.kustomizationRef.name",
  },
  {
    what: "kustomizationRef.namespace not a DNS label",
    kind: "ManagedApp",
    set: "spec.kustomizationRef.namespace",
    value: "flux.system",
    field: "spec.kustomizationRef.namespace",
  },
  {
    what: "helmReleaseRef.name too long",
    kind: "ManagedApp",
    set: "spec.helmReleaseRef.name",
    value: "a".repeat(254),
    field: "spec.helmReleaseRef.name",
  },
  {
    what: "versionPolicy.image on an app with a helmReleaseRef (versioned by its chart)",
    kind: "ManagedApp",
    set: "spec.versionPolicy.image",
    value: { name: "ghcr.io/org/app" },
    field: "spec",
  },
  {
    what: "versionPolicy.image.name with a tag",
    kind: "ManagedApp",
    set: "spec.versionPolicy.image.name",
    value: "ghcr.io/org/app:1.0.0",
    field: "spec.versionPolicy.image.name",
  },
  {
    what: "negative maxCount",
    kind: "ManagedApp",
    set: "spec.volumeSnapshots.retentionPolicy.maxCount",
    value: -1,
    field: "spec.volumeSnapshots.retentionPolicy.maxCount",
  },
  {
    what: "fractional maxCount",
    kind: "ManagedApp",
    set: "spec.volumeSnapshots.retentionPolicy.maxCount",
    value: 2.5,
    field: "spec.volumeSnapshots.retentionPolicy.maxCount",
  },
  {
    what: "requestHistory.maxCount 0 (the newest real request is always kept)",
    kind: "ManagedApp",
    set: "spec.requestHistory.maxCount",
    value: 0,
    field: "spec.requestHistory.maxCount",
  },
  {
    what: "requestHistory.maxDryRunCount above 1000",
    kind: "ManagedApp",
    set: "spec.requestHistory.maxDryRunCount",
    value: 1001,
    field: "spec.requestHistory.maxDryRunCount",
  },
  {
    what: "PVC name not a DNS subdomain",
    kind: "ManagedApp",
    set: "spec.volumeSnapshots.pvcs.0.name",
    value: "Data",
    field: "spec.volumeSnapshots.pvcs[0].name",
  },
  {
    what: "too many PVCs",
    kind: "ManagedApp",
    set: "spec.volumeSnapshots.pvcs",
    value: Array.from({ length: 65 }, (_, i) => ({ name: `data-${i}` })),
    field: "spec.volumeSnapshots.pvcs",
  },
  {
    what: "versionPolicy.prereleases not a boolean",
    kind: "ManagedApp",
    set: "spec.versionPolicy.prereleases",
    value: "yes",
    field: "spec.versionPolicy.prereleases",
  },
  {
    what: "versionPolicy.checkInterval below 30s",
    kind: "ManagedApp",
    set: "spec.versionPolicy.checkInterval",
    value: "5s",
    field: "spec.versionPolicy.checkInterval",
  },
  {
    what: "healthCheck.timeout not a duration",
    kind: "ManagedApp",
    set: "spec.healthCheck.timeout",
    value: "5 minutes",
    field: "spec.healthCheck.timeout",
  },
  {
    what: "timeouts.snapshot without a unit",
    kind: "ManagedApp",
    set: "spec.timeouts.snapshot",
    value: "30",
    field: "spec.timeouts.snapshot",
  },
  {
    what: "negative timeouts.fluxApply",
    kind: "ManagedApp",
    set: "spec.timeouts.fluxApply",
    value: "-5m",
    field: "spec.timeouts.fluxApply",
  },
  {
    what: "timeouts.commit too large for any date (9999999999h)",
    kind: "ManagedApp",
    set: "spec.timeouts.commit",
    value: "9999999999h",
    field: "spec.timeouts.commit",
  },
  {
    what: "timeouts.volumeRestore longer than 168h",
    kind: "ManagedApp",
    set: "spec.timeouts.volumeRestore",
    value: "168h1s",
    field: "spec.timeouts.volumeRestore",
  },
  {
    what: "timeouts.approval longer than 168h",
    kind: "ManagedApp",
    set: "spec.timeouts.approval",
    value: "169h",
    field: "spec.timeouts.approval",
  },
  {
    what: "an autoUpdate level that does not exist",
    kind: "ManagedApp",
    set: "spec.versionPolicy.autoUpdate",
    value: "minor-ish",
    field: "spec.versionPolicy.autoUpdate",
  },
  {
    what: "a maintenance window on a day that does not exist",
    kind: "ManagedApp",
    set: "spec.versionPolicy.maintenanceWindows",
    value: [{ days: ["Funday"], start: "02:00", duration: "2h" }],
    field: "spec.versionPolicy.maintenanceWindows[0].days[0]",
  },
  {
    what: "a maintenance window starting at 25:00",
    kind: "ManagedApp",
    set: "spec.versionPolicy.maintenanceWindows",
    value: [{ days: ["Mon"], start: "25:00", duration: "2h" }],
    field: "spec.versionPolicy.maintenanceWindows[0].start",
  },
  {
    what: "a maintenance window longer than a day",
    kind: "ManagedApp",
    set: "spec.versionPolicy.maintenanceWindows",
    value: [{ days: ["Mon"], start: "02:00", duration: "25h" }],
    field: "spec.versionPolicy.maintenanceWindows[0].duration",
  },
  {
    what: "an approval mode that does not exist",
    kind: "ManagedApp",
    set: "spec.approval",
    value: "Sometimes",
    field: "spec.approval",
  },
  {
    what: "a request that tries to waive approval",
    kind: "UpgradeRequest",
    set: "spec.approval",
    value: "Automatic",
    field: "spec.approval",
  },
  {
    what: "timeouts.suspend of zero",
    kind: "ManagedApp",
    set: "spec.timeouts.suspend",
    value: "0s",
    field: "spec.timeouts.suspend",
  },
  {
    what: "healthCheck.timeout shorter than 1s",
    kind: "ManagedApp",
    set: "spec.healthCheck.timeout",
    value: "999ms",
    field: "spec.healthCheck.timeout",
  },
  {
    what: "suspendRef.kind outside Kustomization|HelmRelease",
    kind: "ManagedApp",
    set: "spec.suspendRef",
    value: { kind: "GitRepository", name: "apps" },
    field: "spec.suspendRef.kind",
  },
  {
    what: "git.url with a file:// scheme",
    kind: "ManagedApp",
    set: "spec.git.url",
    value: "file:///srv/git/apps.git",
    field: "spec.git.url",
  },
  {
    what: "git.url in scp-like form",
    kind: "ManagedApp",
    set: "spec.git.url",
    value: "git@github.com:org/apps.git",
    field: "spec.git.url",
  },
  {
    what: "git.branch that reads as an option",
    kind: "ManagedApp",
    set: "spec.git.branch",
    value: "--upload-pack=evil",
    field: "spec.git.branch",
  },
  {
    what: "ManagedApp name not a DNS label",
    kind: "ManagedApp",
    set: "metadata.name",
    value: "pod.info",
    field: "metadata.name",
  },
  // UpgradeRequest
  {
    what: "missing managedAppRef",
    kind: "UpgradeRequest",
    set: "spec.managedAppRef",
    value: undefined,
    field: "spec.managedAppRef",
  },
  {
    what: "managedAppRef.name not a DNS label",
    kind: "UpgradeRequest",
    set: "spec.managedAppRef.name",
    value: "my.app",
    field: "spec.managedAppRef.name",
  },
  {
    what: "chart version that is not SemVer",
    kind: "UpgradeRequest",
    set: "spec.targetVersion.chart",
    value: "latest",
    field: "spec.targetVersion.chart",
  },
  {
    what: "chart version with four parts",
    kind: "UpgradeRequest",
    set: "spec.targetVersion.chart",
    value: "1.2.3.4",
    field: "spec.targetVersion.chart",
  },
  {
    what: "image tag starting with '.'",
    kind: "UpgradeRequest",
    set: "spec.targetVersion.images",
    value: [image("ghcr.io/org/app", ".hidden")],
    field: "spec.targetVersion.images[0].tag",
  },
  {
    what: "image tag of 129 characters",
    kind: "UpgradeRequest",
    set: "spec.targetVersion.images",
    value: [image("ghcr.io/org/app", "a".repeat(129))],
    field: "spec.targetVersion.images[0].tag",
  },
  {
    what: "image name with upper case",
    kind: "UpgradeRequest",
    set: "spec.targetVersion.images",
    value: [image("GHCR.io/Org/App", "1.0")],
    field: "spec.targetVersion.images[0].name",
  },
  {
    what: "the same image twice",
    kind: "UpgradeRequest",
    set: "spec.targetVersion.images",
    value: [image("ghcr.io/org/app", "1.0"), image("ghcr.io/org/app", "1.1")],
    field: "spec.targetVersion.images[1]",
  },
  {
    what: "targetVersion with neither chart nor images",
    kind: "UpgradeRequest",
    set: "spec.targetVersion",
    value: {},
    field: "spec.targetVersion",
  },
  {
    what: "targetVersion with an empty image list",
    kind: "UpgradeRequest",
    set: "spec.targetVersion",
    value: { images: [] },
    field: "spec.targetVersion",
  },
  {
    what: "dryRun that is not a boolean",
    kind: "UpgradeRequest",
    set: "spec.dryRun",
    value: "yes",
    field: "spec.dryRun",
  },
  // RollbackRequest
  { what: "missing spec", kind: "RollbackRequest", set: "spec", value: undefined, field: "spec" },
  {
    what: "empty upgradeRequestRef",
    kind: "RollbackRequest",
    set: "spec.upgradeRequestRef",
    value: {},
    field: "spec.upgradeRequestRef.name",
  },
  {
    what: "upgradeRequestRef.name not a DNS label",
    kind: "RollbackRequest",
    set: "spec.upgradeRequestRef.name",
    value: "Upgrade-1",
    field: "spec.upgradeRequestRef.name",
  },
];

export function invalidObject(c: InvalidCase): PlainObject {
  return withValue(loadExample(c.kind), c.set, c.value);
}
