// kubectl cairn history against a real API server: the app's upgrades and rollbacks (found by
// label or through their upgrade), newest first, with outcome, duration and downtime.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { RequestStatus } from "../../../src/api/request-status.ts";
import type { KubeClient } from "../../../src/kube/client.ts";
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
  runCli,
  setStatus,
} from "./support.ts";

let client: KubeClient;
let ns: string;

const step = (name: string, from: number, to: number, reason = "Succeeded") => ({
  name,
  startedAt: at(from),
  completedAt: at(to),
  reason,
});

const plan = (from: string, to: string): RequestStatus["plan"] => ({
  git: { branch: "main", path: "apps/web.yaml", versionPath: "spec.chart.spec.version", from, to },
  flux: [],
  volumes: [],
  workloads: [],
});

beforeAll(async () => {
  client = testClient();
  ns = await isolatedNamespace(client, "cli-history");
  await ensureCurrentCrds(client, ns);
  await createApp(client, ns, "web");
  await createApp(client, ns, "db");
  // Created in one order, started in another: history follows when they ran.
  const first = await createUpgrade(client, ns, "web-upgrade-a", "web", {
    targetVersion: { chart: "1.1.0" },
  });
  const second = await createUpgrade(client, ns, "web-upgrade-b", "web", {
    targetVersion: { chart: "1.2.0" },
  });
  const dryRun = await createUpgrade(client, ns, "web-plan-c", "web", {
    targetVersion: { chart: "1.3.0" },
    dryRun: true,
  });
  const rollback = await createRollback(client, ns, "web-upgrade-b-rollback-d", "web-upgrade-b");
  const other = await createUpgrade(client, ns, "db-upgrade-e", "db");
  await setStatus(client, second, {
    plan: plan("1.1.0", "1.2.0"),
    startedAt: at(3600),
    completedAt: at(3600 + 400),
    history: [step("ScaleDown", 3610, 3620), step("HealthCheck", 3700, 4000, "DeadlineExceeded")],
    conditions: [condition("Complete", "False", "RollbackRequired", "unhealthy")],
  });
  await setStatus(client, first, {
    plan: plan("1.0.0", "1.1.0"),
    startedAt: at(0),
    completedAt: at(200),
    history: [
      step("Suspend", 0, 10),
      step("ScaleDown", 10, 15),
      step("Commit", 15, 20),
      step("HealthCheck", 60, 135),
    ],
    conditions: [condition("Complete", "True", "Succeeded")],
  });
  // No label: found through its upgrade.
  await setStatus(client, rollback, {
    plan: plan("1.2.0", "1.1.0"),
    startedAt: at(4200),
    completedAt: at(4200 + 240),
    history: [step("ScaleDown", 4210, 4215), step("HealthCheck", 4300, 4400)],
    conditions: [condition("Complete", "True", "Succeeded")],
  });
  await setStatus(client, dryRun, {
    startedAt: at(5000),
    completedAt: at(5005),
    conditions: [condition("Complete", "True", "DryRunSucceeded")],
  });
  await setStatus(client, other, { startedAt: at(6000), phase: "Planning" });
});

afterAll(async () => {
  if (ns) await deleteIsolatedNamespace(client, ns);
});

describe("kubectl cairn history", () => {
  it("lists the app's requests newest first with outcome, duration and downtime, dry runs with --all", async () => {
    const plain = await runCli(["history", "web", "-n", ns, "--no-headers"]);
    expect(plain.stderr).toBe("");
    expect(plain.code).toBe(0);
    expect(plain.stdout.split("\n").map((l) => l.split(/\s+/)[0])).toEqual([
      "web-upgrade-b-rollback-d",
      "web-upgrade-b",
      "web-upgrade-a",
      "",
    ]);
    const result = await runCli(["history", "web", "-n", ns, "--all"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const rows = result.stdout
      .trimEnd()
      .split("\n")
      .map((line) => line.split(/ {3,}/));
    expect(rows).toEqual([
      ["NAME", "KIND", "VERSION", "OUTCOME", "DURATION", "DOWNTIME"],
      ["web-plan-c", "upgrade/dry-run", "?→1.3.0", "DryRunSucceeded", "5s", "-"],
      ["web-upgrade-b-rollback-d", "rollback", "1.2.0→1.1.0", "Succeeded", "4m", "3m10s"],
      // Its health check failed: down from its ScaleDown until its rollback's health check passed.
      ["web-upgrade-b", "upgrade", "1.1.0→1.2.0", "RollbackRequired", "6m40s", "13m"],
      ["web-upgrade-a", "upgrade", "1.0.0→1.1.0", "Succeeded", "3m20s", "2m5s"],
    ]);
  });

  it("gives the same entries as JSON, with durations in seconds", async () => {
    const result = await runCli(["history", "web", "-n", ns, "-o", "json", "--all"]);
    expect(result.code).toBe(0);
    const parsed = z
      .object({
        app: z.literal("web"),
        items: z.array(
          z.object({
            name: z.string(),
            outcome: z.string(),
            reason: z.string().nullable(),
            durationSeconds: z.number().nullable(),
            downtimeSeconds: z.number().nullable(),
          }),
        ),
      })
      .parse(JSON.parse(result.stdout));
    expect(
      parsed.items.map((i) => [i.name, i.outcome, i.reason, i.durationSeconds, i.downtimeSeconds]),
    ).toEqual([
      ["web-plan-c", "succeeded", "DryRunSucceeded", 5, null],
      ["web-upgrade-b-rollback-d", "succeeded", "Succeeded", 240, 190],
      ["web-upgrade-b", "failed", "RollbackRequired", 400, 790],
      ["web-upgrade-a", "succeeded", "Succeeded", 200, 125],
    ]);
  });

  it("names the apps that exist when neither the app nor requests for it do", async () => {
    const result = await runCli(["history", "wbe", "-n", ns]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `error: managedapp "wbe" not found in namespace "${ns}"; apps here: db, web\n`,
    );
  });
});
