// Running the real kubectl-cairn bin as a child process against the test cluster, and the
// objects the tests put in front of it. The tests play the controller: they write request
// status through the status subresource, step by step.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { inject } from "vitest";
import { parse } from "yaml";
import { z } from "zod";
import { API_VERSION, crdName, GROUP, Kind, Label, Plural } from "../../../src/api/group.ts";
import type { RequestStatus } from "../../../src/api/request-status.ts";
import type { KubeClient, KubeObject, ObjectRef } from "../../../src/kube/client.ts";
import { isKubeError } from "../../../src/kube/errors.ts";
import { createTestNamespace, deleteNamespace, eventually } from "../../support/kube.ts";

const BIN = fileURLToPath(new URL("../../../bin/kubectl-cairn.js", import.meta.url));
const REPO_ROOT = new URL("../../../", import.meta.url);

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunningCli {
  readonly done: Promise<CliResult>;
  /** Resolves once stdout contains the text, so a test can act on what the plugin showed. */
  readonly printed: (text: string) => Promise<void>;
}

export interface CliOptions {
  /** KUBECONFIG for the child; the test cluster's by default, null for none at all. */
  readonly kubeconfig?: string | null;
  readonly home?: string;
}

/** Starts the bin the way a user would (node bin/kubectl-cairn.js …), stdout a pipe, not a TTY. */
export function startCli(args: readonly string[], opts: CliOptions = {}): RunningCli {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env["KUBECONFIG"];
  const kubeconfig = opts.kubeconfig === undefined ? inject("kubeconfig") : opts.kubeconfig;
  if (kubeconfig !== null) env["KUBECONFIG"] = kubeconfig;
  if (opts.home !== undefined) env["HOME"] = opts.home;
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  const waiters: { text: string; resolve: () => void }[] = [];
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    for (const w of waiters.filter((w) => stdout.includes(w.text))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
  const printed = (text: string) =>
    new Promise<void>((resolve, reject) => {
      if (stdout.includes(text)) return resolve();
      waiters.push({ text, resolve });
      void done.then(({ code }) =>
        reject(
          new Error(
            `kubectl-cairn exited (${code}) without printing ${JSON.stringify(text)}:\n${stdout}\n${stderr}`,
          ),
        ),
      );
    });
  return { done, printed };
}

export function runCli(args: readonly string[], opts: CliOptions = {}): Promise<CliResult> {
  return startCli(args, opts).done;
}

/** A loopback port nothing listens on: bound, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

const ADMISSION_API = "admissionregistration.k8s.io/v1";
const PROBE_LABEL = "cairn.dev/cli-test-probe";

/**
 * A namespace where the test alone writes Cairn objects. The shared cluster may be running a
 * real Cairn controller at the same time (e2e tests start one, watching every namespace); these
 * tests play the controller themselves, so an admission policy turns away every ServiceAccount's
 * writes to Cairn objects here. The test and the plugin authenticate as the admin user.
 */
export async function isolatedNamespace(client: KubeClient, prefix: string): Promise<string> {
  const namespace = await createTestNamespace(client, prefix);
  const name = `cairn-cli-test-${namespace}`;
  const here = { matchLabels: { "kubernetes.io/metadata.name": namespace } };
  const resources = Object.values(Plural).flatMap((plural) => [plural, `${plural}/status`]);
  await client.create({
    apiVersion: ADMISSION_API,
    kind: "ValidatingAdmissionPolicy",
    metadata: { name },
    spec: {
      failurePolicy: "Fail",
      matchConstraints: {
        namespaceSelector: here,
        resourceRules: [
          { apiGroups: [GROUP], apiVersions: ["*"], operations: ["CREATE", "UPDATE"], resources },
        ],
      },
      validations: [
        {
          expression: "!request.userInfo.username.startsWith('system:serviceaccount:')",
          message: "kubectl-cairn tests play the Cairn controller in this namespace",
        },
        {
          // Lets the setup below see when the policy is in force.
          expression: `!has(object.metadata.labels) || !('${PROBE_LABEL}' in object.metadata.labels)`,
          message: "probe",
        },
      ],
    },
  });
  await client.create({
    apiVersion: ADMISSION_API,
    kind: "ValidatingAdmissionPolicyBinding",
    metadata: { name },
    spec: {
      policyName: name,
      validationActions: ["Deny"],
      matchResources: { namespaceSelector: here },
    },
  });
  await eventually(`admission policy ${name} in force`, async () => {
    const probe = {
      apiVersion: API_VERSION,
      kind: Kind.UpgradeRequest,
      metadata: { name: "probe", namespace, labels: { [PROBE_LABEL]: "deny" } },
      spec: { managedAppRef: { name: "probe" } },
    };
    try {
      await client.apply(probe, { dryRun: true });
      return undefined;
    } catch (err) {
      if (isKubeError(err, "Invalid") || isKubeError(err, "Forbidden")) return true;
      throw err;
    }
  });
  return namespace;
}

export async function deleteIsolatedNamespace(
  client: KubeClient,
  namespace: string,
): Promise<void> {
  const name = `cairn-cli-test-${namespace}`;
  for (const kind of ["ValidatingAdmissionPolicyBinding", "ValidatingAdmissionPolicy"]) {
    try {
      await client.delete({ apiVersion: ADMISSION_API, kind, name });
    } catch (err) {
      if (!isKubeError(err, "NotFound")) throw err;
    }
  }
  await deleteNamespace(client, namespace);
}

const Crd = z.object({
  metadata: z.object({ name: z.string() }),
  spec: z.record(z.string(), z.unknown()),
});

/**
 * The cluster may run since before the newest API change (a shared cluster outlives commits):
 * the working tree's CRDs replace the served ones, and a status write with the newest fields
 * must survive the round trip before a test relies on it.
 */
export async function ensureCurrentCrds(client: KubeClient, namespace: string): Promise<void> {
  for (const kind of Object.values(Kind)) {
    const file = new URL(`crds/${GROUP}_${Plural[kind]}.yaml`, REPO_ROOT);
    const crd = Crd.parse(parse(readFileSync(file, "utf8")));
    const ref = {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      name: crdName(kind),
    };
    try {
      await client.jsonPatch(ref, [{ op: "replace", path: "/spec", value: crd.spec }]);
    } catch (err) {
      if (!isKubeError(err, "NotFound")) throw err;
      await client.create({ ...ref, metadata: { name: crd.metadata.name }, spec: crd.spec });
    }
  }
  const probe = await createUpgrade(client, namespace, "crd-probe", "crd-probe");
  await eventually("the served request status to keep history and preflight", async () => {
    const written = await setStatus(client, probe, {
      history: [{ name: "Plan", startedAt: at(0), completedAt: at(1), reason: "Succeeded" }],
      preflight: [{ name: "Probe", passed: true, message: "" }],
    });
    const status = written["status"] as RequestStatus | undefined;
    return status?.history && status.preflight ? true : undefined;
  });
  await client.delete(refOf(probe));
}

export function refOf(obj: KubeObject): ObjectRef {
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    name: obj.metadata.name ?? "",
    namespace: obj.metadata.namespace,
  };
}

/** A fixed point in time for statuses, so durations are exact: `at(90)` is 1m30s after it. */
export const T0 = Date.parse("2026-03-01T10:00:00Z");
export function at(seconds: number): string {
  return new Date(T0 + seconds * 1000).toISOString().replace(".000Z", "Z");
}

export function condition(type: string, status: "True" | "False", reason: string, message = "") {
  return { type, status, reason, message, lastTransitionTime: at(0) };
}

export async function createApp(
  client: KubeClient,
  namespace: string,
  name: string,
  opts: {
    spec?: Record<string, unknown>;
    status?: Record<string, unknown>;
    labels?: Record<string, string>;
  } = {},
): Promise<KubeObject> {
  const app = await client.create({
    apiVersion: API_VERSION,
    kind: Kind.ManagedApp,
    metadata: { name, namespace, ...(opts.labels ? { labels: opts.labels } : {}) },
    spec: {
      gitPath: `apps/${name}/release.yaml`,
      kustomizationRef: { name: "apps" },
      ...opts.spec,
    },
  });
  return opts.status ? client.patchStatus(refOf(app), { status: opts.status }) : app;
}

export async function createUpgrade(
  client: KubeClient,
  namespace: string,
  name: string,
  app: string,
  spec: Record<string, unknown> = { targetVersion: { chart: "2.0.0" } },
): Promise<KubeObject> {
  return client.create({
    apiVersion: API_VERSION,
    kind: Kind.UpgradeRequest,
    metadata: { name, namespace },
    spec: { managedAppRef: { name: app }, ...spec },
  });
}

export async function createRollback(
  client: KubeClient,
  namespace: string,
  name: string,
  upgrade: string,
  app?: string,
): Promise<KubeObject> {
  return client.create({
    apiVersion: API_VERSION,
    kind: Kind.RollbackRequest,
    metadata: { name, namespace, ...(app ? { labels: { [Label.ManagedApp]: app } } : {}) },
    spec: { upgradeRequestRef: { name: upgrade } },
  });
}

/** The controller's part: one status write, merged into what is there. */
export function setStatus(
  client: KubeClient,
  obj: KubeObject,
  status: RequestStatus,
): Promise<KubeObject> {
  return client.patchStatus(refOf(obj), { status });
}

/** The request of a kind the plugin created for an app, once it exists; `known` are older ones. */
export function createdRequest(
  client: KubeClient,
  namespace: string,
  kind: Kind,
  app: string,
  known: readonly string[] = [],
): Promise<KubeObject> {
  return eventually(`a new ${kind} for ${app}`, async () => {
    const { items } = await client.list(API_VERSION, kind, {
      namespace,
      labelSelector: `${Label.ManagedApp}=${app}`,
    });
    return items.find((i) => !known.includes(i.metadata.name ?? ""));
  });
}
