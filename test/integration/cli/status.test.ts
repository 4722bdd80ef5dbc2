// kubectl cairn status against a real API server: the table, -o json|yaml, -A, an unknown app,
// kubeconfig and context handling as kubectl does it, and a cluster that is not there.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, inject } from "vitest";
import { parse, stringify } from "yaml";
import { z } from "zod";
import type { KubeClient } from "../../../src/kube/client.ts";
import { testClient } from "../../support/kube.ts";
import {
  at,
  closedPort,
  condition,
  createApp,
  createUpgrade,
  deleteIsolatedNamespace,
  ensureCurrentCrds,
  isolatedNamespace,
  runCli,
  setStatus,
} from "./support.ts";

let client: KubeClient;
let ns: string;
let dir: string;

beforeAll(async () => {
  client = testClient();
  ns = await isolatedNamespace(client, "cli-status");
  await ensureCurrentCrds(client, ns);
  dir = mkdtempSync(join(tmpdir(), "cairn-cli-status-"));
  await createApp(client, ns, "alpha", {
    labels: { tier: "front" },
    status: {
      conditions: [condition("Ready", "True", "Succeeded", "references resolve")],
      currentVersion: "1.0.0",
      availableUpdate: "1.1.0",
      lastUpgrade: {
        name: "alpha-upgrade-old",
        version: "1.0.0",
        outcome: "Succeeded",
        completedAt: at(0),
      },
    },
  });
  await createApp(client, ns, "beta", {
    status: {
      conditions: [
        condition("Ready", "False", "ReferenceNotFound", "Kustomization apps not found"),
      ],
    },
  });
  const running = await createUpgrade(client, ns, "alpha-upgrade-run", "alpha");
  await setStatus(client, running, {
    phase: "Snapshotting",
    startedAt: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    step: { name: "Snapshot", startedAt: new Date().toISOString().replace(/\.\d+Z$/, "Z") },
  });
  const finished = await createUpgrade(client, ns, "beta-upgrade-done", "beta");
  await setStatus(client, finished, { conditions: [condition("Complete", "True", "Succeeded")] });
});

afterAll(async () => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (ns) await deleteIsolatedNamespace(client, ns);
});

const Summary = z.object({
  namespace: z.string(),
  name: z.string(),
  version: z.string().nullable(),
  health: z.string(),
  availableUpdate: z.string().nullable(),
  operations: z.array(
    z.object({
      kind: z.string(),
      name: z.string(),
      phase: z.string(),
      step: z.string().optional(),
    }),
  ),
});

/** A copy of the test kubeconfig with a second context that sets the test namespace. */
function kubeconfigWithContext(name: string): string {
  const doc = parse(readFileSync(inject("kubeconfig"), "utf8")) as {
    contexts: { name: string; context: Record<string, string> }[];
  };
  const base = doc.contexts[0];
  if (!base) throw new Error("the test kubeconfig has no context");
  doc.contexts.push({ name, context: { ...base.context, namespace: ns } });
  const path = join(dir, `${name}.kubeconfig`);
  writeFileSync(path, stringify(doc));
  return path;
}

describe("kubectl cairn status", () => {
  it("shows every app of the namespace with version, health, update and running operation", async () => {
    const result = await runCli(["status", "-n", ns]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const [header, ...rows] = result.stdout.trimEnd().split("\n");
    expect(header).toMatch(
      /^NAME +VERSION +HEALTH +UPDATE +OPERATION +STEP +QUEUED +LAST UPGRADE$/,
    );
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(
      /^alpha +1\.0\.0 +Ready +1\.1\.0 +alpha-upgrade-run +Snapshot\(\d+s\) +0 +Succeeded\/1\.0\.0$/,
    );
    expect(rows[1]).toMatch(/^beta +- +ReferenceNotFound +- +- +- +0 +-$/);
    // --no-headers, and -l as kubectl: only the apps with the labels.
    const labelled = await runCli(["status", "-n", ns, "--no-headers", "-l", "tier=front"]);
    expect(labelled.code).toBe(0);
    expect(labelled.stdout).toMatch(/^alpha +1\.0\.0 +Ready /);
    expect(labelled.stdout.trimEnd().split("\n")).toHaveLength(1);
  });

  it("prints the same as JSON and YAML", async () => {
    const json = await runCli(["status", "-n", ns, "-o", "json"]);
    expect(json.code).toBe(0);
    const items = z.object({ items: z.array(Summary) }).parse(JSON.parse(json.stdout)).items;
    expect(items.map((i) => [i.name, i.version, i.health, i.availableUpdate])).toEqual([
      ["alpha", "1.0.0", "Ready", "1.1.0"],
      ["beta", null, "ReferenceNotFound", null],
    ]);
    expect(items[0]?.operations).toEqual([
      expect.objectContaining({
        kind: "upgrade",
        name: "alpha-upgrade-run",
        phase: "Snapshotting",
        step: "Snapshot",
      }),
    ]);
    const yaml = await runCli(["status", "alpha", "-n", ns, "-o", "yaml"]);
    expect(yaml.code).toBe(0);
    const alpha = Summary.parse(parse(yaml.stdout));
    expect(alpha).toMatchObject({ namespace: ns, name: "alpha", version: "1.0.0" });
  });

  it("lists the apps of all namespaces with -A", async () => {
    const result = await runCli(["status", "-A"]);
    expect(result.code).toBe(0);
    expect(result.stdout.split("\n")[0]).toMatch(/^NAMESPACE +NAME +VERSION/);
    expect(result.stdout).toMatch(new RegExp(`^${ns} +alpha +1\\.0\\.0 +Ready`, "m"));
    expect(result.stdout).toMatch(new RegExp(`^${ns} +beta +- +ReferenceNotFound`, "m"));
  });

  it("names the apps that exist when the app does not", async () => {
    const result = await runCli(["status", "gamma", "-n", ns]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(
      `error: managedapp "gamma" not found in namespace "${ns}"; apps here: alpha, beta\n`,
    );
  });

  it("takes the namespace from the context, and --kubeconfig and --context as kubectl does", async () => {
    const kubeconfig = kubeconfigWithContext("cli-test");
    const viaContext = await runCli(["status", "--context", "cli-test"], { kubeconfig });
    expect(viaContext.stderr).toBe("");
    expect(viaContext.stdout).toMatch(/^alpha +1\.0\.0/m);
    // KUBECONFIG is a list; a missing file in it is skipped.
    const list = await runCli(["status", "--context", "cli-test"], {
      kubeconfig: `${join(dir, "missing")}:${kubeconfig}`,
    });
    expect(list.stdout).toMatch(/^beta /m);
    // --kubeconfig wins over KUBECONFIG; without KUBECONFIG or ~/.kube/config there is nothing.
    const flag = await runCli(
      ["status", "--kubeconfig", kubeconfig, "--context", "cli-test", "-o", "json"],
      {
        kubeconfig: null,
        home: dir,
      },
    );
    expect(z.object({ items: z.array(Summary) }).parse(JSON.parse(flag.stdout)).items).toHaveLength(
      2,
    );
    const none = await runCli(["status"], { kubeconfig: null, home: dir });
    expect(none.code).toBe(1);
    expect(none.stderr).toBe(
      `error: no kubeconfig: ${join(dir, ".kube", "config")} does not exist; pass --kubeconfig or set KUBECONFIG\n`,
    );
    const unknown = await runCli(["status", "--context", "staging"], { kubeconfig });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('error: context "staging" not found in the kubeconfig\n');
  });

  it("says in one line that the cluster cannot be reached, naming the server", async () => {
    const port = await closedPort();
    const server = `https://127.0.0.1:${port}`;
    const text = readFileSync(inject("kubeconfig"), "utf8").replace(
      /server: \S+/,
      `server: ${server}`,
    );
    const kubeconfig = join(dir, "closed.kubeconfig");
    writeFileSync(kubeconfig, text);
    const result = await runCli(["status", "-n", ns], { kubeconfig });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(
      `error: cannot reach the Kubernetes API at ${server}: connect ECONNREFUSED 127.0.0.1:${port}\n`,
    );
  });

  it("rejects a bad command line with exit code 2 before contacting anything", async () => {
    const result = await runCli(["status", "--to", "1.0.0"], { kubeconfig: null, home: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      "error: unknown option '--to'\nRun \"kubectl cairn status --help\" for usage.\n",
    );
  });
});
