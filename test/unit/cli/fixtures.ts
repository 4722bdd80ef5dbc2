// Parsed Cairn objects for the plugin's unit tests, built through the API's schemas so defaults
// are filled as they are for objects read from the cluster.
import { API_VERSION, Kind, Label } from "../../../src/api/group.ts";
import { ManagedApp } from "../../../src/api/managedapp.ts";
import type { RequestStatus } from "../../../src/api/request-status.ts";
import { RollbackRequest } from "../../../src/api/rollbackrequest.ts";
import { UpgradeRequest } from "../../../src/api/upgraderequest.ts";

export const NS = "shop";

export function condition(
  type: string,
  status: "True" | "False" | "Unknown",
  reason: string,
  message = "",
) {
  return { type, status, reason, message, lastTransitionTime: "2026-01-01T00:00:00Z" };
}

export const complete = (status: "True" | "False", reason: string, message = "") =>
  condition("Complete", status, reason, message);

export function app(
  name: string,
  spec: Record<string, unknown> = {},
  status?: Record<string, unknown>,
): ManagedApp {
  return ManagedApp.parse({
    apiVersion: API_VERSION,
    kind: Kind.ManagedApp,
    metadata: { name, namespace: NS },
    spec: {
      gitPath: `apps/${name}/release.yaml`,
      kustomizationRef: { name: "apps", namespace: "flux-system" },
      ...spec,
    },
    ...(status ? { status } : {}),
  });
}

export function upgrade(
  name: string,
  opts: {
    app?: string;
    created?: string;
    spec?: Record<string, unknown>;
    status?: RequestStatus;
  } = {},
): UpgradeRequest {
  return UpgradeRequest.parse({
    apiVersion: API_VERSION,
    kind: Kind.UpgradeRequest,
    metadata: {
      name,
      namespace: NS,
      creationTimestamp: opts.created ?? "2026-01-01T00:00:00Z",
    },
    spec: {
      managedAppRef: { name: opts.app ?? "web" },
      targetVersion: { chart: "2.0.0" },
      ...opts.spec,
    },
    ...(opts.status ? { status: opts.status } : {}),
  });
}

export function rollback(
  name: string,
  opts: {
    upgrade: string;
    app?: string;
    created?: string;
    spec?: Record<string, unknown>;
    status?: RequestStatus;
  },
): RollbackRequest {
  return RollbackRequest.parse({
    apiVersion: API_VERSION,
    kind: Kind.RollbackRequest,
    metadata: {
      name,
      namespace: NS,
      creationTimestamp: opts.created ?? "2026-01-01T00:00:00Z",
      ...(opts.app ? { labels: { [Label.ManagedApp]: opts.app } } : {}),
    },
    spec: { upgradeRequestRef: { name: opts.upgrade }, ...opts.spec },
    ...(opts.status ? { status: opts.status } : {}),
  });
}

export function plan(
  overrides: Partial<NonNullable<RequestStatus["plan"]>> = {},
): NonNullable<RequestStatus["plan"]> {
  return {
    git: {
      branch: "main",
      path: "apps/web/release.yaml",
      versionPath: "spec.chart.spec.version",
      from: "1.0.0",
      to: "2.0.0",
      url: "https://git.example/fleet.git",
      diff: "-      version: 1.0.0\n+      version: 2.0.0",
    },
    flux: [
      { kind: "Kustomization", namespace: "flux-system", name: "apps" },
      { kind: "HelmRelease", namespace: NS, name: "web" },
    ],
    volumes: [
      {
        namespace: NS,
        name: "data-web-0",
        size: "1Gi",
        storageClassName: "fast",
        snapshot: "data-web-0-snap",
      },
    ],
    workloads: [{ kind: "StatefulSet", namespace: NS, name: "web", replicas: 1 }],
    ...overrides,
  };
}
