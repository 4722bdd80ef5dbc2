import { describe, expect, it } from "vitest";
import { describePod, isPodLive, isPodReady, Pod, podProblem } from "../../../src/health/pods.ts";
import { capturedList, derive } from "../../fixtures/load.ts";

function webPod(file: string): Pod {
  const raw = capturedList(file).find((p) => p.metadata.name?.startsWith("demo-web-"));
  if (!raw) throw new Error(`no web pod in ${file}`);
  return Pod.parse(raw);
}

/** The captured running pod, now not ready, with its container in the given state. */
function notReadyWith(state: object, lastState: object = {}): Pod {
  return derive(webPod("pods.json"), (p) => {
    const ready = p.status.conditions?.find((c) => c.type === "Ready");
    if (ready) ready.status = "False";
    const container = p.status.containerStatuses?.[0];
    if (container) {
      container.ready = false;
      container.state = state;
      container.lastState = lastState;
    }
  });
}

describe("pods", () => {
  it("reads readiness from captured pods", () => {
    expect(isPodReady(webPod("pods.json"))).toBe(true);
    expect(isPodReady(webPod("pods-2.0.0-failed.json"))).toBe(false);
    expect(isPodLive(webPod("pods.json"))).toBe(true);
  });

  it("explains a captured unschedulable pod with the scheduler's words", () => {
    expect(podProblem(webPod("pods-2.0.0-failed.json"))).toBe(
      "Unschedulable (0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.)",
    );
  });

  it.each([
    [
      "CreateContainerConfigError",
      {
        waiting: {
          reason: "CreateContainerConfigError",
          message: 'secret "demo-db-password" not found',
        },
      },
      {},
      'container web: CreateContainerConfigError (secret "demo-db-password" not found)',
    ],
    [
      "ImagePullBackOff",
      { waiting: { reason: "ImagePullBackOff", message: "Back-off pulling image" } },
      {},
      "container web: ImagePullBackOff (Back-off pulling image)",
    ],
    [
      "CrashLoopBackOff",
      { waiting: { reason: "CrashLoopBackOff" } },
      { terminated: { reason: "OOMKilled", exitCode: 137 } },
      "container web: CrashLoopBackOff (last exit: OOMKilled, code 137)",
    ],
    [
      "a terminated container",
      { terminated: { reason: "Error", exitCode: 1 } },
      {},
      "container web: terminated, Error",
    ],
  ])("names %s", (_what, state, lastState, expected) => {
    expect(podProblem(notReadyWith(state, lastState))).toBe(expected);
  });

  it("does not call ContainerCreating a problem", () => {
    const pod = notReadyWith({ waiting: { reason: "ContainerCreating" } });
    expect(podProblem(pod)).toBeUndefined();
    expect(describePod(pod)).toMatch(/^pod shop\/demo-web-.* is not ready$/);
  });

  it("looks at init containers first", () => {
    const pod = derive(notReadyWith({ waiting: { reason: "PodInitializing" } }), (p) => {
      p.status.initContainerStatuses = [
        {
          name: "migrate",
          state: { waiting: { reason: "CrashLoopBackOff" } },
          lastState: { terminated: { reason: "Error", exitCode: 2 } },
        },
      ];
    });
    expect(podProblem(pod)).toBe(
      "init container migrate: CrashLoopBackOff (last exit: Error, code 2)",
    );
  });

  it("falls back to the Ready condition's message", () => {
    const pod = derive(notReadyWith({ running: {} }), (p) => {
      const ready = p.status.conditions?.find((c) => c.type === "Ready");
      if (ready)
        Object.assign(ready, {
          reason: "ContainersNotReady",
          message: "containers with unready status: [web]",
        });
    });
    expect(podProblem(pod)).toBe("containers with unready status: [web]");
  });

  it("treats terminating and finished pods as not live", () => {
    expect(
      isPodLive(
        derive(webPod("pods.json"), (p) => (p.metadata.deletionTimestamp = "2026-11-25T11:30:00Z")),
      ),
    ).toBe(false);
    expect(isPodLive(derive(webPod("pods.json"), (p) => (p.status.phase = "Succeeded")))).toBe(
      false,
    );
  });
});
