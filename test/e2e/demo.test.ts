// The demo scenario (demo/scenario.ts, what `npm run demo` shows) on the test tier's cluster:
// Cairn installed from deploy/ under its own ServiceAccount, the demo app with data in its
// StatefulSet's volume, a dry-run plan, an upgrade, a broken upgrade rolled back by Cairn with
// the volume's bytes restored, and the printed summary.
import { randomBytes } from "node:crypto";
import { describe, expect, inject, it } from "vitest";
import { runDemo, type DemoResult } from "../../demo/scenario.ts";
import { Teardown } from "../../demo/teardown.ts";
import { getOrUndefined } from "../support/objects.ts";
import { testClient } from "../support/kube.ts";

class Capture {
  text = "";
  readonly isTTY = false;
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

describe("the demo", () => {
  it("plans, upgrades, rolls a broken upgrade back with its data, and prints the summary", async () => {
    const git = inject("git");
    if (!git) throw new Error("the e2e tier needs the full test bed");
    const ns = `demo-${randomBytes(3).toString("hex")}`;
    const out = new Capture();
    const teardown = new Teardown();
    let result: DemoResult;
    try {
      result = await runDemo({
        kubeconfig: inject("kubeconfig"),
        git,
        helmRepoUrl: inject("helmRepoUrl"),
        out,
        suffix: "-demo",
        namespace: ns,
        teardown,
      });
    } catch (err) {
      throw new Error(
        `${err instanceof Error ? err.message : String(err)}\n--- demo output ---\n${out.text}`,
        { cause: err },
      );
    } finally {
      await teardown.run();
    }

    // The story's outcomes, as the requests' Complete conditions tell them.
    expect(result.plan).toMatchObject({
      kind: "upgrade/dry-run",
      version: "1.0.0→1.1.0",
      outcome: "DryRunSucceeded",
    });
    expect(result.upgrade).toMatchObject({
      kind: "upgrade",
      version: "1.0.0→1.1.0",
      outcome: "Succeeded",
    });
    expect(result.broken).toMatchObject({
      kind: "upgrade",
      version: "1.1.0→2.0.0",
      outcome: "RollbackTriggered",
    });
    expect(result.rollback).toMatchObject({
      kind: "rollback/auto",
      version: "2.0.0→1.1.0",
      outcome: "Succeeded",
    });
    expect(result.rows.map((r) => r.name)).toEqual([
      result.plan.name,
      result.upgrade.name,
      result.broken.name,
      result.rollback.name,
    ]);
    expect(result.broken.rollbackRef).toBe(result.rollback.name);
    expect(result.rollback.steps.map((s) => s.name)).toEqual(
      expect.arrayContaining(["ScaleDown", "RestoreVolumes", "Revert", "HealthCheck"]),
    );
    // Downtime from status.history: the good upgrade's own, the broken one's until its rollback
    // made the app healthy again.
    expect(result.upgrade.downtimeMs).toBeGreaterThan(0);
    expect(result.broken.downtimeUntil).toBe(4);
    expect(result.broken.downtimeMs).toBeGreaterThan(result.rollback.downtimeMs ?? Infinity);
    // The data: migrated after the commit, restored to the pre-upgrade snapshot's bytes.
    expect(result.data.migrated).not.toBe(result.data.beforeBroken);
    expect(result.data.afterRollback).toBe(result.data.beforeBroken);
    expect(result.chartInGit).toBe("1.1.0");

    // What it printed: the plugin's commands and output, then the summary.
    const text = out.text;
    for (const command of [
      `$ kubectl cairn status demo -n ${ns}`,
      `$ kubectl cairn plan demo --to 1.1.0 -n ${ns}`,
      `$ kubectl cairn upgrade demo --to 1.1.0 --watch -n ${ns}`,
      `$ kubectl cairn upgrade demo --to 2.0.0 --watch -n ${ns}`,
      `$ kubectl cairn history demo -n ${ns}`,
    ]) {
      expect(text).toContain(command);
    }
    expect(text).toContain('+      version: "1.1.0"');
    expect(text).toMatch(/✓ HealthCheck \d+s/);
    expect(text).toContain(`Cairn started rollbackrequest ${result.rollback.name}`);
    expect(text).toMatch(/✓ rollbackrequest \S+ succeeded in \d+s/);
    expect(text).toContain("holds exactly the bytes of the pre-upgrade snapshot");
    expect(text).toContain(result.summary);
    expect(result.summary).toMatch(
      /^#\s+REQUEST\s+KIND\s+VERSION\s+OUTCOME\s+DURATION\s+DOWNTIME$/m,
    );
    expect(result.summary).toMatch(
      new RegExp(
        `^3\\s+${result.broken.name}\\s+upgrade\\s+1\\.1\\.0→2\\.0\\.0\\s+RollbackTriggered\\s+\\d+s\\s+\\S+ \\(until #4 healthy\\)$`,
        "m",
      ),
    );
    expect(result.summary).toMatch(/^RestoreVolumes\s+-\s+-\s+-\s+\d+s$/m);

    // It cleaned up after itself: the controller's namespace and the app's are going.
    const admin = testClient();
    for (const name of [result.cairnNamespace, ns]) {
      const obj = await getOrUndefined(admin, { apiVersion: "v1", kind: "Namespace", name });
      expect(obj === undefined || obj.metadata.deletionTimestamp !== undefined, name).toBe(true);
    }
  }, 600_000);
});
