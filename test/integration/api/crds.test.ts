// Cairn's CRDs on a real API server: they apply (CEL cost estimation included) and become
// Established, the examples are accepted, the server fills the same defaults as the zod schemas,
// every object of the invalid table is rejected with a message naming the field, request specs
// are immutable, and status moves only through the status subresource.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { z } from "zod";
import { parseWithMessage } from "../../../src/api/errors.ts";
import { IMMUTABLE_SPEC_MESSAGE } from "../../../src/api/fields.ts";
import {
  API_VERSION,
  CATEGORY,
  crdName,
  GROUP,
  Kind,
  Plural,
  VERSION,
} from "../../../src/api/group.ts";
import { ManagedApp, ManagedAppSpec } from "../../../src/api/managedapp.ts";
import { RollbackRequest, RollbackRequestSpec } from "../../../src/api/rollbackrequest.ts";
import { UpgradeRequest, UpgradeRequestSpec } from "../../../src/api/upgraderequest.ts";
import type { KubeClient, KubeObject, ObjectRef } from "../../../src/kube/client.ts";
import { isKubeError, KubeError } from "../../../src/kube/errors.ts";
import {
  createTestNamespace,
  deleteNamespace,
  eventually,
  testClient,
} from "../../support/kube.ts";
import {
  INVALID_CASES,
  loadExample,
  REPO_ROOT,
  withValue,
  type PlainObject,
} from "../../unit/api/invalid-objects.ts";

const CRD_API = "apiextensions.k8s.io/v1";

const CrdFile = z.object({
  apiVersion: z.literal(CRD_API),
  kind: z.literal("CustomResourceDefinition"),
  metadata: z.object({ name: z.string() }),
  spec: z.record(z.string(), z.unknown()),
});

const CrdStatus = z.object({
  spec: z.object({
    names: z.object({ shortNames: z.array(z.string()), categories: z.array(z.string()) }),
    versions: z.array(z.object({ name: z.string(), served: z.boolean(), storage: z.boolean() })),
  }),
  status: z
    .object({ conditions: z.array(z.object({ type: z.string(), status: z.string() })).optional() })
    .optional(),
});

const ALL_KINDS = Object.values(Kind);

function isTrue(crd: z.infer<typeof CrdStatus>, type: string): boolean {
  return crd.status?.conditions?.some((c) => c.type === type && c.status === "True") ?? false;
}

/**
 * Creates the CRDs from crds/, or replaces the spec of ones that exist (another test file may
 * have raced us, or the cluster is reused), then waits until each is Established. Still correct
 * once the test harness installs crds/ itself.
 */
async function installCrds(client: KubeClient): Promise<void> {
  for (const kind of ALL_KINDS) {
    const file = new URL(`crds/${GROUP}_${Plural[kind]}.yaml`, REPO_ROOT);
    const crd = CrdFile.parse(parse(readFileSync(file, "utf8")));
    try {
      await client.create(crd);
    } catch (err) {
      if (!isKubeError(err, "AlreadyExists")) throw err;
      await client.jsonPatch(
        { apiVersion: CRD_API, kind: "CustomResourceDefinition", name: crd.metadata.name },
        [{ op: "replace", path: "/spec", value: crd.spec }],
      );
    }
  }
  await eventually("the Cairn CRDs to be Established", async () => {
    for (const kind of ALL_KINDS) {
      const crd = CrdStatus.parse(await getCrd(client, kind));
      if (!isTrue(crd, "Established") || !isTrue(crd, "NamesAccepted")) return undefined;
    }
    return true;
  });
}

function getCrd(client: KubeClient, kind: Kind): Promise<KubeObject> {
  return client.get({ apiVersion: CRD_API, kind: "CustomResourceDefinition", name: crdName(kind) });
}

const SCHEMAS = {
  ManagedApp: { object: ManagedApp, spec: ManagedAppSpec },
  UpgradeRequest: { object: UpgradeRequest, spec: UpgradeRequestSpec },
  RollbackRequest: { object: RollbackRequest, spec: RollbackRequestSpec },
} as const;

const MINIMAL_SPECS: Record<Kind, PlainObject> = {
  ManagedApp: { gitPath: "apps/minimal/release.yaml", kustomizationRef: { name: "apps" } },
  UpgradeRequest: { managedAppRef: { name: "minimal" } },
  RollbackRequest: { upgradeRequestRef: { name: "minimal-upgrade" } },
};

let client: KubeClient;
let namespace: string;

beforeAll(async () => {
  client = testClient();
  await installCrds(client);
  namespace = await createTestNamespace(client, "api-crds");
});

afterAll(async () => {
  if (namespace) await deleteNamespace(client, namespace);
});

function ref(kind: Kind, name: string): ObjectRef {
  return { apiVersion: API_VERSION, kind, namespace, name };
}

const Metadata = z.looseObject({ name: z.string().optional(), namespace: z.string().optional() });

function asKubeObject(kind: Kind, obj: PlainObject): KubeObject {
  return { ...obj, apiVersion: API_VERSION, kind, metadata: Metadata.parse(obj["metadata"] ?? {}) };
}

/** The object as sent: name and namespace set, everything else as given. */
function object(kind: Kind, name: string, base: PlainObject): KubeObject {
  return asKubeObject(
    kind,
    withValue(withValue(base, "metadata.name", name), "metadata.namespace", namespace),
  );
}

async function rejection(action: Promise<unknown>): Promise<KubeError> {
  try {
    await action;
  } catch (err) {
    if (err instanceof KubeError) return err;
    throw err;
  }
  throw new Error("the API server accepted the object");
}

function specOf(obj: KubeObject): unknown {
  return obj["spec"];
}

describe("the CRDs", () => {
  it.each(ALL_KINDS)(
    "%s is Established, served and stored as %s, in category cairn",
    async (kind) => {
      const crd = CrdStatus.parse(await getCrd(client, kind));
      expect(isTrue(crd, "Established")).toBe(true);
      expect(isTrue(crd, "NamesAccepted")).toBe(true);
      expect(crd.spec.versions).toEqual([{ name: VERSION, served: true, storage: true }]);
      expect(crd.spec.names.categories).toEqual([CATEGORY]);
      expect(crd.spec.names.shortNames).toHaveLength(1);
    },
  );
});

describe("valid objects", () => {
  it.each(ALL_KINDS)("the %s example is accepted and reads back as zod parses it", async (kind) => {
    const example = loadExample(kind);
    const name = `example-${kind.toLowerCase()}`;
    const created = await client.create(object(kind, name, example));
    const parsed = parseWithMessage(SCHEMAS[kind].object, created);
    expect(parsed.success ? "" : parsed.message).toBe("");
    // What the server stored, defaults included, is what zod makes of the example.
    expect(specOf(created)).toEqual(SCHEMAS[kind].spec.parse(example["spec"]));
    const read = await client.get(ref(kind, name));
    expect(specOf(read)).toEqual(specOf(created));
  });

  it.each(ALL_KINDS)(
    "the API server fills a minimal %s with the same defaults as zod",
    async (kind) => {
      const name = `minimal-${kind.toLowerCase()}`;
      const created = await client.create(object(kind, name, { spec: MINIMAL_SPECS[kind] }));
      expect(specOf(created)).toEqual(SCHEMAS[kind].spec.parse(MINIMAL_SPECS[kind]));
    },
  );

  it("the defaults are the documented ones", async () => {
    const app = await client.get(ref("ManagedApp", "minimal-managedapp"));
    expect(specOf(app)).toMatchObject({
      volumeSnapshots: { enabled: false, retentionPolicy: { maxCount: 3 } },
      versionPolicy: { prereleases: false },
      healthCheck: { timeout: "5m" },
      requestHistory: { maxCount: 10, maxDryRunCount: 3 },
      autoRollback: false,
    });
    const upgrade = await client.get(ref("UpgradeRequest", "minimal-upgraderequest"));
    expect(specOf(upgrade)).toMatchObject({ skipSnapshot: false, dryRun: false });
    const rollback = await client.get(ref("RollbackRequest", "minimal-rollbackrequest"));
    expect(specOf(rollback)).toMatchObject({ autoTriggered: false, dryRun: false });
  });

  it("a suspendRef without kind gets Kustomization; maxCount 0 stays 0", async () => {
    const spec = {
      ...MINIMAL_SPECS.ManagedApp,
      suspendRef: { name: "root", namespace: "flux-system" },
      volumeSnapshots: { enabled: true, retentionPolicy: { maxCount: 0 } },
    };
    const created = await client.create(object("ManagedApp", "suspend-default", { spec }));
    expect(specOf(created)).toMatchObject({
      suspendRef: { kind: "Kustomization", name: "root", namespace: "flux-system" },
      volumeSnapshots: { enabled: true, retentionPolicy: { maxCount: 0 } },
    });
  });
});

describe("invalid objects are rejected with a message naming the field", () => {
  it("there are at least 15", () => {
    expect(INVALID_CASES.length).toBeGreaterThanOrEqual(15);
  });

  it.each(INVALID_CASES.map((c, i) => [c.what, c, i] as const))("%s", async (_, c, i) => {
    // The name is set first, so a case about metadata.name still overrides it.
    const base = withValue(loadExample(c.kind), "metadata.name", `invalid-${i}`);
    const obj = withValue(withValue(base, "metadata.namespace", namespace), c.set, c.value);
    const err = await rejection(client.create(asKubeObject(c.kind, obj)));
    expect(err.code).toBe("Invalid");
    expect(err.message).toContain(`${c.field}:`);
  });
});

describe("request specs are immutable", () => {
  it("a changed UpgradeRequest spec is rejected; metadata and status still change", async () => {
    await client.create(object("UpgradeRequest", "immutable", loadExample("UpgradeRequest")));
    const target = ref("UpgradeRequest", "immutable");
    for (const spec of [
      { dryRun: true },
      { targetVersion: { chart: "6.8.0" } },
      { managedAppRef: { name: "other" } },
    ]) {
      const err = await rejection(client.mergePatch(target, { spec }));
      expect(err.code).toBe("Invalid");
      expect(err.message).toContain(`spec: Invalid value`);
      expect(err.message).toContain(IMMUTABLE_SPEC_MESSAGE);
    }
    const labelled = await client.mergePatch(target, { metadata: { labels: { team: "shop" } } });
    expect(labelled.metadata.labels).toEqual({ team: "shop" });
    expect(labelled.metadata.generation).toBe(1);
    const withStatus = await client.patchStatus(target, { status: { phase: "Planning" } });
    expect(withStatus["status"]).toEqual({ phase: "Planning" });
  });

  it("a changed RollbackRequest spec is rejected", async () => {
    await client.create(object("RollbackRequest", "immutable", loadExample("RollbackRequest")));
    const err = await rejection(
      client.mergePatch(ref("RollbackRequest", "immutable"), {
        spec: { upgradeRequestRef: { name: "another-upgrade" } },
      }),
    );
    expect(err.code).toBe("Invalid");
    expect(err.message).toContain(`spec: Invalid value`);
    expect(err.message).toContain(IMMUTABLE_SPEC_MESSAGE);
  });

  it("a ManagedApp spec may change, and is validated when it does", async () => {
    await client.create(object("ManagedApp", "mutable", loadExample("ManagedApp")));
    const target = ref("ManagedApp", "mutable");
    const changed = await client.mergePatch(target, {
      spec: { volumeSnapshots: { retentionPolicy: { maxCount: 7 } } },
    });
    expect(specOf(changed)).toMatchObject({
      volumeSnapshots: { retentionPolicy: { maxCount: 7 } },
    });
    expect(changed.metadata.generation).toBe(2);
    const err = await rejection(
      client.mergePatch(target, { spec: { timeouts: { volumeRestore: "forever" } } }),
    );
    expect(err.code).toBe("Invalid");
    expect(err.message).toContain("spec.timeouts.volumeRestore:");
  });
});

describe("status goes through the status subresource only", () => {
  const now = "2025-03-01T10:00:00Z";
  // Built when a test runs: the namespace exists only after beforeAll.
  const validStatus = () => ({
    phase: "Planning",
    observedGeneration: 1,
    startedAt: now,
    step: { name: "Plan", startedAt: now, deadline: "2025-03-01T10:02:00Z" },
    conditions: [
      {
        type: "Planned",
        status: "Unknown",
        reason: "InProgress",
        message: "",
        lastTransitionTime: now,
      },
    ],
    plan: {
      git: {
        branch: "main",
        path: "apps/podinfo/release.yaml",
        versionPath: "spec.chart.spec.version",
        from: "6.7.0",
        to: "6.7.1",
      },
      flux: [{ kind: "Kustomization", namespace: "flux-system", name: "apps" }],
      volumes: [
        {
          namespace,
          name: "data-podinfo-0",
          accessModes: ["ReadWriteOnce"],
          storageClassName: "",
          size: "1Gi",
          labels: { "app.kubernetes.io/name": "podinfo" },
        },
      ],
      workloads: [{ kind: "StatefulSet", namespace, name: "podinfo", replicas: 1 }],
    },
  });

  it("patchStatus writes status, leaving spec and generation alone", async () => {
    await client.create(object("UpgradeRequest", "status-write", loadExample("UpgradeRequest")));
    const target = ref("UpgradeRequest", "status-write");
    const status = validStatus();
    const patched = await client.patchStatus(target, { status, spec: { dryRun: true } });
    expect(patched.metadata.generation).toBe(1);
    expect(specOf(patched)).toMatchObject({ dryRun: false });
    const read = await client.get(target);
    expect(read["status"]).toEqual(status);
    const parsed = parseWithMessage(UpgradeRequest, read);
    expect(parsed.success ? "" : parsed.message).toBe("");
  });

  it("a status change through the main resource is ignored", async () => {
    await client.create(object("ManagedApp", "status-ignored", loadExample("ManagedApp")));
    const target = ref("ManagedApp", "status-ignored");
    await client.patchStatus(target, { status: { currentVersion: "6.7.0" } });
    const patched = await client.mergePatch(target, {
      status: { currentVersion: "9.9.9", availableUpdate: "10.0.0" },
    });
    expect(patched["status"]).toEqual({ currentVersion: "6.7.0" });
    expect((await client.get(target))["status"]).toEqual({ currentVersion: "6.7.0" });
  });

  const badStatuses: readonly (readonly [string, () => PlainObject])[] = [
    [
      "status.conditions[0].status",
      () => ({ conditions: validStatus().conditions.map((c) => ({ ...c, status: "Maybe" })) }),
    ],
    ["status.commit.sha", () => ({ commit: { sha: "not-a-sha", adopted: false } })],
    [
      "status.plan.workloads[0].replicas",
      () => ({
        plan: {
          ...validStatus().plan,
          workloads: [{ kind: "StatefulSet", namespace, name: "db", replicas: -1 }],
        },
      }),
    ],
    [
      "status.replicas[0].kind",
      () => ({ replicas: [{ kind: "DaemonSet", namespace, name: "agent", original: 1 }] }),
    ],
    ["status.startedAt", () => ({ startedAt: "yesterday" })],
  ];

  it.each(badStatuses.map(([field, bad], i) => [field, bad, i] as const))(
    "an invalid status is rejected naming %s",
    async (field, bad, i) => {
      const name = `bad-status-${i}`;
      await client.create(object("UpgradeRequest", name, loadExample("UpgradeRequest")));
      const err = await rejection(
        client.patchStatus(ref("UpgradeRequest", name), { status: bad() }),
      );
      expect(err.code).toBe("Invalid");
      expect(err.message).toContain(`${field}:`);
    },
  );
});
