// Flux inventories (Kustomization status.inventory; HelmRelease status.inventory since
// helm-controller 1.5): entries `{id: "<namespace>_<name>_<group>_<kind>", v: "<version>"}`
// Namespaces, groups and kinds cannot contain "_", names can (RBAC names
// also contain ":", written as "__"), so the split works from both ends towards the name.
import { z } from "zod";
import type { AppObjectRef } from "./refs.ts";

export interface InventoryId {
  /** "" for a cluster-scoped object. */
  readonly namespace: string;
  readonly name: string;
  /** "" for the core group. */
  readonly group: string;
  readonly kind: string;
}

export interface InventoryError {
  readonly code: "MalformedInventoryId";
  readonly id: string;
  readonly message: string;
}

export type InventoryIdResult =
  | { readonly ok: true; readonly id: InventoryId }
  | { readonly ok: false; readonly error: InventoryError };

export const InventoryEntry = z.object({ id: z.string(), v: z.string() });
export type InventoryEntry = z.infer<typeof InventoryEntry>;

export const Inventory = z.object({ entries: z.array(InventoryEntry).nullish() });
export type Inventory = z.infer<typeof Inventory>;

const NAMESPACE = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$/;
const GROUP = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?)?$/;
const KIND = /^[A-Za-z][A-Za-z0-9]*$/;

function malformed(id: string, why: string): InventoryIdResult {
  return {
    ok: false,
    error: {
      code: "MalformedInventoryId",
      id,
      message: `inventory id ${JSON.stringify(id)} ${why}`,
    },
  };
}

export function parseInventoryId(id: string): InventoryIdResult {
  const first = id.indexOf("_");
  const last = id.lastIndexOf("_");
  if (first < 0 || last === first) return malformed(id, "has fewer than three separators");
  // The group separator is the last "_" before the kind's; searching from last - 1 keeps it from
  // being the first separator, which would leave no name.
  const groupSep = id.lastIndexOf("_", last - 1);
  if (groupSep <= first) return malformed(id, "has fewer than three separators");
  const namespace = id.slice(0, first);
  const rawName = id.slice(first + 1, groupSep);
  const group = id.slice(groupSep + 1, last);
  const kind = id.slice(last + 1);
  if (!NAMESPACE.test(namespace)) return malformed(id, `has an invalid namespace "${namespace}"`);
  if (!GROUP.test(group)) return malformed(id, `has an invalid group "${group}"`);
  if (!KIND.test(kind)) return malformed(id, `has an invalid kind "${kind}"`);
  const name = rawName.replaceAll("__", ":");
  if (name === "") return malformed(id, "has an empty name");
  return { ok: true, id: { namespace, name, group, kind } };
}

export interface ParsedInventory {
  readonly refs: readonly AppObjectRef[];
  readonly errors: readonly InventoryError[];
}

/** Every entry as an object reference; malformed ids are reported, never dropped silently. */
export function parseInventory(entries: readonly InventoryEntry[]): ParsedInventory {
  const refs: AppObjectRef[] = [];
  const errors: InventoryError[] = [];
  for (const entry of entries) {
    const parsed = parseInventoryId(entry.id);
    if (!parsed.ok) {
      errors.push(parsed.error);
      continue;
    }
    const { group, kind, namespace, name } = parsed.id;
    refs.push({ apiVersion: group ? `${group}/${entry.v}` : entry.v, kind, namespace, name });
  }
  return { refs, errors };
}

/**
 * Reads `status.inventory` of a Kustomization or HelmRelease. `found: false` when the object has
 * none (helm-controller before 1.5 leaves it out): the caller then falls back to another source.
 */
export function inventoryOf(
  obj: unknown,
): { readonly found: true; readonly inventory: ParsedInventory } | { readonly found: false } {
  const status = (obj as { status?: { inventory?: unknown } } | null | undefined)?.status;
  const parsed = Inventory.safeParse(status?.inventory);
  if (!parsed.success || !parsed.data.entries) return { found: false };
  return { found: true, inventory: parseInventory(parsed.data.entries) };
}
