// Small readers for object status in tests.
import type { KubeClient, KubeObject, ObjectRef } from "../../src/kube/client.ts";
import { isKubeError } from "../../src/kube/errors.ts";

export interface Condition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
  readonly observedGeneration?: number;
}

export function conditions(obj: KubeObject): readonly Condition[] {
  return (obj["status"] as { conditions?: Condition[] } | undefined)?.conditions ?? [];
}

/** Ready=True for the object's current generation (a stale Ready says nothing). */
export function isReadyNow(obj: KubeObject): boolean {
  const status = obj["status"] as { observedGeneration?: number } | undefined;
  const ready = conditions(obj).find((c) => c.type === "Ready");
  return (
    ready?.status === "True" &&
    status?.observedGeneration === obj.metadata.generation &&
    (ready.observedGeneration === undefined || ready.observedGeneration === obj.metadata.generation)
  );
}

export function statusOf<T>(obj: KubeObject): Partial<T> {
  return obj["status"] ?? {};
}

export async function getOrUndefined(
  client: KubeClient,
  ref: ObjectRef,
): Promise<KubeObject | undefined> {
  try {
    return await client.get(ref);
  } catch (err) {
    if (isKubeError(err, "NotFound")) return undefined;
    throw err;
  }
}

/** Flux's reconcile handshake: a changed token wakes the controller. */
export async function requestReconcile(client: KubeClient, ref: ObjectRef): Promise<void> {
  await client.mergePatch(ref, {
    metadata: { annotations: { "reconcile.fluxcd.io/requestedAt": new Date().toISOString() } },
  });
}

export async function warningEvents(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<string[]> {
  const { items } = await client.list("v1", "Event", {
    namespace,
    fieldSelector: `involvedObject.name=${name},type=Warning`,
  });
  return items.map((e) => `${String(e["reason"])}: ${String(e["message"])}`);
}
