// deploy/approval-policy.yaml on a real API server: the cairn.dev/approved-by annotation on an
// UpgradeRequest must name the user who writes it. The policy and its binding are applied under
// names of this test's own, the binding narrowed to this test's namespace, so that no other test
// meets them and removing them afterwards takes nothing away from anyone.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_VERSION, Kind } from "../../../src/api/group.ts";
import type { KubeClient, KubeObject } from "../../../src/kube/client.ts";
import { isKubeError } from "../../../src/kube/errors.ts";
import {
  createTestNamespace,
  deleteNamespace,
  eventually,
  testClient,
} from "../../support/kube.ts";
import { loadKustomizeBase } from "../../support/manifests.ts";
import { ensureCurrentCrds } from "../cli/support.ts";

const ROOT = join(import.meta.dirname, "../../..");
const ANNOTATION = "cairn.dev/approved-by";

let admin: KubeClient;
let ns = "";
let me = "";
const suffix = `-${randomBytes(3).toString("hex")}`;
const applied: KubeObject[] = [];

function upgrade(name: string, approvedBy?: string): KubeObject {
  return {
    apiVersion: API_VERSION,
    kind: Kind.UpgradeRequest,
    metadata: {
      name,
      namespace: ns,
      ...(approvedBy !== undefined ? { annotations: { [ANNOTATION]: approvedBy } } : {}),
    },
    spec: { managedAppRef: { name: "web" }, targetVersion: { chart: "2.0.0" } },
  };
}

const ref = (name: string) => ({
  apiVersion: API_VERSION,
  kind: Kind.UpgradeRequest,
  namespace: ns,
  name,
});

async function refusal(write: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await write();
    return undefined;
  } catch (err) {
    if (isKubeError(err, "Invalid") || isKubeError(err, "Forbidden"))
      return err instanceof Error ? err.message : String(err);
    throw err;
  }
}

beforeAll(async () => {
  admin = testClient();
  ns = await createTestNamespace(admin, "approval-policy");
  await ensureCurrentCrds(admin, ns);
  const review = await admin.create({
    apiVersion: "authentication.k8s.io/v1",
    kind: "SelfSubjectReview",
    metadata: {},
  });
  me = (review["status"] as { userInfo: { username: string } }).userInfo.username;
  const shipped = loadKustomizeBase(join(ROOT, "deploy")).filter((o) =>
    o.kind.startsWith("ValidatingAdmissionPolicy"),
  );
  expect(shipped.map((o) => o.kind)).toEqual([
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
  ]);
  for (const obj of shipped) {
    const copy = {
      ...structuredClone(obj),
      metadata: { ...obj.metadata, name: `${obj.metadata.name ?? ""}${suffix}` },
    } as KubeObject & { spec: Record<string, unknown> };
    if (copy.kind === "ValidatingAdmissionPolicyBinding") {
      copy.spec["policyName"] = `${String(copy.spec["policyName"])}${suffix}`;
      copy.spec["matchResources"] = {
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ns } },
      };
    }
    await admin.apply(copy, { force: true });
    applied.push(copy);
  }
  // The API server compiles a new policy in the background: wait until it refuses a forgery.
  let probe = 0;
  await eventually("the policy to refuse a forged approver", async () => {
    const name = `probe-${probe++}`;
    const refused = await refusal(() => admin.create(upgrade(name, "someone-else")));
    if (refused === undefined) await admin.delete(ref(name));
    return refused;
  });
});

afterAll(async () => {
  for (const obj of applied.reverse()) {
    try {
      await admin.delete({
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: obj.metadata.name ?? "",
      });
    } catch (err) {
      if (!isKubeError(err, "NotFound")) throw err;
    }
  }
  if (ns) await deleteNamespace(admin, ns);
});

describe("the approved-by policy", () => {
  it("refuses a request created in someone else's name, and takes one in the creator's", async () => {
    expect(await refusal(() => admin.create(upgrade("forged", "mallory")))).toContain(
      `the cairn.dev/approved-by annotation must name the user who sets it (${me})`,
    );
    await admin.create(upgrade("own", me));
    expect((await admin.get(ref("own"))).metadata.annotations?.[ANNOTATION]).toBe(me);
  });

  it("lets the user approve in their own name only, and lets other writes through", async () => {
    await admin.create(upgrade("later"));
    expect(
      await refusal(() =>
        admin.mergePatch(ref("later"), { metadata: { annotations: { [ANNOTATION]: "mallory" } } }),
      ),
    ).toContain("must name the user who sets it");
    await admin.mergePatch(ref("later"), { metadata: { annotations: { [ANNOTATION]: me } } });
    // A write that leaves the approver as it is (the controller's label and finalizer) passes.
    await admin.mergePatch(ref("later"), {
      metadata: { labels: { "cairn.dev/managed-app": "web" } },
    });
    // Changing the approver to someone else does not.
    expect(
      await refusal(() =>
        admin.mergePatch(ref("later"), { metadata: { annotations: { [ANNOTATION]: "mallory" } } }),
      ),
    ).toContain("must name the user who sets it");
    const stored = await admin.get(ref("later"));
    expect(stored.metadata.annotations?.[ANNOTATION]).toBe(me);
    expect(stored.metadata.labels?.["cairn.dev/managed-app"]).toBe("web");
  });
});
