// The CRDs in crds/ and the zod schemas in src/api/ describe the same objects. This file proves
// it: it walks both trees (zod rendered as JSON Schema, input side, so defaulted fields count as
// optional, as in the CRD) and compares every property, type, required list, default, enum,
// pattern and bound; it ties each CEL rule to the zod refinement that mirrors it; it parses the
// examples; and it checks that zod rejects every object in the table of invalid ones.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { z } from "zod";
import { describeZodError, parseWithMessage } from "../../../src/api/errors.ts";
import {
  DURATION_BOUNDS_MESSAGE,
  CHECK_INTERVAL_MESSAGE,
  CHECK_INTERVAL_RULE,
  WINDOW_DURATION_MESSAGE,
  WINDOW_DURATION_RULE,
  DURATION_RULE,
  GIT_PATH_MESSAGE,
  GIT_PATH_RULE,
  IMMUTABLE_SPEC_MESSAGE,
  IMMUTABLE_SPEC_RULE,
} from "../../../src/api/fields.ts";
import {
  API_VERSION,
  CATEGORY,
  crdName,
  GROUP,
  Kind,
  Plural,
  VERSION,
} from "../../../src/api/group.ts";
import {
  IMAGE_VERSIONING_MESSAGE,
  IMAGE_VERSIONING_RULE,
  ManagedApp,
  ManagedAppSpec,
  ManagedAppStatus,
} from "../../../src/api/managedapp.ts";
import { ObjectMeta } from "../../../src/api/meta.ts";
import {
  RollbackRequest,
  RollbackRequestSpec,
  RollbackRequestStatus,
} from "../../../src/api/rollbackrequest.ts";
import {
  TARGET_VERSION_MESSAGE,
  TARGET_VERSION_RULE,
  UpgradeRequest,
  UpgradeRequestSpec,
  UpgradeRequestStatus,
} from "../../../src/api/upgraderequest.ts";
import {
  INVALID_CASES,
  invalidObject,
  loadExample,
  REPO_ROOT,
  withValue,
} from "./invalid-objects.ts";

// ---- Loading the CRDs (parsed at the boundary, like everything else) ----

/** A JSON Schema node, from a CRD or rendered from zod; keywords beyond these stay as they are. */
interface SchemaNode {
  readonly [keyword: string]: unknown;
  readonly properties?: Readonly<Record<string, SchemaNode>> | undefined;
  readonly items?: SchemaNode | undefined;
  readonly additionalProperties?: SchemaNode | boolean | undefined;
  readonly required?: readonly string[] | undefined;
}

const SchemaNode: z.ZodType<SchemaNode> = z.lazy(() =>
  z.looseObject({
    properties: z.record(z.string(), SchemaNode).optional(),
    items: SchemaNode.optional(),
    additionalProperties: z.union([SchemaNode, z.boolean()]).optional(),
    required: z.array(z.string()).optional(),
  }),
);

const Crd = z.object({
  apiVersion: z.literal("apiextensions.k8s.io/v1"),
  kind: z.literal("CustomResourceDefinition"),
  metadata: z.object({ name: z.string() }),
  spec: z.object({
    group: z.string(),
    scope: z.string(),
    names: z.object({
      kind: z.string(),
      listKind: z.string(),
      plural: z.string(),
      singular: z.string(),
      shortNames: z.array(z.string()),
      categories: z.array(z.string()),
    }),
    versions: z.array(
      z.object({
        name: z.string(),
        served: z.boolean(),
        storage: z.boolean(),
        subresources: z.object({ status: z.object({}) }),
        additionalPrinterColumns: z.array(
          z.object({ name: z.string(), type: z.string(), jsonPath: z.string() }),
        ),
        schema: z.object({ openAPIV3Schema: SchemaNode }),
      }),
    ),
  }),
});
type Crd = z.infer<typeof Crd>;

function loadCrd(kind: Kind): Crd {
  const file = `crds/${GROUP}_${Plural[kind]}.yaml`;
  return Crd.parse(parse(readFileSync(new URL(file, REPO_ROOT), "utf8")));
}

function openApiSchema(crd: Crd): SchemaNode {
  const version = crd.spec.versions[0];
  if (!version) throw new Error(`${crd.metadata.name} has no version`);
  return version.schema.openAPIV3Schema;
}

function child(node: SchemaNode | undefined, name: string): SchemaNode {
  const found = node?.properties?.[name];
  if (!found) throw new Error(`schema has no property ${name}`);
  return found;
}

function fromZod(schema: z.ZodType): SchemaNode {
  return SchemaNode.parse(z.toJSONSchema(schema, { io: "input", unrepresentable: "throw" }));
}

// ---- The walk ----

// Keywords the walk compares. A keyword outside these lists on either side is reported, so a
// constraint neither compared nor mirrored cannot slip in unnoticed.
const COMPARED = [
  "type",
  "format",
  "enum",
  "default",
  "pattern",
  "minLength",
  "maxLength",
  "minItems",
  "maxItems",
  "minimum",
  "maximum",
  "required",
  "properties",
  "items",
  "additionalProperties",
];
const CRD_ONLY = [
  "description",
  "x-kubernetes-validations", // compared with the zod refinements below
  "x-kubernetes-list-type", // uniqueness: zod refinements, exercised by the invalid table
  "x-kubernetes-list-map-keys",
];
const ZOD_ONLY = ["$schema", "propertyNames"];

/** ECMAScript's RegExp#source escapes "/", which RE2 and the CRDs do not need. */
const normalizePattern = (p: unknown) => (typeof p === "string" ? p.replaceAll("\\/", "/") : p);

const sorted = (list: unknown) =>
  Array.isArray(list) ? list.map((v) => JSON.stringify(v)).sort() : list;

/** Every difference between a CRD schema node and a zod-rendered one, each naming its path. */
function schemaDifferences(crd: SchemaNode, zod: SchemaNode, path: string): string[] {
  const out: string[] = [];
  const diff = (what: string, a: unknown, b: unknown) => {
    if (JSON.stringify(a) !== JSON.stringify(b)) {
      out.push(`${path}: ${what} differs: CRD ${JSON.stringify(a)}, zod ${JSON.stringify(b)}`);
    }
  };
  for (const key of Object.keys(crd)) {
    if (!COMPARED.includes(key) && !CRD_ONLY.includes(key))
      out.push(`${path}: CRD keyword ${key} is not compared`);
  }
  for (const key of Object.keys(zod)) {
    if (!COMPARED.includes(key) && !ZOD_ONLY.includes(key))
      out.push(`${path}: zod keyword ${key} is not compared`);
  }
  diff("type", crd["type"], zod["type"]);
  // Only date-time is a format both sides mean; int64 and the like are CRD-side annotations.
  if (crd["format"] === "date-time" || zod["format"] === "date-time") {
    diff("format", crd["format"], zod["format"]);
  } else {
    diff("pattern", normalizePattern(crd["pattern"]), normalizePattern(zod["pattern"]));
  }
  diff("enum", sorted(crd["enum"]), sorted(zod["enum"]));
  diff("default", crd["default"], zod["default"]);
  for (const key of ["minLength", "maxLength", "minItems", "maxItems"]) {
    diff(key, crd[key], zod[key]);
  }
  for (const key of ["minimum", "maximum"]) {
    const zodValue = zod[key];
    // zod's int() renders the safe-integer range; the CRD leaves it to int64.
    const effective =
      typeof zodValue === "number" && Math.abs(zodValue) === Number.MAX_SAFE_INTEGER
        ? undefined
        : zodValue;
    diff(key, crd[key], effective);
  }
  diff("required", [...(crd.required ?? [])].sort(), [...(zod.required ?? [])].sort());

  const crdProps = crd.properties ?? {};
  const zodProps = zod.properties ?? {};
  for (const name of Object.keys(crdProps)) {
    if (!(name in zodProps)) out.push(`${path}.${name}: in the CRD, not in zod`);
  }
  for (const [name, zodChild] of Object.entries(zodProps)) {
    const crdChild = crdProps[name];
    if (!crdChild) out.push(`${path}.${name}: in zod, not in the CRD`);
    else out.push(...schemaDifferences(crdChild, zodChild, `${path}.${name}`));
  }
  if (crd.items || zod.items) {
    if (!crd.items || !zod.items) out.push(`${path}[]: items on one side only`);
    else out.push(...schemaDifferences(crd.items, zod.items, `${path}[]`));
  }
  const crdAdditional = crd.additionalProperties;
  const zodAdditional = zod.additionalProperties;
  if (typeof crdAdditional === "object" && typeof zodAdditional === "object") {
    out.push(...schemaDifferences(crdAdditional, zodAdditional, `${path}{}`));
  } else {
    diff("additionalProperties", crdAdditional, zodAdditional);
  }
  return out;
}

interface Rule {
  readonly path: string;
  readonly rule: string;
  readonly message: string;
}

const RuleList = z.array(z.object({ rule: z.string(), message: z.string() }));

/** Every CEL rule in a schema, with the path of the node that carries it. */
function celRules(node: SchemaNode, path: string): Rule[] {
  const here = RuleList.parse(node["x-kubernetes-validations"] ?? []).map((r) => ({ path, ...r }));
  const below = Object.entries(node.properties ?? {}).flatMap(([name, childNode]) =>
    celRules(childNode, path === "" ? name : `${path}.${name}`),
  );
  const items = node.items ? celRules(node.items, `${path}[]`) : [];
  return [...here, ...below, ...items];
}

// ---- The kinds ----

interface KindSchemas {
  readonly object: z.ZodType;
  readonly spec: z.ZodType;
  readonly status: z.ZodType;
  readonly rules: readonly Rule[];
  readonly shortName: string;
  readonly columns: readonly (readonly [string, string, string])[];
}

/** Every duration of a ManagedApp's spec, each bounded by the same CEL rule, in the CRD's order. */
const DURATION_FIELDS = [
  "spec.healthCheck.timeout",
  ...[
    "suspend",
    "scaleDown",
    "snapshot",
    "commit",
    "fluxApply",
    "scaleUp",
    "health",
    "volumeRestore",
    "approval",
  ].map((name) => `spec.timeouts.${name}`),
];

const KINDS: Record<Kind, KindSchemas> = {
  ManagedApp: {
    object: ManagedApp,
    spec: ManagedAppSpec,
    status: ManagedAppStatus,
    rules: [
      { path: "spec", rule: IMAGE_VERSIONING_RULE, message: IMAGE_VERSIONING_MESSAGE },
      { path: "spec.gitPath", rule: GIT_PATH_RULE, message: GIT_PATH_MESSAGE },
      {
        path: "spec.versionPolicy.checkInterval",
        rule: CHECK_INTERVAL_RULE,
        message: CHECK_INTERVAL_MESSAGE,
      },
      {
        path: "spec.versionPolicy.maintenanceWindows[].duration",
        rule: WINDOW_DURATION_RULE,
        message: WINDOW_DURATION_MESSAGE,
      },
      ...DURATION_FIELDS.map((path) => ({
        path,
        rule: DURATION_RULE,
        message: DURATION_BOUNDS_MESSAGE,
      })),
    ],
    shortName: "mapp",
    columns: [
      ["Version", "string", ".status.currentVersion"],
      ["Update", "string", ".status.availableUpdate"],
      ["Update-Check", "string", '.status.conditions[?(@.type=="UpdateAvailable")].reason'],
      ["Ready", "string", '.status.conditions[?(@.type=="Ready")].status'],
      ["Age", "date", ".metadata.creationTimestamp"],
    ],
  },
  UpgradeRequest: {
    object: UpgradeRequest,
    spec: UpgradeRequestSpec,
    status: UpgradeRequestStatus,
    rules: [
      { path: "spec", rule: IMMUTABLE_SPEC_RULE, message: IMMUTABLE_SPEC_MESSAGE },
      { path: "spec.targetVersion", rule: TARGET_VERSION_RULE, message: TARGET_VERSION_MESSAGE },
    ],
    shortName: "ur",
    columns: [
      ["App", "string", ".spec.managedAppRef.name"],
      ["Phase", "string", ".status.phase"],
      ["From", "string", ".status.plan.git.from"],
      ["Target", "string", ".status.plan.git.to"],
      ["Age", "date", ".metadata.creationTimestamp"],
    ],
  },
  RollbackRequest: {
    object: RollbackRequest,
    spec: RollbackRequestSpec,
    status: RollbackRequestStatus,
    rules: [{ path: "spec", rule: IMMUTABLE_SPEC_RULE, message: IMMUTABLE_SPEC_MESSAGE }],
    shortName: "rr",
    columns: [
      ["Upgrade", "string", ".spec.upgradeRequestRef.name"],
      ["Phase", "string", ".status.phase"],
      ["Age", "date", ".metadata.creationTimestamp"],
    ],
  },
};

const ALL_KINDS = Object.values(Kind);

describe.each(ALL_KINDS)("%s: CRD and zod agree", (kind) => {
  const crd = loadCrd(kind);
  const root = openApiSchema(crd);
  const schemas = KINDS[kind];

  it("declares the group, version, names and subresources of src/api/group.ts", () => {
    expect(crd.metadata.name).toBe(crdName(kind));
    expect(crd.spec.group).toBe(GROUP);
    expect(crd.spec.scope).toBe("Namespaced");
    expect(crd.spec.names).toEqual({
      kind,
      listKind: `${kind}List`,
      plural: Plural[kind],
      singular: kind.toLowerCase(),
      shortNames: [schemas.shortName],
      categories: [CATEGORY],
    });
    expect(crd.spec.versions).toHaveLength(1);
    const version = crd.spec.versions[0];
    expect(version).toMatchObject({ name: VERSION, served: true, storage: true });
    expect(version?.subresources).toEqual({ status: {} });
    expect(root.required).toEqual(["spec"]);
  });

  it("has the printer columns that say what is happening", () => {
    const columns = crd.spec.versions[0]?.additionalPrinterColumns.map(
      (c) => [c.name, c.type, c.jsonPath] as const,
    );
    expect(columns).toEqual(schemas.columns);
  });

  it("has the same spec in both trees", () => {
    expect(schemaDifferences(child(root, "spec"), fromZod(schemas.spec), "spec")).toEqual([]);
  });

  it("has the same status in both trees", () => {
    expect(schemaDifferences(child(root, "status"), fromZod(schemas.status), "status")).toEqual([]);
  });

  it("restricts metadata.name as the zod ObjectMeta does, and nothing else in metadata", () => {
    const metadata = child(root, "metadata");
    expect(Object.keys(metadata.properties ?? {})).toEqual(["name"]);
    expect(
      schemaDifferences(child(metadata, "name"), fromZod(ObjectMeta.shape.name), "metadata.name"),
    ).toEqual([]);
  });

  it("carries exactly the CEL rules that the zod refinements mirror", () => {
    expect(celRules(root, "")).toEqual(schemas.rules);
  });

  it("keeps x-kubernetes-preserve-unknown-fields out of the schema", () => {
    expect(JSON.stringify(root)).not.toContain("x-kubernetes-preserve-unknown-fields");
  });

  it("accepts its example in crds/examples", () => {
    const example = loadExample(kind);
    const parsed = parseWithMessage(schemas.object, example);
    expect(parsed.success ? "" : parsed.message).toBe("");
    expect(example["apiVersion"]).toBe(API_VERSION);
    expect(example["kind"]).toBe(kind);
  });
});

describe("the walk", () => {
  // The agreement tests pass only if the walk can fail; prove it sees each kind of difference.
  const crdSpec = child(openApiSchema(loadCrd("ManagedApp")), "spec");
  const zodSpec = fromZod(ManagedAppSpec);

  it("reports a property missing on either side", () => {
    const props = { ...crdSpec.properties };
    delete props["autoRollback"];
    expect(schemaDifferences({ ...crdSpec, properties: props }, zodSpec, "spec")).toEqual([
      "spec.autoRollback: in zod, not in the CRD",
    ]);
    const extra = { ...crdSpec, properties: { ...crdSpec.properties, extra: { type: "string" } } };
    expect(schemaDifferences(extra, zodSpec, "spec")).toEqual([
      "spec.extra: in the CRD, not in zod",
    ]);
  });

  it("reports a different default, enum, pattern, bound, required list or unknown keyword", () => {
    const changed = (path: string, value: unknown) =>
      schemaDifferences(SchemaNode.parse(withValue({ ...crdSpec }, path, value)), zodSpec, "spec")
        .length;
    expect(changed("properties.healthCheck.properties.timeout.default", "10m")).toBe(1);
    expect(changed("properties.suspendRef.properties.kind.enum", ["Kustomization"])).toBe(1);
    expect(changed("properties.git.properties.url.pattern", "^https://")).toBe(1);
    expect(changed("properties.volumeSnapshots.properties.pvcs.maxItems", 65)).toBe(1);
    expect(
      changed(
        "properties.volumeSnapshots.properties.retentionPolicy.properties.maxCount.minimum",
        1,
      ),
    ).toBe(1);
    expect(changed("required", ["gitPath"])).toBe(1);
    expect(changed("properties.gitPath.exclusiveMinimum", true)).toBe(1);
  });
});

describe("defaults", () => {
  it("fill a minimal ManagedApp spec as the CRD's defaults do", () => {
    expect(
      ManagedAppSpec.parse({ gitPath: "apps/a.yaml", kustomizationRef: { name: "apps" } }),
    ).toEqual({
      gitPath: "apps/a.yaml",
      kustomizationRef: { name: "apps" },
      volumeSnapshots: {
        enabled: false,
        retentionPolicy: { maxCount: 3 },
        runWhileUploading: false,
      },
      versionPolicy: { prereleases: false, checkInterval: "1h", autoUpdate: "none" },
      healthCheck: { timeout: "5m" },
      requestHistory: { maxCount: 10, maxDryRunCount: 3 },
      autoRollback: false,
      approval: "Automatic",
    });
  });

  it("default suspendRef.kind to Kustomization", () => {
    const spec = ManagedAppSpec.parse({
      gitPath: "a.yaml",
      kustomizationRef: { name: "apps" },
      suspendRef: { name: "root" },
    });
    expect(spec.suspendRef).toEqual({ kind: "Kustomization", name: "root" });
  });

  it("fill minimal request specs", () => {
    expect(UpgradeRequestSpec.parse({ managedAppRef: { name: "a" } })).toEqual({
      managedAppRef: { name: "a" },
      skipSnapshot: false,
      dryRun: false,
      allowDowngrade: false,
    });
    expect(RollbackRequestSpec.parse({ upgradeRequestRef: { name: "u" } })).toEqual({
      upgradeRequestRef: { name: "u" },
      autoTriggered: false,
      dryRun: false,
    });
  });

  it("keep values that are set, 0 included (maxCount 0 keeps all snapshots)", () => {
    const spec = ManagedAppSpec.parse({
      gitPath: "a.yaml",
      kustomizationRef: { name: "apps" },
      volumeSnapshots: { enabled: true, retentionPolicy: { maxCount: 0 } },
    });
    expect(spec.volumeSnapshots).toEqual({
      enabled: true,
      retentionPolicy: { maxCount: 0 },
      runWhileUploading: false,
    });
  });
});

describe("zod rejects what the CRD rejects", () => {
  it("has at least 15 cases, over every kind", () => {
    expect(INVALID_CASES.length).toBeGreaterThanOrEqual(15);
    expect(new Set(INVALID_CASES.map((c) => c.kind))).toEqual(new Set(ALL_KINDS));
  });

  it.each(INVALID_CASES.map((c) => [c.what, c] as const))("%s", (_, c) => {
    const parsed = parseWithMessage(KINDS[c.kind].object, invalidObject(c));
    expect(parsed.success).toBe(false);
    if (parsed.success) return;
    expect(parsed.problems.some((p) => p.startsWith(`${c.field}: `))).toBe(true);
  });
});

describe("valid values at the edges", () => {
  const upgrade = loadExample("UpgradeRequest");
  const managedApp = loadExample("ManagedApp");

  it.each(["1", "1.2", "1.2.3", "v1.2.3", "1.2.3-rc.1", "1.2.3-rc.1+build.7", "10.20.30+meta"])(
    "chart %s",
    (chart) => {
      expect(
        UpgradeRequest.safeParse(withValue(upgrade, "spec.targetVersion.chart", chart)).success,
      ).toBe(true);
    },
  );

  it.each([
    ["nginx", "1.27-alpine"],
    ["library/nginx", "latest"],
    ["localhost:5000/team/app", "_private"],
    ["ghcr.io/org/app", "a".repeat(128)],
  ])("image %s:%s", (name, tag) => {
    const obj = withValue(upgrade, "spec.targetVersion", { images: [{ name, tag }] });
    expect(UpgradeRequest.safeParse(obj).success).toBe(true);
  });

  it.each(["1s", "1000ms", "1.5h", "1h30m", "90s", "168h", "167h59m60s", "0.001h"])(
    "duration %s",
    (d) => {
      const parsed = ManagedApp.safeParse(withValue(managedApp, "spec.healthCheck.timeout", d));
      expect(parsed.success).toBe(true);
    },
  );

  it.each([
    "https://git.example.com/org/apps.git",
    "http://127.0.0.1:3000/apps",
    "ssh://git@github.com/org/apps",
  ])("git url %s", (url) => {
    expect(ManagedApp.safeParse(withValue(managedApp, "spec.git.url", url)).success).toBe(true);
  });

  it.each([
    "apps/db/release.yaml",
    "release.yaml",
    "apps/..hidden/x.yaml",
    "apps/x..y/z.yaml",
    ".flux.yaml",
    "apps/.../x.yaml",
  ])("gitPath %s", (gitPath) => {
    expect(ManagedApp.safeParse(withValue(managedApp, "spec.gitPath", gitPath)).success).toBe(true);
  });
});

describe("status", () => {
  const status = {
    phase: "Snapshotting",
    observedGeneration: 1,
    startedAt: "2025-03-01T10:00:00Z",
    step: {
      name: "Snapshot",
      startedAt: "2025-03-01T10:02:00.123Z",
      deadline: "2025-03-01T10:32:00.123Z",
    },
    plan: {
      git: {
        branch: "main",
        path: "apps/db/release.yaml",
        versionPath: "spec.chart.spec.version",
        from: "15.2.0",
        to: "15.3.1",
        baseCommit: "9f1c".padEnd(40, "0"),
        diff: "-      version: 15.2.0 +      version: 15.3.1",
      },
      flux: [
        { kind: "Kustomization", namespace: "flux-system", name: "apps" },
        { kind: "HelmRelease", namespace: "shop", name: "db" },
      ],
      volumes: [
        {
          namespace: "shop",
          name: "data-db-0",
          accessModes: ["ReadWriteOnce"],
          storageClassName: "fast",
          volumeMode: "Filesystem",
          size: "10Gi",
          snapshot: "data-db-0-7c1e2a90",
          labels: { "app.kubernetes.io/name": "db" },
          annotations: { "meta.helm.sh/release-name": "db" },
        },
      ],
      workloads: [{ kind: "StatefulSet", namespace: "shop", name: "db", replicas: 1 }],
    },
    suspended: [{ kind: "Kustomization", namespace: "flux-system", name: "apps" }],
    replicas: [{ kind: "StatefulSet", namespace: "shop", name: "db", original: 1 }],
    snapshots: [{ namespace: "shop", name: "data-db-0-7c1e2a90", pvcName: "data-db-0" }],
    conditions: [
      {
        type: "Planned",
        status: "True",
        reason: "Succeeded",
        message: "",
        lastTransitionTime: "2025-03-01T10:00:01Z",
        observedGeneration: 1,
      },
    ],
  };

  it("parses a request's status in the middle of an upgrade", () => {
    expect(UpgradeRequestStatus.parse(status)).toEqual(status);
    expect(RollbackRequestStatus.parse(status)).toEqual(status);
  });

  it("rejects a condition status outside True|False|Unknown and a condition type listed twice", () => {
    const bad = withValue(status, "conditions.0.status", "Maybe");
    expect(describeZodError(UpgradeRequestStatus.safeParse(bad).error ?? new z.ZodError([]))).toBe(
      'conditions[0].status: must be one of "True", "False", "Unknown"',
    );
    const twice = { ...status, conditions: [...status.conditions, ...status.conditions] };
    const parsed = parseWithMessage(UpgradeRequestStatus, twice, "status");
    expect(parsed.success ? "" : parsed.message).toBe(
      'status.conditions[1]: duplicate condition type "Planned"',
    );
  });

  it("rejects a commit id that is not a full SHA", () => {
    const bad = { ...status, commit: { sha: "9f1c", adopted: false } };
    const parsed = parseWithMessage(UpgradeRequestStatus, bad, "status");
    expect(parsed.success ? "" : parsed.message).toBe(
      "status.commit.sha: must be a full commit id (40 or 64 hex digits)",
    );
  });

  it("parses a ManagedApp status", () => {
    const appStatus = {
      currentVersion: "6.7.0",
      availableUpdate: "6.7.1",
      lastUpgrade: {
        name: "podinfo-6-7-0",
        version: "6.7.0",
        outcome: "Succeeded",
        completedAt: "2025-03-01T10:40:00Z",
      },
      discovery: {
        pvcs: [{ namespace: "apps", name: "data-podinfo-0" }],
        workloads: [{ kind: "StatefulSet", namespace: "apps", name: "podinfo" }],
        source: { kind: "HelmRelease", namespace: "apps", name: "podinfo" },
      },
    };
    expect(ManagedAppStatus.parse(appStatus)).toEqual(appStatus);
  });
});
