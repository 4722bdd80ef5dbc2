// kubectl cairn plan, upgrade and rollback against a real API server: the requests they create,
// and --watch following the status the test writes step by step, as the controller would.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_VERSION, Kind, Label } from "../../../src/api/group.ts";
import type { RequestStatus } from "../../../src/api/request-status.ts";
import type { KubeClient, KubeObject } from "../../../src/kube/client.ts";
import { testClient } from "../../support/kube.ts";
import {
  at,
  condition,
  createApp,
  createdRequest,
  createUpgrade,
  deleteIsolatedNamespace,
  ensureCurrentCrds,
  isolatedNamespace,
  runCli,
  setStatus,
  startCli,
} from "./support.ts";

let client: KubeClient;
let ns: string;

beforeAll(async () => {
  client = testClient();
  ns = await isolatedNamespace(client, "cli-requests");
  await ensureCurrentCrds(client, ns);
  await createApp(client, ns, "web", {
    status: { currentVersion: "1.0.0", availableUpdate: "1.1.0" },
  });
  await createApp(client, ns, "db", { status: { currentVersion: "12.4" } });
  await createApp(client, ns, "api", { status: { currentVersion: "3.0.0" } });
  await createApp(client, ns, "cache", { status: { currentVersion: "7.0.0" } });
});

afterAll(async () => {
  if (ns) await deleteIsolatedNamespace(client, ns);
});

const step = (name: string, from: number, to: number, reason = "Succeeded") => ({
  name,
  startedAt: at(from),
  completedAt: at(to),
  reason,
});

const plan: RequestStatus["plan"] = {
  git: {
    branch: "main",
    path: "apps/web/release.yaml",
    versionPath: "spec.chart.spec.version",
    from: "1.0.0",
    to: "2.0.0",
    url: "http://git.example/fleet.git",
    diff: "-      version: 1.0.0\n+      version: 2.0.0",
  },
  flux: [{ kind: "Kustomization", namespace: "flux-system", name: "apps" }],
  volumes: [{ namespace: "shop", name: "data-web-0", size: "1Gi" }],
  workloads: [{ kind: "StatefulSet", namespace: "shop", name: "web", replicas: 2 }],
};

/** An upgrade of api past its commit, as a rollback needs it; created a second apart, so they order. */
async function committedUpgrade(name: string): Promise<KubeObject> {
  const upgrade = await createUpgrade(client, ns, name, "api");
  await new Promise((resolve) => setTimeout(resolve, 1100));
  return setStatus(client, upgrade, {
    plan,
    commit: { sha: "0123456789abcdef0123456789abcdef01234567", adopted: false },
    conditions: [condition("Committed", "True", "Succeeded", "committed")],
  });
}

function spec(obj: KubeObject): Record<string, unknown> {
  return obj["spec"] as Record<string, unknown>;
}

describe("kubectl cairn plan", () => {
  it("creates a dry-run UpgradeRequest, waits for it and prints plan, preflight and diff", async () => {
    const cli = startCli(["plan", "web", "--to", "2.0.0", "-n", ns]);
    const request = await createdRequest(client, ns, Kind.UpgradeRequest, "web");
    expect(request.metadata.name).toMatch(/^web-plan-[a-z0-9]{5}$/);
    expect(spec(request)).toEqual({
      managedAppRef: { name: "web" },
      targetVersion: { chart: "2.0.0" },
      dryRun: true,
      skipSnapshot: false,
      allowDowngrade: false,
    });
    await cli.printed(`planning web → 2.0.0 (upgraderequest/${request.metadata.name ?? ""})`);
    await setStatus(client, request, {
      phase: "Planning",
      startedAt: at(0),
      step: { name: "Plan", startedAt: at(0) },
    });
    await setStatus(client, request, {
      phase: "DryRunSucceeded",
      plan,
      preflight: [
        { name: "GitAccess", passed: true, message: "push to main allowed" },
        { name: "Snapshots", passed: true, message: "snapshot class csi-snap ready" },
      ],
      history: [step("Plan", 0, 2)],
      completedAt: at(2),
      conditions: [
        condition("Planned", "True", "Succeeded"),
        condition("Complete", "True", "DryRunSucceeded", "nothing changed"),
      ],
    });
    const result = await cli.done;
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      `Plan for web (upgraderequest/${request.metadata.name ?? ""}, dry run)`,
    );
    expect(result.stdout).toContain("  Version:   1.0.0 → 2.0.0\n");
    expect(result.stdout).toContain("  Workloads: StatefulSet shop/web (2 replicas)\n");
    expect(result.stdout).toContain(
      "Preflight:\n  ✓ GitAccess  push to main allowed\n  ✓ Snapshots  snapshot class csi-snap ready\n",
    );
    expect(result.stdout).toContain("Diff:\n  -      version: 1.0.0\n  +      version: 2.0.0\n");
    expect(result.stdout.trimEnd().split("\n").at(-1)).toBe(
      "Result: the dry run succeeded (DryRunSucceeded): nothing changed",
    );
  });

  it("exits 1 with the failed checks when planning fails, and prints the object with -o json", async () => {
    const cli = startCli([
      "plan",
      "db",
      "--image",
      "docker.io/library/postgres=16.2",
      "-n",
      ns,
      "-o",
      "json",
    ]);
    const request = await createdRequest(client, ns, Kind.UpgradeRequest, "db");
    expect(spec(request)["targetVersion"]).toEqual({
      images: [{ name: "docker.io/library/postgres", tag: "16.2" }],
    });
    await setStatus(client, request, {
      phase: "Failed",
      preflight: [
        {
          name: "VersionPath",
          passed: false,
          message: "no image docker.io/library/postgres in apps/db",
        },
      ],
      conditions: [
        condition(
          "Complete",
          "False",
          "PlanFailed",
          "VersionPath: no image docker.io/library/postgres",
        ),
      ],
    });
    const result = await cli.done;
    expect(result.code).toBe(1);
    const printed = JSON.parse(result.stdout) as KubeObject;
    expect(printed.metadata.name).toBe(request.metadata.name);
    expect((printed["status"] as RequestStatus).preflight?.[0]?.passed).toBe(false);
    // People's lines go to stderr so that stdout stays JSON.
    expect(result.stderr).toContain("planning db → docker.io/library/postgres=16.2");
  });

  it("fails clearly without --to when the app has no available update", async () => {
    const result = await runCli(["plan", "api", "-n", ns]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'error: managedapp "api" has no available update (it runs 3.0.0); pass --to VERSION or --image NAME=TAG\n',
    );
    const { items } = await client.list(API_VERSION, Kind.UpgradeRequest, {
      namespace: ns,
      labelSelector: `${Label.ManagedApp}=api`,
    });
    expect(items).toEqual([]);
  });
});

describe("kubectl cairn upgrade", () => {
  it("creates the request for the available update and returns without --watch", async () => {
    const before = await client.list(API_VERSION, Kind.UpgradeRequest, { namespace: ns });
    const result = await runCli(["upgrade", "web", "-n", ns]);
    expect(result.code).toBe(0);
    const [line] = result.stdout.split("\n");
    const name =
      /^upgraderequest\/(web-upgrade-[a-z0-9]{5}) created: web 1\.0\.0 → 1\.1\.0 \(the available update\)$/.exec(
        line ?? "",
      )?.[1];
    expect(name, result.stdout).toBeDefined();
    const created = await client.get({
      apiVersion: API_VERSION,
      kind: Kind.UpgradeRequest,
      namespace: ns,
      name: name ?? "",
    });
    // No target: the controller pins the app's status.availableUpdate, as the API says.
    expect(spec(created)).toEqual({
      managedAppRef: { name: "web" },
      dryRun: false,
      skipSnapshot: false,
      allowDowngrade: false,
    });
    expect(created.metadata.labels).toEqual({ [Label.ManagedApp]: "web" });
    expect(before.items.some((i) => i.metadata.name === name)).toBe(false);
  });

  it("--watch shows each step as the controller reports it and exits 0 on success", async () => {
    const known = (
      await client.list(API_VERSION, Kind.UpgradeRequest, { namespace: ns })
    ).items.map((i) => i.metadata.name ?? "");
    const cli = startCli([
      "upgrade",
      "web",
      "--to",
      "2.0.0",
      "--skip-snapshot",
      "--watch",
      "-n",
      ns,
    ]);
    let request = await createdRequest(client, ns, Kind.UpgradeRequest, "web", known);
    expect(spec(request)).toMatchObject({
      targetVersion: { chart: "2.0.0" },
      skipSnapshot: true,
      dryRun: false,
    });
    await cli.printed("created: web 1.0.0 → 2.0.0");
    request = await setStatus(client, request, {
      phase: "Planning",
      startedAt: at(0),
      step: { name: "Plan", startedAt: at(0) },
    });
    request = await setStatus(client, request, {
      phase: "Suspending",
      plan,
      step: { name: "Suspend", startedAt: at(3) },
      history: [step("Plan", 0, 3)],
    });
    // Each line appears while the request runs, not in a summary at the end.
    await cli.printed("✓ Plan 3s\n");
    request = await setStatus(client, request, {
      phase: "ScalingDown",
      step: { name: "ScaleDown", startedAt: at(4) },
      history: [step("Plan", 0, 3), step("Suspend", 3, 4)],
    });
    await cli.printed("✓ Suspend 1s\n");
    await setStatus(client, request, {
      phase: "Succeeded",
      completedAt: at(200),
      history: [
        step("Plan", 0, 3),
        step("Suspend", 3, 4),
        step("ScaleDown", 4, 10),
        step("Snapshot", 10, 10, "NotNeeded"),
        step("Commit", 10, 12),
        step("HealthCheck", 60, 200),
      ],
      conditions: [condition("Complete", "True", "Succeeded", "web runs 2.0.0")],
    });
    const result = await cli.done;
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split("\n");
    // One line per step, as each ends.
    expect(lines.slice(1)).toEqual([
      "✓ Plan 3s",
      "✓ Suspend 1s",
      "✓ ScaleDown 6s",
      "✓ Snapshot 0s (NotNeeded)",
      "✓ Commit 2s",
      "✓ HealthCheck 2m20s",
      `✓ upgraderequest ${request.metadata.name ?? ""} succeeded in 3m20s`,
    ]);
  });

  it("--watch exits 1 when the upgrade fails, saying why and what to do", async () => {
    const cli = startCli(["upgrade", "cache", "--to", "7.1.0", "--watch", "-n", ns]);
    let request = await createdRequest(client, ns, Kind.UpgradeRequest, "cache");
    request = await setStatus(client, request, {
      phase: "HealthChecking",
      startedAt: at(0),
      step: { name: "HealthCheck", startedAt: at(30) },
    });
    await cli.printed("created: cache 7.0.0 → 7.1.0");
    await setStatus(client, request, {
      phase: "Failed",
      completedAt: at(400),
      history: [step("HealthCheck", 30, 330, "DeadlineExceeded")],
      conditions: [
        condition("Aborting", "True", "DeadlineExceeded", "cache-0 not ready after 5m"),
        condition("Complete", "False", "RollbackRequired", "cache-0 not ready after 5m"),
      ],
    });
    const result = await cli.done;
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      [
        "✗ HealthCheck 5m (DeadlineExceeded)",
        "! aborting: cache-0 not ready after 5m",
        `✗ upgraderequest ${request.metadata.name ?? ""} failed in 6m40s: RollbackRequired: cache-0 not ready after 5m`,
        "  The upgrade failed after its Git commit; the app runs the new version, unhealthy.",
        `  roll back with: kubectl cairn rollback ${request.metadata.name ?? ""} -n ${ns} --watch`,
      ].join("\n"),
    );
    expect(result.stderr).toBe(
      `error: upgraderequest ${request.metadata.name ?? ""} failed: RollbackRequired: cache-0 not ready after 5m\n`,
    );
  });

  it("--timeout ends the wait with exit 1 and leaves the request running", async () => {
    const result = await runCli([
      "upgrade",
      "db",
      "--to",
      "13.0.0",
      "--watch",
      "--timeout",
      "3s",
      "-n",
      ns,
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error: timed out after 3s waiting for upgraderequest db-upgrade-[a-z0-9]{5} \(Pending\); it goes on in the cluster\n$/,
    );
  });

  it("names the apps that exist when the app does not", async () => {
    const result = await runCli(["upgrade", "shop", "--to", "1.0.0", "-n", ns]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `error: managedapp "shop" not found in namespace "${ns}"; apps here: api, cache, db, web\n`,
    );
  });
});

describe("kubectl cairn rollback", () => {
  it("creates a RollbackRequest labelled with the upgrade's app and follows it to success", async () => {
    const upgrade = await committedUpgrade("api-upgrade-to-4");
    const cli = startCli(["rollback", "api-upgrade-to-4", "--watch", "-n", ns]);
    let request = await createdRequest(client, ns, Kind.RollbackRequest, "api");
    expect(request.metadata.name).toMatch(/^api-upgrade-to-4-rollback-[a-z0-9]{5}$/);
    expect(spec(request)).toEqual({
      upgradeRequestRef: { name: upgrade.metadata.name },
      autoTriggered: false,
      dryRun: false,
    });
    await cli.printed(
      `rollbackrequest/${request.metadata.name ?? ""} created: rolls back api-upgrade-to-4 (api)`,
    );
    request = await setStatus(client, request, {
      phase: "Restoring",
      startedAt: at(0),
      step: { name: "RestoreVolumes", startedAt: at(5) },
    });
    await setStatus(client, request, {
      phase: "Succeeded",
      completedAt: at(95),
      history: [step("RestoreVolumes", 5, 65), step("Revert", 65, 70)],
      conditions: [condition("Complete", "True", "Succeeded")],
    });
    const result = await cli.done;
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      `✓ RestoreVolumes 1m\n✓ Revert 5s\n✓ rollbackrequest ${request.metadata.name ?? ""} succeeded in 1m35s\n`,
    );
  });

  it("exits 1 when the rollback fails", async () => {
    await committedUpgrade("api-upgrade-to-5");
    const known = (
      await client.list(API_VERSION, Kind.RollbackRequest, { namespace: ns })
    ).items.map((i) => i.metadata.name ?? "");
    const cli = startCli(["rollback", "api-upgrade-to-5", "-w", "-n", ns]);
    const request = await createdRequest(client, ns, Kind.RollbackRequest, "api", known);
    await setStatus(client, request, {
      phase: "Failed",
      conditions: [
        condition("Complete", "False", "RestoreIncomplete", "PVC data-api-0 not recreated"),
      ],
    });
    const result = await cli.done;
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      `✗ rollbackrequest ${request.metadata.name ?? ""} failed: RestoreIncomplete: PVC data-api-0 not recreated\n`,
    );
    expect(result.stdout).toContain("  The app stays frozen on purpose (Flux suspended)");
    expect(result.stderr).toBe(
      `error: rollbackrequest ${request.metadata.name ?? ""} failed: RestoreIncomplete: PVC data-api-0 not recreated\n`,
    );
  });

  it("names the upgrades that exist when the upgrade does not, and refuses dry runs", async () => {
    const missing = await runCli(["rollback", "api-upgrade-to-9", "-n", ns]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(
      new RegExp(
        `^error: upgraderequest "api-upgrade-to-9" not found in namespace "${ns}"; upgrades here: .*api-upgrade-to-5`,
      ),
    );
    await createUpgrade(client, ns, "api-plan-only", "api", {
      targetVersion: { chart: "4.0.0" },
      dryRun: true,
    });
    const dryRun = await runCli(["rollback", "api-plan-only", "-n", ns]);
    expect(dryRun.code).toBe(1);
    expect(dryRun.stderr).toBe(
      "error: cannot roll back (UpgradeIsDryRun): UpgradeRequest api-plan-only is a dry run; it changed nothing, so there is nothing to roll back\n",
    );
  });

  it("refuses, before creating anything, what the controller would refuse", async () => {
    const before = await client.list(API_VERSION, Kind.RollbackRequest, { namespace: ns });
    // api-upgrade-to-4 was rolled back by the first test.
    const again = await runCli(["rollback", "api-upgrade-to-4", "-n", ns]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(
      /^error: cannot roll back \(AlreadyRolledBack\): UpgradeRequest api-upgrade-to-4 was already rolled back by RollbackRequest api-upgrade-to-4-rollback-[a-z0-9]{5};/,
    );
    // A later committed upgrade builds on api-upgrade-to-5: that one first.
    await committedUpgrade("api-upgrade-to-6");
    const older = await runCli(["rollback", "api-upgrade-to-5", "-n", ns]);
    expect(older.code).toBe(1);
    expect(older.stderr).toBe(
      "error: cannot roll back (LaterUpgrade): UpgradeRequest api-upgrade-to-6 of the same app committed after api-upgrade-to-5 and was not rolled back; roll back the latest upgrade first\n",
    );
    // Not committed yet: nothing to roll back.
    await createUpgrade(client, ns, "api-upgrade-fresh", "api");
    const fresh = await runCli(["rollback", "api-upgrade-fresh", "-n", ns]);
    expect(fresh.code).toBe(1);
    expect(fresh.stderr).toContain("(UpgradeNotCommitted)");
    const after = await client.list(API_VERSION, Kind.RollbackRequest, { namespace: ns });
    expect(after.items.map((i) => i.metadata.name).sort()).toEqual(
      before.items.map((i) => i.metadata.name).sort(),
    );
  });
});
