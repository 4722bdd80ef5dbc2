// kubectl cairn watch, describe, events, abort, approve and version against a real API server. The test
// plays the controller (status writes) and records the Events a controller would.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_VERSION, Kind } from "../../../src/api/group.ts";
import type { KubeClient, KubeObject } from "../../../src/kube/client.ts";
import { isKubeError } from "../../../src/kube/errors.ts";
import { testClient } from "../../support/kube.ts";
import {
  at,
  condition,
  createApp,
  createRollback,
  createUpgrade,
  deleteIsolatedNamespace,
  ensureCurrentCrds,
  isolatedNamespace,
  refOf,
  runCli,
  setStatus,
  startCli,
} from "./support.ts";

let client: KubeClient;
let ns: string;

const step = (name: string, from: number, to: number, reason = "Succeeded") => ({
  name,
  startedAt: at(from),
  completedAt: at(to),
  reason,
});

async function recordEvent(about: KubeObject, reason: string, message: string, type = "Normal") {
  await client.create({
    apiVersion: "v1",
    kind: "Event",
    metadata: { name: `${about.metadata.name ?? ""}.${reason.toLowerCase()}`, namespace: ns },
    involvedObject: {
      apiVersion: about.apiVersion,
      kind: about.kind,
      name: about.metadata.name,
      namespace: ns,
      uid: about.metadata.uid,
    },
    reason,
    message,
    type,
    firstTimestamp: at(10),
    lastTimestamp: at(10),
    count: 1,
    source: { component: "cairn" },
  });
}

beforeAll(async () => {
  client = testClient();
  ns = await isolatedNamespace(client, "cli-verbs");
  await ensureCurrentCrds(client, ns);
  await createApp(client, ns, "web", { status: { currentVersion: "1.0.0" } });
});

afterAll(async () => {
  if (ns) await deleteIsolatedNamespace(client, ns);
});

describe("kubectl cairn watch", () => {
  it("attaches to a running request, prints the steps it ran and follows it to success", async () => {
    let request = await createUpgrade(client, ns, "web-upgrade-w1", "web");
    request = await setStatus(client, request, {
      phase: "ScalingDown",
      startedAt: at(0),
      step: { name: "ScaleDown", startedAt: at(3) },
      history: [step("Plan", 0, 3)],
    });
    const cli = startCli(["watch", "web-upgrade-w1", "-n", ns]);
    await cli.printed("✓ Plan 3s\n");
    await setStatus(client, request, {
      phase: "Succeeded",
      completedAt: at(100),
      history: [step("Plan", 0, 3), step("ScaleDown", 3, 10)],
      conditions: [condition("Complete", "True", "Succeeded", "web runs 2.0.0")],
    });
    const result = await cli.done;
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      "✓ Plan 3s\n✓ ScaleDown 7s\n✓ upgraderequest web-upgrade-w1 succeeded in 1m40s\n",
    );
  });

  it("follows Cairn's own rollback to its failure: exit 1, the error line on stderr", async () => {
    await createUpgrade(client, ns, "web-upgrade-w2", "web");
    const rollback = await createRollback(
      client,
      ns,
      "web-upgrade-w2-rollback-auto",
      "web-upgrade-w2",
      "web",
    );
    const cli = startCli(["watch", "web-upgrade-w2-rollback-auto", "-n", ns]);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await setStatus(client, rollback, {
      phase: "Failed",
      startedAt: at(0),
      completedAt: at(60),
      history: [step("RestoreVolumes", 0, 50, "DeadlineExceeded")],
      conditions: [condition("Complete", "False", "RestoreIncomplete", "PVC data-web-0 missing")],
    });
    const result = await cli.done;
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("✗ RestoreVolumes 50s (DeadlineExceeded)\n");
    expect(result.stdout).toContain("The app stays frozen on purpose");
    expect(result.stderr).toBe(
      "error: rollbackrequest web-upgrade-w2-rollback-auto failed: RestoreIncomplete: PVC data-web-0 missing\n",
    );
  });

  it("names the requests that exist when the request does not", async () => {
    const result = await runCli(["watch", "web-upgrade-nope", "-n", ns]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error: no upgraderequest or rollbackrequest "web-upgrade-nope" in namespace "[^"]+"; requests here: .*web-upgrade-w1/,
    );
  });
});

describe("kubectl cairn describe and events", () => {
  it("describes a request: spec, outcome, steps, conditions and events", async () => {
    const request = await setStatus(
      client,
      await createUpgrade(client, ns, "web-upgrade-d1", "web"),
      {
        phase: "Succeeded",
        startedAt: at(0),
        completedAt: at(70),
        history: [step("Plan", 0, 3), step("HealthCheck", 10, 70)],
        conditions: [condition("Complete", "True", "Succeeded", "web runs 2.0.0")],
      },
    );
    await recordEvent(request, "Committed", "committed 1.0.0 → 2.0.0 to main");
    const result = await runCli(["describe", "web-upgrade-d1", "-n", ns]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const out = result.stdout;
    expect(out).toContain("Name:         web-upgrade-d1\n");
    expect(out).toContain("App:          web\n");
    expect(out).toContain("Target:       chart 2.0.0\n");
    expect(out).toContain("Outcome:      succeeded (Succeeded)\n");
    expect(out).toMatch(/^ {2}HealthCheck +2026-03-01T10:00:10Z +1m +Succeeded$/m);
    expect(out).toMatch(/^ {2}Complete +True +Succeeded +web runs 2\.0\.0$/m);
    expect(out).toMatch(
      /^ {2}\S+ +Normal +Committed +upgraderequest\/web-upgrade-d1 +1 +committed 1\.0\.0 → 2\.0\.0 to main$/m,
    );
  });

  it("lists an app's events, oldest first, with --no-headers and as JSON", async () => {
    const app = await client.get({
      apiVersion: API_VERSION,
      kind: Kind.ManagedApp,
      namespace: ns,
      name: "web",
    });
    await recordEvent(app, "UpdateAvailable", "1.1.0 is available");
    const table = await runCli(["events", "web", "-n", ns, "--no-headers"]);
    expect(table.stderr).toBe("");
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(
      /^\S+ +Normal +UpdateAvailable +managedapp\/web +1 +1\.1\.0 is available\n$/,
    );
    const json = await runCli(["events", "web", "-n", ns, "-o", "json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({
      kind: "ManagedApp",
      items: [{ type: "Normal", reason: "UpdateAvailable", message: "1.1.0 is available" }],
    });
    const none = await runCli(["events", "nothing-here", "-n", ns]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(
      'no managedapp, upgraderequest or rollbackrequest "nothing-here"',
    );
  });
});

describe("kubectl cairn abort", () => {
  const ref = (name: string) => ({
    apiVersion: API_VERSION,
    kind: Kind.UpgradeRequest,
    namespace: ns,
    name,
  });
  async function exists(name: string): Promise<boolean> {
    try {
      await client.get(ref(name));
      return true;
    } catch (err) {
      if (isKubeError(err, "NotFound")) return false;
      throw err;
    }
  }

  it("asks first, refuses without a terminal, and with --yes annotates the request, which stays", async () => {
    await setStatus(client, await createUpgrade(client, ns, "web-upgrade-a1", "web"), {
      phase: "Snapshotting",
      startedAt: at(0),
      step: { name: "Snapshot", startedAt: at(1) },
    });
    const asked = await runCli(["abort", "web-upgrade-a1", "-n", ns]);
    expect(asked.code).toBe(1);
    expect(asked.stderr).toBe(
      "error: abort asks for confirmation on a terminal; pass --yes to abort upgraderequest/web-upgrade-a1 without one\n",
    );
    expect((await client.get(ref("web-upgrade-a1"))).metadata.annotations).toBeUndefined();
    const aborted = await runCli(["abort", "web-upgrade-a1", "--yes", "-n", ns]);
    expect(aborted.stderr).toBe("");
    expect(aborted.code).toBe(0);
    expect(aborted.stdout).toBe(
      `upgraderequest/web-upgrade-a1 aborting: Cairn undoes what it did and keeps the request in history (follow it: kubectl cairn watch web-upgrade-a1 -n ${ns})\n`,
    );
    const after = await client.get(ref("web-upgrade-a1"));
    expect(after.metadata.deletionTimestamp).toBeUndefined();
    expect(after.metadata.annotations?.["cairn.dev/abort"]).toMatch(
      /^kubectl cairn abort at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
    );
  });

  it("refuses a finished request", async () => {
    const done = await createUpgrade(client, ns, "web-upgrade-a2", "web");
    await setStatus(client, done, { conditions: [condition("Complete", "True", "Succeeded")] });
    const result = await runCli(["abort", "web-upgrade-a2", "--yes", "-n", ns]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      "error: upgraderequest/web-upgrade-a2 has already finished (Succeeded): there is nothing to abort\n",
    );
    expect(await exists("web-upgrade-a2")).toBe(true);
    await client.delete(refOf(done));
  });
});

describe("kubectl cairn approve", () => {
  const ref = (name: string) => ({
    apiVersion: API_VERSION,
    kind: Kind.UpgradeRequest,
    namespace: ns,
    name,
  });
  // Built when a test runs: the namespace exists only after beforeAll.
  const waiting = () => ({
    phase: "AwaitingApproval",
    startedAt: at(0),
    step: { name: "Approve", startedAt: at(2) },
    conditions: [
      condition("Admitted", "True", "Succeeded"),
      condition("Planned", "True", "Succeeded"),
      condition("Approved", "False", "AwaitingApproval", "waiting for approval of the plan"),
    ],
    plan: {
      git: {
        branch: "main",
        path: "apps/web/release.yaml",
        versionPath: "spec.chart.spec.version",
        from: "1.0.0",
        to: "2.0.0",
      },
      flux: [{ kind: "Kustomization" as const, namespace: ns, name: "apps" }],
      volumes: [],
      workloads: [],
    },
  });

  it("shows the plan and annotates the request with the user the API server sees", async () => {
    await setStatus(client, await createUpgrade(client, ns, "web-upgrade-p1", "web"), waiting());
    const asked = await runCli(["approve", "web-upgrade-p1", "-n", ns]);
    expect(asked.code).toBe(1);
    expect(asked.stderr).toBe(
      "error: approve asks for confirmation on a terminal; pass --yes to approve upgraderequest/web-upgrade-p1 without one\n",
    );
    expect((await client.get(ref("web-upgrade-p1"))).metadata.annotations).toBeUndefined();
    const review = await client.create({
      apiVersion: "authentication.k8s.io/v1",
      kind: "SelfSubjectReview",
      metadata: {},
    });
    const me = (review["status"] as { userInfo: { username: string } }).userInfo.username;
    expect(me).not.toBe("");
    const done = await runCli(["approve", "web-upgrade-p1", "--yes", "-n", ns]);
    expect(done.stderr).toBe("");
    expect(done.code).toBe(0);
    expect(done.stdout).toContain("Plan of upgraderequest/web-upgrade-p1:");
    expect(done.stdout).toContain("1.0.0 → 2.0.0");
    expect(done.stdout).toContain(
      `upgraderequest/web-upgrade-p1 approved by ${me}: Cairn plans again and upgrades if the plan still holds`,
    );
    expect(
      (await client.get(ref("web-upgrade-p1"))).metadata.annotations?.["cairn.dev/approved-by"],
    ).toBe(me);
    const again = await runCli(["approve", "web-upgrade-p1", "--yes", "-n", ns]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(
      `error: upgraderequest/web-upgrade-p1 is already approved by ${me}\n`,
    );
  });

  it("refuses a request that does not wait for approval, and a finished one", async () => {
    await setStatus(client, await createUpgrade(client, ns, "web-upgrade-p2", "web"), {
      phase: "Snapshotting",
      startedAt: at(0),
      step: { name: "Snapshot", startedAt: at(1) },
    });
    const running = await runCli(["approve", "web-upgrade-p2", "--yes", "-n", ns]);
    expect(running.code).toBe(1);
    expect(running.stderr).toBe(
      "error: upgraderequest/web-upgrade-p2 is not waiting for approval (phase Snapshotting); only an upgrade whose plan is shown can be approved\n",
    );
    await setStatus(client, await createUpgrade(client, ns, "web-upgrade-p3", "web"), {
      conditions: [condition("Complete", "False", "Aborted")],
    });
    const finished = await runCli(["approve", "web-upgrade-p3", "--yes", "-n", ns]);
    expect(finished.code).toBe(1);
    expect(finished.stderr).toBe(
      "error: upgraderequest/web-upgrade-p3 has already finished (Aborted): there is nothing to approve\n",
    );
    expect((await client.get(ref("web-upgrade-p2"))).metadata.annotations).toBeUndefined();
  });
});

describe("kubectl cairn version", () => {
  it("prints the client's version and the controller Deployment's", async () => {
    await client.create({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: {
        name: "cairn-controller",
        namespace: ns,
        labels: {
          "app.kubernetes.io/name": "cairn",
          "app.kubernetes.io/component": "controller",
          "app.kubernetes.io/version": "9.8.7",
        },
      },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: "cairn-cli-version-test" } },
        template: {
          metadata: { labels: { app: "cairn-cli-version-test" } },
          spec: { containers: [{ name: "controller", image: "ghcr.io/example/cairn:9.8.7" }] },
        },
      },
    });
    const result = await runCli(["version", "-n", ns]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Client Version: 0\.1\.0\n/);
    // Other tests may run a controller Deployment of their own at the same time.
    expect(result.stdout).toContain(
      `Controller Version: 9.8.7 (${ns}/cairn-controller, image ghcr.io/example/cairn:9.8.7)\n`,
    );
    const clientOnly = await runCli(["version", "--client"], { kubeconfig: null });
    expect(clientOnly).toEqual({ code: 0, stdout: "Client Version: 0.1.0\n", stderr: "" });
  });
});
