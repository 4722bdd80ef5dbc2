// kubectl cairn updates against a real API server: apps with an available update, up to date,
// and not checked (with the reason printed below the table), as a table, as JSON, one app, -A.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { KubeClient } from "../../../src/kube/client.ts";
import { testClient } from "../../support/kube.ts";
import {
  condition,
  createApp,
  deleteIsolatedNamespace,
  ensureCurrentCrds,
  isolatedNamespace,
  runCli,
} from "./support.ts";

let client: KubeClient;
let ns: string;

const check = (chart: string) => ({
  source: { kind: "HelmRepository", namespace: "charts", name: "stable" },
  url: "https://charts.example/",
  chart,
  revision: "sha256:0123",
  checkedAt: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
});

beforeAll(async () => {
  client = testClient();
  ns = await isolatedNamespace(client, "cli-updates");
  await ensureCurrentCrds(client, ns);
  await createApp(client, ns, "alpha", {
    spec: { versionPolicy: { constraint: "<2.0.0" } },
    status: {
      conditions: [condition("UpdateAvailable", "True", "NewerVersion", "chart alpha 1.1.0 …")],
      currentVersion: "1.0.0",
      availableUpdate: "1.1.0",
      updateCheck: check("alpha"),
    },
  });
  await createApp(client, ns, "beta", {
    status: {
      conditions: [condition("UpdateAvailable", "False", "UpToDate", "no newer version")],
      currentVersion: "3.0.0",
      updateCheck: check("beta"),
    },
  });
  await createApp(client, ns, "gamma", {
    status: {
      conditions: [
        {
          type: "UpdateAvailable",
          status: "Unknown",
          reason: "NotChecked",
          message: "the app has no spec.helmReleaseRef",
          lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
        },
      ],
    },
  });
});

afterAll(async () => {
  if (ns) await deleteIsolatedNamespace(client, ns);
});

describe("kubectl cairn updates", () => {
  it("prints one row per app and why an app is not checked", async () => {
    const result = await runCli(["updates", "-n", ns]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NAME +CURRENT +AVAILABLE +STATE +SOURCE +CHECKED +POLICY +AUTO$/);
    expect(lines[1]).toMatch(
      /^alpha +1\.0\.0 +1\.1\.0 +NewerVersion +HelmRepository\/charts\/stable +\d+s +<2\.0\.0 +none$/,
    );
    expect(lines[2]).toMatch(/^beta +3\.0\.0 +- +UpToDate +HelmRepository\/charts\/stable/);
    expect(lines[3]).toMatch(/^gamma +- +- +NotChecked +- +- +any +none$/);
    expect(lines.at(-1)).toBe("gamma: the app has no spec.helmReleaseRef");
  });

  it("prints the rows as JSON, one app as an object, and every namespace with -A", async () => {
    const json = await runCli(["updates", "-n", ns, "-o", "json"]);
    expect(json.code).toBe(0);
    const Item = z.object({
      name: z.string(),
      available: z.string().nullable(),
      state: z.string(),
    });
    const items = z.object({ items: z.array(Item) }).parse(JSON.parse(json.stdout)).items;
    expect(items.map((i) => [i.name, i.available, i.state])).toEqual([
      ["alpha", "1.1.0", "NewerVersion"],
      ["beta", null, "UpToDate"],
      ["gamma", null, "NotChecked"],
    ]);
    const one = await runCli(["updates", "alpha", "-n", ns, "-o", "json"]);
    expect(Item.parse(JSON.parse(one.stdout))).toMatchObject({ name: "alpha", available: "1.1.0" });
    const all = await runCli(["updates", "-A"]);
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(new RegExp(`^${ns} +alpha +1\\.0\\.0 +1\\.1\\.0`, "m"));
  });
});
