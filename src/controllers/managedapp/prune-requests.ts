// The imperative shell around request-history.ts: gather one app's requests from the informers,
// delete what the selection returns. Run by the ManagedApp controller on every pass of the app,
// which any change of one of its requests wakes, so a request that finishes prunes the oldest at
// once. Each deletion carries the uid as a precondition: a request deleted and created again
// under the same name since the informer saw it is never the one that goes.
import { API_VERSION, Label, type ManagedApp } from "../../api/index.ts";
import type { KubeApi, KubeObject } from "../../kube/client.ts";
import { isKubeError } from "../../kube/errors.ts";
import type { Informer } from "../../runtime/informer.ts";
import { NAMESPACE_INDEX } from "../../runtime/store.ts";
import { isSkipMarker } from "./auto-update.ts";
import { historyItem, selectPrunable, type HistoryItem } from "./request-history.ts";

export interface RequestInformers {
  readonly upgrades: Informer;
  readonly rollbacks: Informer;
}

/**
 * The app's requests in its namespace: by the label Plan sets, else an upgrade's
 * spec.managedAppRef, else a rollback's upgrade (a request refused before Plan has no label).
 */
export function requestsOfApp(
  informers: RequestInformers,
  namespace: string,
  app: string,
): KubeObject[] {
  const upgrades = informers.upgrades.byIndex(NAMESPACE_INDEX, namespace);
  const upgradeApp = (u: KubeObject | undefined) =>
    u?.metadata.labels?.[Label.ManagedApp] ??
    (u?.["spec"] as { managedAppRef?: { name?: string } } | undefined)?.managedAppRef?.name;
  const rollbackApp = (r: KubeObject) => {
    const label = r.metadata.labels?.[Label.ManagedApp];
    if (label !== undefined) return label;
    const ref = (r["spec"] as { upgradeRequestRef?: { name?: string } } | undefined)
      ?.upgradeRequestRef?.name;
    return upgradeApp(upgrades.find((u) => u.metadata.name === ref));
  };
  return [
    ...upgrades.filter((u) => upgradeApp(u) === app),
    ...informers.rollbacks
      .byIndex(NAMESPACE_INDEX, namespace)
      .filter((r) => rollbackApp(r) === app),
  ];
}

/** Deletes the app's finished requests beyond its requestHistory limits; returns those deleted. */
export async function pruneRequests(
  client: KubeApi,
  informers: RequestInformers,
  app: ManagedApp,
): Promise<HistoryItem[]> {
  const namespace = app.metadata.namespace ?? "";
  // An automatic request that did not succeed is the memory that its version is skipped
  // (auto-update.ts): it stays until a person deletes it.
  const items = requestsOfApp(informers, namespace, app.metadata.name)
    .filter((r) => !isSkipMarker(r))
    .map(historyItem);
  const { prune } = selectPrunable(items, app.spec.requestHistory);
  const deleted: HistoryItem[] = [];
  for (const item of prune) {
    try {
      await client.delete(
        { apiVersion: API_VERSION, kind: item.kind, namespace, name: item.name },
        { preconditions: { uid: item.uid } },
      );
      deleted.push(item);
    } catch (err) {
      // Gone already, or a new object under the old name (the uid precondition): not ours.
      if (!isKubeError(err, "NotFound") && !isKubeError(err, "Conflict")) throw err;
    }
  }
  return deleted;
}
