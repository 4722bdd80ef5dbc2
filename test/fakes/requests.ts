// Objects and step dependencies for unit tests of the request step handlers: a ManagedApp, its
// Flux objects and requests as the API would hold them (seeded into a FakeObjectApi), and the
// StepDeps the builder would hand a step, over the fake API and a World that reads its store.
import {
  API_VERSION,
  Kind,
  Label,
  ManagedApp,
  RollbackRequest,
  UpgradeRequest,
  type Plan,
  type RequestStatus,
} from "../../src/api/index.ts";
import { CommitAncestry } from "../../src/controllers/request/commit-ancestry.ts";
import { LockVersions } from "../../src/controllers/request/lock.ts";
import type { StepDeps } from "../../src/controllers/request/step-deps.ts";
import { FLUX_API } from "../../src/controllers/request/flux.ts";
import type { KubeObject } from "../../src/kube/client.ts";
import type { EventRegarding } from "../../src/runtime/events.ts";
import type { FakeObjectApi } from "./object-api.ts";
import { fakeWorld } from "./world.ts";

export const NS = "shop";

export function seedApp(api: FakeObjectApi, spec: Record<string, unknown> = {}): ManagedApp {
  const stored = api.seed({
    apiVersion: API_VERSION,
    kind: Kind.ManagedApp,
    metadata: { name: "db", namespace: NS },
    spec: {
      gitPath: "apps/db/release.yaml",
      kustomizationRef: { name: "apps" },
      helmReleaseRef: { name: "db" },
      ...spec,
    },
  });
  return ManagedApp.parse(stored);
}

export function seedFlux(
  api: FakeObjectApi,
  kind: "Kustomization" | "HelmRelease" | "GitRepository",
  name: string,
  extra: { suspend?: boolean; labels?: Record<string, string>; status?: unknown } = {},
): KubeObject {
  return api.seed({
    apiVersion: FLUX_API[kind],
    kind,
    metadata: { name, namespace: NS, ...(extra.labels ? { labels: extra.labels } : {}) },
    spec: { interval: "10m", ...(extra.suspend !== undefined ? { suspend: extra.suspend } : {}) },
    ...(extra.status !== undefined ? { status: extra.status } : {}),
  });
}

export function seedWorkload(
  api: FakeObjectApi,
  kind: "Deployment" | "StatefulSet",
  name: string,
  replicas: number,
): KubeObject {
  return api.seed({
    apiVersion: "apps/v1",
    kind,
    metadata: { name, namespace: NS },
    spec: { replicas },
  });
}

export function seedUpgrade(
  api: FakeObjectApi,
  name = "up-1",
  spec: Record<string, unknown> = {},
  status?: Record<string, unknown>,
): UpgradeRequest {
  return UpgradeRequest.parse(
    api.seed({
      apiVersion: API_VERSION,
      kind: Kind.UpgradeRequest,
      metadata: { name, namespace: NS },
      spec: { managedAppRef: { name: "db" }, targetVersion: { chart: "1.1.0" }, ...spec },
      ...(status ? { status } : {}),
    }),
  );
}

export function seedRollback(
  api: FakeObjectApi,
  name = "up-1-rollback",
  upgrade = "up-1",
  labels: Record<string, string> = {},
): RollbackRequest {
  return RollbackRequest.parse(
    api.seed({
      apiVersion: API_VERSION,
      kind: Kind.RollbackRequest,
      metadata: { name, namespace: NS, labels },
      spec: { upgradeRequestRef: { name: upgrade } },
    }),
  );
}

/** A chart bump of the app's HelmRelease, with the Flux objects and volumes given. */
export function planWith(extra: Partial<Plan> = {}): Plan {
  return {
    git: {
      branch: "main",
      path: "apps/db/release.yaml",
      versionPath: "spec.chart.spec.version",
      from: "1.0.0",
      to: "1.1.0",
    },
    flux: [
      { kind: "Kustomization", namespace: NS, name: "apps" },
      { kind: "HelmRelease", namespace: NS, name: "db" },
    ],
    volumes: [],
    workloads: [],
    ...extra,
  };
}

export interface RecordedEvent {
  readonly regarding: EventRegarding;
  readonly type: string;
  readonly reason: string;
  readonly note: string;
}

/**
 * StepDeps over the fake API, as build-module.ts makes them. `appName` says which app a request
 * belongs to (the upgrade's managedAppRef, the rollback's label); `repoFor` fails unless given.
 */
export function testStepDeps<R extends UpgradeRequest | RollbackRequest>(
  api: FakeObjectApi,
  overrides: Partial<StepDeps<R>> = {},
): StepDeps<R> & { readonly recorded: RecordedEvent[] } {
  const world = fakeWorld(api);
  const recorded: RecordedEvent[] = [];
  const appNameOf = (r: R) =>
    r.kind === Kind.UpgradeRequest
      ? r.spec.managedAppRef.name
      : r.metadata.labels?.[Label.ManagedApp];
  const appOf: StepDeps<R>["appOf"] = (ctx) => {
    const name = appNameOf(ctx.request);
    return name ? world.app(ctx.request.metadata.namespace ?? "", name) : undefined;
  };
  return {
    client: api,
    world,
    events: {
      record: (regarding, type, reason, _action, note) => {
        recorded.push({ regarding, type, reason, note });
        return Promise.resolve();
      },
    },
    config: {
      allowCrossNamespaceRefs: false,
      workers: 1,
      gitCacheDir: "/nonexistent",
      gitAuthorName: "Cairn",
      gitAuthorEmail: "cairn@example.invalid",
      watchLabelSelector: undefined,
    },
    gitAccess: { client: api, cacheDir: "/nonexistent", allowCrossNamespaceRefs: false },
    author: { name: "Cairn", email: "cairn@example.invalid" },
    ancestry: new CommitAncestry(),
    locks: new LockVersions(),
    appNameOf,
    appOf,
    requireApp: (ctx) => {
      const app = appOf(ctx);
      if (!app) throw new Error("ManagedApp not found");
      return app;
    },
    repoFor: () => Promise.reject(new Error("no Git in this test")),
    me: (ctx) => ({
      kind: ctx.request.kind,
      name: ctx.request.metadata.name,
      uid: ctx.request.metadata.uid ?? "",
    }),
    regarding: () => ({
      apiVersion: API_VERSION,
      kind: Kind.ManagedApp,
      namespace: NS,
      name: "db",
    }),
    recorded,
    ...overrides,
  };
}

/** A request condition as the runner writes it. */
export function condition(
  type: string,
  status: "True" | "False" | "Unknown",
  reason = "Succeeded",
  message = "",
): NonNullable<RequestStatus["conditions"]>[number] {
  return { type, status, reason, message, lastTransitionTime: "2026-01-01T00:00:00Z" };
}
