// Why a pod is not ready, in the words a user searches for: the container's waiting reason
// (CreateContainerConfigError, ImagePullBackOff, CrashLoopBackOff …), a termination reason
// (OOMKilled, Error), or the scheduler's verdict (Unschedulable).
import { z } from "zod";
import { Condition, findCondition } from "./status.ts";
import { WorkloadMeta } from "./workloads.ts";

const ContainerState = z.object({
  waiting: z.object({ reason: z.string().optional(), message: z.string().optional() }).nullish(),
  running: z.object({}).loose().nullish(),
  terminated: z
    .object({
      reason: z.string().optional(),
      message: z.string().optional(),
      exitCode: z.number().optional(),
    })
    .nullish(),
});

const ContainerStatus = z.object({
  name: z.string(),
  ready: z.boolean().optional(),
  restartCount: z.number().optional(),
  state: ContainerState.nullish(),
  lastState: ContainerState.nullish(),
});
type ContainerStatus = z.infer<typeof ContainerStatus>;

export const Pod = z.object({
  metadata: WorkloadMeta,
  status: z
    .object({
      phase: z.string().optional(),
      conditions: z.array(Condition).nullish(),
      initContainerStatuses: z.array(ContainerStatus).nullish(),
      containerStatuses: z.array(ContainerStatus).nullish(),
    })
    .default({}),
});
export type Pod = z.infer<typeof Pod>;

export function isPodReady(pod: Pod): boolean {
  return findCondition(pod.status.conditions, "Ready")?.status === "True";
}

/** A pod that has finished or is going away does not count for readiness. */
export function isPodLive(pod: Pod): boolean {
  const phase = pod.status.phase;
  return (
    pod.metadata.deletionTimestamp === undefined && phase !== "Succeeded" && phase !== "Failed"
  );
}

// Waiting while the pod is still being set up is the normal path, not a diagnosis.
const ROUTINE_WAITING = new Set(["ContainerCreating", "PodInitializing"]);

function containerProblem(c: ContainerStatus, init: boolean): string | undefined {
  const label = `${init ? "init container" : "container"} ${c.name}`;
  const waiting = c.state?.waiting;
  if (waiting?.reason && !ROUTINE_WAITING.has(waiting.reason)) {
    const last = c.lastState?.terminated;
    const lastExit = last?.reason
      ? ` (last exit: ${last.reason}${last.exitCode !== undefined ? `, code ${last.exitCode}` : ""})`
      : "";
    return `${label}: ${waiting.reason}${waiting.message ? ` (${waiting.message})` : ""}${lastExit}`;
  }
  const terminated = c.state?.terminated;
  if (terminated && (init ? terminated.exitCode !== 0 : true)) {
    const reason = terminated.reason ?? `exit code ${terminated.exitCode ?? "?"}`;
    return `${label}: terminated, ${reason}${terminated.message ? ` (${terminated.message})` : ""}`;
  }
  return undefined;
}

/** The most telling reason the pod is not ready; undefined when nothing specific is known. */
export function podProblem(pod: Pod): string | undefined {
  for (const c of pod.status.initContainerStatuses ?? []) {
    const p = containerProblem(c, true);
    if (p) return p;
  }
  for (const c of pod.status.containerStatuses ?? []) {
    const p = containerProblem(c, false);
    if (p) return p;
  }
  const scheduled = findCondition(pod.status.conditions, "PodScheduled");
  if (scheduled?.status === "False") {
    return `${scheduled.reason ?? "not scheduled"}${scheduled.message ? ` (${scheduled.message})` : ""}`;
  }
  const ready = findCondition(pod.status.conditions, "Ready");
  if (ready?.status === "False" && ready.message) return ready.message;
  const phase = pod.status.phase;
  return phase && phase !== "Running" ? `phase ${phase}` : undefined;
}

export function describePod(pod: Pod): string {
  const problem = podProblem(pod);
  const name = `pod ${pod.metadata.namespace}/${pod.metadata.name}`;
  return problem ? `${name}: ${problem}` : `${name} is not ready`;
}
