import { describe, expect, it } from "vitest";
import {
  Deployment,
  deploymentStatus,
  StatefulSet,
  statefulSetStatus,
} from "../../../src/health/workloads.ts";
import { captured, derive } from "../../fixtures/load.ts";

const deployment = (file: string, change: (d: Deployment) => void = () => undefined) =>
  derive(Deployment.parse(captured(file)), change);
const statefulSet = (file: string, change: (s: StatefulSet) => void = () => undefined) =>
  derive(StatefulSet.parse(captured(file)), change);

describe("deploymentStatus", () => {
  it.each([
    ["deployment.json", "Current", "Current"],
    ["deployment-1.0.0.json", "Current", "Current"],
    ["deployment-2.0.0-progressing.json", "InProgress", "NotReady"],
    ["deployment-2.0.0-failed.json", "InProgress", "NotReady"],
  ])("captured %s is %s (%s)", (file, status, reason) => {
    expect(deploymentStatus(deployment(file))).toMatchObject({ status, reason });
  });

  it("checks the generation first", () => {
    const d = deployment("deployment.json", (x) => (x.metadata.generation = 3));
    expect(deploymentStatus(d)).toMatchObject({
      status: "InProgress",
      reason: "GenerationNotObserved",
    });
  });

  it("fails on ProgressDeadlineExceeded", () => {
    const d = deployment("deployment-2.0.0-failed.json", (x) => {
      const progressing = x.status.conditions?.find((c) => c.type === "Progressing");
      if (progressing) {
        progressing.status = "False";
        progressing.reason = "ProgressDeadlineExceeded";
        progressing.message = 'ReplicaSet "demo-web-577b4dc8b" has timed out progressing.';
      }
    });
    expect(deploymentStatus(d)).toEqual({
      status: "Failed",
      reason: "ProgressDeadlineExceeded",
      message: 'ReplicaSet "demo-web-577b4dc8b" has timed out progressing.',
    });
  });

  it.each([
    [
      "fewer updated replicas",
      { updatedReplicas: 1, replicas: 2, readyReplicas: 2, availableReplicas: 2 },
      "Rollout",
    ],
    [
      "old replicas lingering",
      { updatedReplicas: 2, replicas: 3, readyReplicas: 2, availableReplicas: 2 },
      "Rollout",
    ],
    [
      "fewer ready replicas",
      { updatedReplicas: 2, replicas: 2, readyReplicas: 1, availableReplicas: 1 },
      "NotReady",
    ],
    [
      "fewer available replicas",
      { updatedReplicas: 2, replicas: 2, readyReplicas: 2, availableReplicas: 1 },
      "NotAvailable",
    ],
  ])("is InProgress with %s", (_what, counts, reason) => {
    const d = deployment("deployment.json", (x) => {
      x.spec.replicas = 2;
      Object.assign(x.status, counts);
    });
    expect(deploymentStatus(d)).toMatchObject({ status: "InProgress", reason });
  });

  it("defaults spec.replicas to 1 and absent counts to 0", () => {
    const d = deployment("deployment.json", (x) => {
      delete x.spec.replicas;
      delete x.status.readyReplicas;
    });
    expect(deploymentStatus(d)).toMatchObject({
      status: "InProgress",
      message: "0 of 1 replicas ready",
    });
  });
});

describe("statefulSetStatus", () => {
  it.each([
    ["statefulset.json", "Current"],
    ["statefulset-1.0.0.json", "Current"],
    ["statefulset-2.0.0-progressing.json", "InProgress"],
    ["statefulset-2.0.0-failed.json", "InProgress"],
  ])("captured %s is %s", (file, status) => {
    expect(statefulSetStatus(statefulSet(file)).status).toBe(status);
  });

  it("checks the generation first", () => {
    const s = statefulSet("statefulset.json", (x) => (x.status.observedGeneration = 1));
    expect(statefulSetStatus(s)).toMatchObject({ reason: "GenerationNotObserved" });
  });

  it("wants currentRevision == updateRevision under partition 0", () => {
    const s = statefulSet("statefulset.json", (x) => (x.status.updateRevision = "demo-db-next"));
    expect(statefulSetStatus(s)).toMatchObject({ status: "InProgress", reason: "Rollout" });
  });

  it("with partition p, wants replicas − p updated and ignores the revisions", () => {
    const partitioned = (updated: number) =>
      statefulSet("statefulset.json", (x) => {
        x.spec.replicas = 3;
        x.spec.updateStrategy = { type: "RollingUpdate", rollingUpdate: { partition: 2 } };
        Object.assign(x.status, {
          replicas: 3,
          readyReplicas: 3,
          updatedReplicas: updated,
          updateRevision: "next",
        });
      });
    expect(statefulSetStatus(partitioned(1)).status).toBe("Current");
    expect(statefulSetStatus(partitioned(0))).toMatchObject({
      status: "InProgress",
      reason: "Rollout",
    });
  });

  it("under OnDelete checks only the generation and readiness", () => {
    const s = statefulSet("statefulset-2.0.0-failed.json", (x) => {
      x.spec.updateStrategy = { type: "OnDelete" };
      x.status.readyReplicas = 1;
    });
    expect(statefulSetStatus(s).status).toBe("Current");
    const notReady = statefulSet("statefulset-2.0.0-failed.json", (x) => {
      x.spec.updateStrategy = { type: "OnDelete" };
    });
    expect(statefulSetStatus(notReady)).toMatchObject({ status: "InProgress", reason: "NotReady" });
  });

  it("waits for pods above the desired count to go", () => {
    const s = statefulSet("statefulset.json", (x) => {
      x.spec.replicas = 0;
      Object.assign(x.status, { replicas: 1, readyReplicas: 0 });
    });
    expect(statefulSetStatus(s)).toMatchObject({
      status: "InProgress",
      message: "1 replicas exist, 0 desired",
    });
  });
});
