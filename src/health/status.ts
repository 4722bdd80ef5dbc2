// The kstatus vocabulary: each kind has a pure function saying whether an
// object is Current (done), InProgress (may still get there) or Failed (will not without a change).
import { z } from "zod";

export type Status = "Current" | "InProgress" | "Failed";

export interface KindStatus {
  readonly status: Status;
  /** CamelCase, usable as a condition reason. */
  readonly reason: string;
  readonly message: string;
}

export function current(message: string): KindStatus {
  return { status: "Current", reason: "Current", message };
}

export function inProgress(reason: string, message: string): KindStatus {
  return { status: "InProgress", reason, message };
}

export function failed(reason: string, message: string): KindStatus {
  return { status: "Failed", reason, message };
}

/** metav1.Condition as Flux writes it, and the looser conditions of core kinds. */
export const Condition = z.object({
  type: z.string(),
  status: z.string(),
  reason: z.string().optional(),
  message: z.string().optional(),
  observedGeneration: z.number().optional(),
});
export type Condition = z.infer<typeof Condition>;

export function findCondition(
  conditions: readonly Condition[] | null | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/**
 * The generation check that comes first for every kind: a status written for an older spec says
 * nothing about the current one.
 */
export function generationStatus(
  kind: string,
  generation: number | undefined,
  observedGeneration: number | undefined,
): KindStatus | undefined {
  if (generation === undefined) return undefined;
  if (observedGeneration === undefined || observedGeneration < generation) {
    return inProgress(
      "GenerationNotObserved",
      `${kind} generation ${generation} not observed yet (status is for ${observedGeneration ?? "none"})`,
    );
  }
  return undefined;
}
