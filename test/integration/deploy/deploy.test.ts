// deploy/ against a real API server: every object passes a server-side dry-run apply (what
// `kubectl apply --server-side --dry-run=server -k deploy/` checks), and the controller's RBAC,
// applied as shipped, lets its ServiceAccount do what Cairn does and nothing it must not.
// The Helm chart is not rendered here (no helm binary); test/unit/deploy/chart.test.ts keeps
// its RBAC and pod settings equal to deploy/'s.
//
// The ServiceAccount's requests go out with its own token, never as admin, so a missing or a
// superfluous permission fails a test. The token comes from a Secret of type
// kubernetes.io/service-account-token that KCM's token controller fills in: KubeClient has no
// way to call the TokenRequest subresource (POST serviceaccounts/<name>/token).
//
// deploy/'s objects keep their shipped names (cairn-system, cairn-controller, …). Another test
// file may apply them too, so this one removes only what did not exist before it applied it.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { KubeClient, type KubeObject, type ObjectRef } from "../../../src/kube/client.ts";
import { isKubeError } from "../../../src/kube/errors.ts";
import { loadKustomizeBase, readObjects } from "../../support/manifests.ts";
import { apiEndpoint, serviceAccountToken } from "../../support/service-account.ts";
import {
  createTestNamespace,
  deleteNamespace,
  eventually,
  testClient,
} from "../../support/kube.ts";

const ROOT = join(import.meta.dirname, "../../..");
const objects = loadKustomizeBase(join(ROOT, "deploy"));
const RBAC_KINDS = new Set([
  "ServiceAccount",
  "Role",
  "ClusterRole",
  "RoleBinding",
  "ClusterRoleBinding",
]);

const CAIRN = "cairn.dev/v1alpha1";
const CAIRN_KINDS = ["ManagedApp", "UpgradeRequest", "RollbackRequest"] as const;

function only(kind: string): KubeObject {
  const found = objects.filter((o) => o.kind === kind);
  const [first] = found;
  if (found.length !== 1 || !first) throw new Error(`deploy/ holds ${found.length} ${kind}s`);
  return first;
}

const namespaceObject = only("Namespace");
const serviceAccount = only("ServiceAccount");
const NAMESPACE = namespaceObject.metadata.name ?? "";
const SA_NAME = serviceAccount.metadata.name ?? "";

function refOf(obj: KubeObject): ObjectRef {
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    name: obj.metadata.name ?? "",
    namespace: obj.metadata.namespace,
  };
}

const describeRef = (ref: ObjectRef) =>
  `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ""}${ref.name}`;

async function exists(client: KubeClient, ref: ObjectRef): Promise<boolean> {
  try {
    await client.get(ref);
    return true;
  } catch (err) {
    if (isKubeError(err, "NotFound")) return false;
    throw err;
  }
}

async function deleteIfPresent(client: KubeClient, ref: ObjectRef): Promise<void> {
  try {
    await client.delete(ref);
  } catch (err) {
    if (!isKubeError(err, "NotFound")) throw err;
  }
}

/** metav1.MicroTime, as the API parses it (RFC 3339 with microseconds). */
const microTime = (date = new Date()) => date.toISOString().replace(/Z$/, "000Z");

const suffix = () => randomBytes(3).toString("hex");

let admin: KubeClient;
/** What this file created (and so removes), in creation order. */
const created: ObjectRef[] = [];

/** Applies an object for real as admin; remembers it for cleanup if it was not there before. */
async function applyForReal(obj: KubeObject): Promise<void> {
  const ref = refOf(obj);
  const existed = await exists(admin, ref);
  // force: another test file applying the same manifest under another field manager must not
  // turn into a conflict; the values are deploy/'s either way.
  await admin.apply(obj, { force: true });
  if (!existed) created.push(ref);
}

beforeAll(async () => {
  admin = testClient();
  // Namespaced objects cannot be dry-run into a namespace that does not exist.
  await applyForReal(namespaceObject);
});

afterAll(async () => {
  // Reverse order: bindings before roles, the namespace last.
  for (const ref of [...created].reverse()) await deleteIfPresent(admin, ref);
  if (created.some((r) => r.kind === "Namespace")) {
    // Wait until it is gone, so that nothing later in this run meets a terminating namespace.
    const ref = refOf(namespaceObject);
    await eventually(`${describeRef(ref)} to be deleted`, async () =>
      (await exists(admin, ref)) ? undefined : true,
    );
  }
});

describe("deploy/ server-side dry run", () => {
  it("renders the objects the controller needs", () => {
    expect(objects.map((o) => o.kind)).toEqual(
      expect.arrayContaining([
        "Namespace",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "Deployment",
        "Service",
      ]),
    );
  });

  it.each(objects.map((o) => [describeRef(refOf(o)), o] as const))(
    "the API accepts %s",
    async (_, obj) => {
      const ref = refOf(obj);
      const existed = await exists(admin, ref);
      const result = await admin.apply(obj, { dryRun: true });
      expect(result).toMatchObject({
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        metadata: {
          name: obj.metadata.name,
          ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
        },
      });
      const managers = (result.metadata["managedFields"] as { manager?: string }[] | undefined)
        ?.map((m) => m.manager)
        .filter((m) => m !== undefined);
      expect(managers).toContain("cairn");
      // A dry run stores nothing.
      if (!existed) expect(await exists(admin, ref)).toBe(false);
    },
  );

  it("defaults the Deployment as the API server would store it", async () => {
    const result = await admin.apply(only("Deployment"), { dryRun: true });
    const spec = result["spec"] as {
      strategy?: { type?: string };
      template?: { spec?: { containers?: { image?: string; terminationMessagePath?: string }[] } };
    };
    expect(spec.strategy?.type).toBe("RollingUpdate");
    expect(spec.template?.spec?.containers?.[0]).toMatchObject({
      image: "cairn:0.1.0",
      terminationMessagePath: "/dev/termination-log",
    });
  });
});

describe("deploy/ RBAC under the controller's ServiceAccount", () => {
  let sa: KubeClient;
  let appNamespace = "";
  const tokenSecret = `${SA_NAME}-rbac-test-${suffix()}`;
  const fixtures = new Map<string, KubeObject>();

  beforeAll(async () => {
    for (const obj of objects.filter((o) => RBAC_KINDS.has(o.kind))) await applyForReal(obj);

    const token = await serviceAccountToken(admin, NAMESPACE, SA_NAME, tokenSecret);
    const { server, caFile } = apiEndpoint(inject("kubeconfig"));
    sa = KubeClient.fromToken(server, caFile, token);

    appNamespace = await createTestNamespace(admin, "deploy-rbac");
    // One object of each Cairn kind in the app namespace, from the shipped examples.
    for (const file of ["managedapp", "upgraderequest", "rollbackrequest"]) {
      for (const example of readObjects(join(ROOT, "crds", "examples", `${file}.yaml`))) {
        const obj = await admin.create({
          ...example,
          metadata: { ...example.metadata, namespace: appNamespace },
        });
        fixtures.set(obj.kind, obj);
      }
    }

    // The RBAC authorizer learns of new bindings through its informers: wait until it has.
    await eventually("the ServiceAccount's permissions to take effect", async () => {
      try {
        await sa.list(CAIRN, "ManagedApp", { namespace: appNamespace });
        return true;
      } catch (err) {
        if (isKubeError(err, "Forbidden")) return undefined;
        throw err;
      }
    });
  });

  afterAll(async () => {
    // Empty when beforeAll failed early.
    if (appNamespace) await deleteNamespace(admin, appNamespace);
    await deleteIfPresent(admin, {
      apiVersion: "v1",
      kind: "Secret",
      namespace: NAMESPACE,
      name: tokenSecret,
    });
  });

  function fixture(kind: string): ObjectRef {
    const obj = fixtures.get(kind);
    if (!obj) throw new Error(`no ${kind} fixture`);
    return refOf(obj);
  }

  describe("can", () => {
    it("authenticate as the ServiceAccount, not as admin", async () => {
      // SelfSubjectReview: the API says who the request came from (every user may ask).
      const review = await sa.create({
        apiVersion: "authentication.k8s.io/v1",
        kind: "SelfSubjectReview",
        metadata: {},
      });
      expect(review["status"]).toMatchObject({
        userInfo: { username: `system:serviceaccount:${NAMESPACE}:${SA_NAME}` },
      });
    });

    it.each(CAIRN_KINDS)("list and watch %ss in every namespace", async (kind) => {
      const name = fixture(kind).name;
      const { items } = await sa.list(CAIRN, kind);
      expect(items.map((o) => `${o.metadata.namespace ?? ""}/${o.metadata.name ?? ""}`)).toContain(
        `${appNamespace}/${name}`,
      );
      // Without a resourceVersion a watch starts with ADDED for everything that exists.
      let seen = false;
      for await (const event of sa.watch(CAIRN, kind, { timeoutSeconds: 30 })) {
        if (event.type === "ADDED" && event.object.metadata.name === name) {
          seen = true;
          break;
        }
      }
      expect(seen).toBe(true);
    });

    it.each(CAIRN_KINDS)("patch the status of %ss", async (kind) => {
      const result = await sa.patchStatus(fixture(kind), { status: { observedGeneration: 1 } });
      expect(result["status"]).toMatchObject({ observedGeneration: 1 });
    });

    it("list Pods and PersistentVolumeClaims in every namespace and in an app namespace", async () => {
      for (const kind of ["Pod", "PersistentVolumeClaim"]) {
        await expect(sa.list("v1", kind)).resolves.toBeDefined();
        await expect(sa.list("v1", kind, { namespace: appNamespace })).resolves.toBeDefined();
      }
    });

    it("create (and delete) a VolumeSnapshot in an app namespace", async () => {
      const { items: classes } = await sa.list("snapshot.storage.k8s.io/v1", "VolumeSnapshotClass");
      const className = classes[0]?.metadata.name;
      expect(className).toBeDefined();
      const snapshot = await sa.create({
        apiVersion: "snapshot.storage.k8s.io/v1",
        kind: "VolumeSnapshot",
        metadata: { name: `rbac-check-${suffix()}`, namespace: appNamespace },
        spec: {
          volumeSnapshotClassName: className,
          source: { persistentVolumeClaimName: "data" },
        },
      });
      expect(snapshot.metadata.uid).toBeDefined();
      await sa.delete(refOf(snapshot));
    });

    it.each(["the controller's", "an app"])(
      "create, patch and delete a Lease in %s namespace",
      async (which) => {
        const namespace = which === "an app" ? appNamespace : NAMESPACE;
        const ref = {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          namespace,
          name: `cairn-rbac-check-${suffix()}`,
        };
        try {
          await sa.create({
            apiVersion: ref.apiVersion,
            kind: ref.kind,
            metadata: { name: ref.name, namespace },
            spec: { holderIdentity: "replica-a", leaseDurationSeconds: 15 },
          });
          const patched = await sa.mergePatch(ref, {
            spec: { holderIdentity: "replica-b", renewTime: microTime() },
          });
          expect(patched["spec"]).toMatchObject({ holderIdentity: "replica-b" });
          await sa.delete(ref);
        } finally {
          await deleteIfPresent(admin, ref);
        }
      },
    );

    it("create and aggregate (patch) events.k8s.io Events in an app namespace", async () => {
      const app = fixtures.get("ManagedApp");
      const event = await sa.create({
        apiVersion: "events.k8s.io/v1",
        kind: "Event",
        metadata: { name: `rbac-check.${suffix()}`, namespace: appNamespace },
        eventTime: microTime(),
        reportingController: "cairn.dev/controller",
        reportingInstance: "rbac-test",
        regarding: {
          apiVersion: CAIRN,
          kind: "ManagedApp",
          namespace: appNamespace,
          name: app?.metadata.name,
          uid: app?.metadata.uid,
        },
        type: "Normal",
        reason: "RbacCheck",
        action: "Check",
        note: "deploy/ RBAC test",
      });
      const patched = await sa.mergePatch(refOf(event), {
        series: { count: 2, lastObservedTime: microTime() },
      });
      expect(patched["series"]).toMatchObject({ count: 2 });
    });
  });

  describe("cannot", () => {
    const forbidden = { name: "KubeError", code: "Forbidden" };

    it.each(["the controller's", "an app"])("create Secrets in %s namespace", async (which) => {
      const namespace = which === "an app" ? appNamespace : NAMESPACE;
      await expect(
        sa.create({
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name: `rbac-check-${suffix()}`, namespace },
          stringData: { key: "value" },
        }),
      ).rejects.toMatchObject(forbidden);
    });

    it("delete Secrets", async () => {
      const ref = { apiVersion: "v1", kind: "Secret", namespace: appNamespace, name: "keep-me" };
      await admin.create({
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: ref.name, namespace: appNamespace },
        stringData: { key: "value" },
      });
      await expect(sa.delete(ref)).rejects.toMatchObject(forbidden);
      expect(await exists(admin, ref)).toBe(true);
    });

    it("watch Secrets (it never caches them)", async () => {
      const events = sa.watch("v1", "Secret", { namespace: appNamespace, timeoutSeconds: 5 });
      await expect(events[Symbol.asyncIterator]().next()).rejects.toMatchObject(forbidden);
    });

    it("delete Namespaces", async () => {
      await expect(
        sa.delete({ apiVersion: "v1", kind: "Namespace", name: appNamespace }),
      ).rejects.toMatchObject(forbidden);
    });

    it("create ClusterRoleBindings", async () => {
      const binding = {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: `cairn-rbac-check-${suffix()}` },
        roleRef: {
          apiGroup: "rbac.authorization.k8s.io",
          kind: "ClusterRole",
          name: "cluster-admin",
        },
        subjects: [{ kind: "ServiceAccount", name: SA_NAME, namespace: NAMESPACE }],
      };
      try {
        await expect(sa.create(binding)).rejects.toMatchObject(forbidden);
      } finally {
        await deleteIfPresent(admin, refOf(binding));
      }
    });

    it("patch Nodes", async () => {
      const { items } = await admin.list("v1", "Node");
      const node = items[0];
      if (!node) throw new Error("the test bed has no nodes");
      await expect(
        sa.mergePatch(refOf(node), { metadata: { labels: { "cairn.dev/rbac-check": "x" } } }),
      ).rejects.toMatchObject(forbidden);
    });

    it("create Pods", async () => {
      await expect(
        sa.create({
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: `rbac-check-${suffix()}`, namespace: appNamespace },
          spec: { containers: [{ name: "c", image: "busybox" }] },
        }),
      ).rejects.toMatchObject(forbidden);
    });
  });
});
