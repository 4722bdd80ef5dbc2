// Status conditions, as metav1.Condition has them. Pure functions over readonly lists: a reconcile
// builds its next status from the last one and hands it to the status patcher, which sends the
// list whole when anything in it changed.

export type ConditionStatus = "True" | "False" | "Unknown";

export interface Condition {
  readonly type: string;
  readonly status: ConditionStatus;
  /** CamelCase, machine-readable: why the condition is in this state. */
  readonly reason: string;
  /** For humans; may change on every pass without counting as a transition. */
  readonly message: string;
  /** RFC 3339, second precision (metav1.Time): when `status` last flipped. */
  readonly lastTransitionTime: string;
  /** The metadata.generation the condition was computed from. */
  readonly observedGeneration: number;
}

/** What a reconcile decides; the time fields are the library's business. */
export interface ConditionUpdate {
  readonly type: string;
  readonly status: ConditionStatus;
  readonly reason: string;
  readonly message: string;
}

export type Conditions = readonly Condition[] | undefined;

/** metav1.Time: RFC 3339 in UTC with whole seconds, as the API server writes it. */
export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, "Z");
}

/**
 * Returns a new list with the condition set. `lastTransitionTime` moves to `now` only when the
 * status flips (or the condition is new); reason, message and observedGeneration follow the
 * update freely. The position of an existing condition is kept, new ones go last, so a list
 * that did not change compares equal to the old one and the patcher sends nothing.
 */
export function setCondition(
  list: Conditions,
  update: ConditionUpdate,
  now: Date,
  generation: number,
): Condition[] {
  const current = list ?? [];
  const existing = current.find((c) => c.type === update.type);
  const next: Condition = {
    type: update.type,
    status: update.status,
    reason: update.reason,
    message: update.message,
    lastTransitionTime:
      existing && existing.status === update.status ? existing.lastTransitionTime : rfc3339(now),
    observedGeneration: generation,
  };
  if (!existing) return [...current, next];
  return current.map((c) => (c.type === update.type ? next : c));
}

export function getCondition(list: Conditions, type: string): Condition | undefined {
  return list?.find((c) => c.type === type);
}

export function isTrue(list: Conditions, type: string): boolean {
  return getCondition(list, type)?.status === "True";
}

export function isFalse(list: Conditions, type: string): boolean {
  return getCondition(list, type)?.status === "False";
}

/** Neither True nor False: Unknown, or not set at all. */
export function isUnknown(list: Conditions, type: string): boolean {
  const status = getCondition(list, type)?.status;
  return status === undefined || status === "Unknown";
}

/** Returns a new list without the condition (the same elements if it was not there). */
export function removeCondition(list: Conditions, type: string): Condition[] {
  return (list ?? []).filter((c) => c.type !== type);
}
