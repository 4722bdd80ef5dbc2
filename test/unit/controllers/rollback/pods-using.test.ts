// RestoreVolumes deletes a PVC only when no pod holds it; a finished pod (a CronJob's history pod)
// names the claim in its spec but holds nothing, so it never blocks the restore.
import { describe, expect, it } from "vitest";
import { podsUsing } from "../../../../src/controllers/rollback/steps/restore-volumes.ts";
import type { KubeObject } from "../../../../src/kube/client.ts";

const pod = (name: string, phase: string | undefined): KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "shop" },
  spec: { volumes: [{ name: "d", persistentVolumeClaim: { claimName: "data-pg-0" } }] },
  ...(phase ? { status: { phase } } : {}),
});

describe("podsUsing", () => {
  it("names running, pending and unknown pods, never finished ones", () => {
    const pods = [
      pod("backup-29", "Succeeded"),
      pod("backup-30", "Failed"),
      pod("pg-0", "Running"),
      pod("new", "Pending"),
      pod("no-status", undefined),
    ];
    expect(podsUsing(pods, "data-pg-0")).toEqual(["pg-0", "new", "no-status"]);
    expect(podsUsing(pods.slice(0, 2), "data-pg-0")).toEqual([]);
  });
});
