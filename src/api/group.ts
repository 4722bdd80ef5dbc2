// The API group, version and kind names of Cairn's custom resources (crds/cairn.dev_*.yaml).

export const GROUP = "cairn.dev";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;

/** The category every Cairn CRD belongs to: `kubectl get cairn` lists them all. */
export const CATEGORY = "cairn";

export const Kind = {
  ManagedApp: "ManagedApp",
  UpgradeRequest: "UpgradeRequest",
  RollbackRequest: "RollbackRequest",
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

/** Plural resource names, as they appear in URLs, RBAC rules and CRD names. */
export const Plural = {
  ManagedApp: "managedapps",
  UpgradeRequest: "upgraderequests",
  RollbackRequest: "rollbackrequests",
} as const satisfies Record<Kind, string>;

/** The name of a kind's CustomResourceDefinition, e.g. "managedapps.cairn.dev". */
export function crdName(kind: Kind): string {
  return `${Plural[kind]}.${GROUP}`;
}
