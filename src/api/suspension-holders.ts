// Who holds a Flux object's suspension: the requests listed in its cairn.dev/suspended-by
// annotation. Two apps may suspend the same Flux object (a parent Kustomization they share), so a
// suspension is shared: each request adds itself before relying on it and takes itself off when
// it is done, and only the last one out resumes the object. The controller writes the list, the
// plugin reads it (unfreeze refuses while a listed request is live).
import { z } from "zod";
import { Annotation } from "./group.ts";

export const SuspensionHolder = z.object({
  kind: z.enum(["UpgradeRequest", "RollbackRequest"]),
  namespace: z.string(),
  name: z.string(),
  uid: z.string(),
  /**
   * The upgrade the holder works on (its own name for an UpgradeRequest, the one it rolls back
   * for a RollbackRequest): a rollback takes over what the upgrade, or an earlier rollback of the
   * same upgrade, left frozen.
   */
  upgrade: z.string(),
});
export type SuspensionHolder = z.infer<typeof SuspensionHolder>;

const HolderList = z.array(SuspensionHolder);

/** The holders an object's annotation lists; an unreadable value lists none. */
export function suspensionHoldersOf(obj: {
  readonly metadata: { readonly annotations?: Readonly<Record<string, string>> | undefined };
}): SuspensionHolder[] {
  const raw = obj.metadata.annotations?.[Annotation.SuspendedBy];
  if (!raw) return [];
  try {
    const parsed = HolderList.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : [];
  } catch {
    return [];
  }
}

/** The annotation's value for a list of holders; null (remove it) for none. */
export function suspensionHoldersValue(holders: readonly SuspensionHolder[]): string | null {
  return holders.length === 0 ? null : JSON.stringify(holders);
}

export const sameHolder = (a: SuspensionHolder, b: SuspensionHolder): boolean =>
  a.uid === b.uid && a.kind === b.kind && a.name === b.name && a.namespace === b.namespace;

export function describeHolder(h: SuspensionHolder): string {
  return `${h.kind} ${h.namespace}/${h.name}`;
}
