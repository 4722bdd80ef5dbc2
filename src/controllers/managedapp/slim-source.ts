// What the ManagedApp controller's informers list and watch, without metadata.managedFields: the
// field-ownership records are 40–50 % of a typical pod, ReplicaSet or PVC as the API returns it,
// nothing in this controller reads them, and the informers hold every such object of the
// cluster. Dropping them as objects arrive keeps them out of the caches altogether.
import type {
  KubeObject,
  ListOptions,
  ListResult,
  WatchEvent,
  WatchOptions,
} from "../../kube/client.ts";
import type { WatchSource } from "../../runtime/informer.ts";

export function withoutManagedFields(obj: KubeObject): KubeObject {
  if (!("managedFields" in obj.metadata)) return obj;
  const metadata: Record<string, unknown> = { ...obj.metadata };
  delete metadata["managedFields"];
  return { ...obj, metadata };
}

export function slimSource(source: WatchSource): WatchSource {
  return {
    async list(apiVersion: string, kind: string, opts?: ListOptions): Promise<ListResult> {
      const result = await source.list(apiVersion, kind, opts);
      return { ...result, items: result.items.map(withoutManagedFields) };
    },
    async *watch(apiVersion: string, kind: string, opts?: WatchOptions): AsyncIterable<WatchEvent> {
      for await (const event of source.watch(apiVersion, kind, opts)) {
        yield event.type === "BOOKMARK"
          ? event
          : { type: event.type, object: withoutManagedFields(event.object) };
      }
    },
  };
}
