// PVC health: Bound, nothing else. A restored PVC on a WaitForFirstConsumer class stays Pending
// until its pod is scheduled, so this is checked once the workloads run.
import { z } from "zod";
import { current, failed, inProgress, type KindStatus } from "./status.ts";

export const PersistentVolumeClaim = z.object({
  metadata: z.object({ name: z.string().min(1), namespace: z.string().default("") }),
  status: z.object({ phase: z.string().optional() }).default({}),
});
export type PersistentVolumeClaim = z.infer<typeof PersistentVolumeClaim>;

export function pvcStatus(pvc: PersistentVolumeClaim): KindStatus {
  const phase = pvc.status.phase ?? "Pending";
  if (phase === "Bound") return current("Bound");
  // Lost: the bound PersistentVolume is gone; no controller brings it back.
  if (phase === "Lost") return failed("PvcLost", "the claim lost its PersistentVolume");
  return inProgress("PvcNotBound", `the claim is ${phase}`);
}
