// The plugin's reads of Cairn's objects (parsed with the API's zod schemas, with "not found"
// errors that name what does exist), and the creation of requests under generated names.
import type { z } from "zod";
import { parseWithMessage } from "../api/errors.ts";
import { API_VERSION, Kind } from "../api/group.ts";
import { ManagedApp } from "../api/managedapp.ts";
import { RollbackRequest } from "../api/rollbackrequest.ts";
import { UpgradeRequest } from "../api/upgraderequest.ts";
import type { KubeClient, KubeObject } from "../kube/client.ts";
import { isKubeError } from "../kube/errors.ts";
import { CliError } from "./errors.ts";
import { randomSuffix, requestName } from "./names.ts";
import { newestFirst, type AnyRequest } from "./requests.ts";

/** Parses one object; a malformed one (hand-edited, or from a newer Cairn) is named, not skipped. */
export function parseObject<S extends z.ZodType>(schema: S, obj: KubeObject): z.output<S> {
  const parsed = parseWithMessage(schema, obj);
  if (!parsed.success) {
    const where = obj.metadata.namespace ? `${obj.metadata.namespace}/` : "";
    throw new CliError(
      `cannot read ${obj.kind.toLowerCase()} ${where}${obj.metadata.name ?? ""}: ${parsed.message}`,
    );
  }
  return parsed.data;
}

async function listParsed<S extends z.ZodType>(
  client: KubeClient,
  kind: Kind,
  schema: S,
  namespace: string | undefined,
  labelSelector?: string,
): Promise<z.output<S>[]> {
  const { items } = await client.list(API_VERSION, kind, {
    ...(namespace ? { namespace } : {}),
    ...(labelSelector ? { labelSelector } : {}),
  });
  return items.map((item) => parseObject(schema, item));
}

/**
 * Apps of one namespace, or of all of them when namespace is undefined, sorted by name; only
 * those matching the label selector when one is given.
 */
export async function listApps(
  client: KubeClient,
  namespace?: string,
  selector?: string,
): Promise<ManagedApp[]> {
  const apps = await listParsed(client, Kind.ManagedApp, ManagedApp, namespace, selector);
  return apps.sort(
    (a, b) =>
      (a.metadata.namespace ?? "").localeCompare(b.metadata.namespace ?? "") ||
      a.metadata.name.localeCompare(b.metadata.name),
  );
}

export async function listUpgrades(
  client: KubeClient,
  namespace?: string,
): Promise<UpgradeRequest[]> {
  return listParsed(client, Kind.UpgradeRequest, UpgradeRequest, namespace);
}

export async function listRollbacks(
  client: KubeClient,
  namespace?: string,
): Promise<RollbackRequest[]> {
  return listParsed(client, Kind.RollbackRequest, RollbackRequest, namespace);
}

export function appNotFound(name: string, namespace: string, apps: readonly string[]): CliError {
  const here = apps.length > 0 ? apps.join(", ") : "(none)";
  return new CliError(
    `managedapp "${name}" not found in namespace "${namespace}"; apps here: ${here}`,
  );
}

async function getParsed<S extends z.ZodType>(
  client: KubeClient,
  kind: Kind,
  schema: S,
  namespace: string,
  name: string,
): Promise<z.output<S> | undefined> {
  try {
    return parseObject(
      schema,
      await client.get({ apiVersion: API_VERSION, kind, namespace, name }),
    );
  } catch (err) {
    if (isKubeError(err, "NotFound")) return undefined;
    throw err;
  }
}

/** The app, or an error that lists the apps of the namespace. */
export async function getApp(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<ManagedApp> {
  const got = await getParsed(client, Kind.ManagedApp, ManagedApp, namespace, name);
  if (got) return got;
  const apps = await listApps(client, namespace);
  throw appNotFound(
    name,
    namespace,
    apps.map((a) => a.metadata.name),
  );
}

/** The upgrade, or an error that lists the newest upgrades of the namespace. */
export async function getUpgrade(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<UpgradeRequest> {
  const got = await getParsed(client, Kind.UpgradeRequest, UpgradeRequest, namespace, name);
  if (got) return got;
  const recent = newestFirst(await listUpgrades(client, namespace)).map((u) => u.metadata.name);
  const shown = recent.length > 0 ? recent.slice(0, 10).join(", ") : "(none)";
  const more = recent.length > 10 ? `, and ${recent.length - 10} more` : "";
  throw new CliError(
    `upgraderequest "${name}" not found in namespace "${namespace}"; upgrades here: ${shown}${more}`,
  );
}

/** Creates the request under a fresh name; a name already taken (5 random characters) gets another. */
export async function createNamed(
  client: KubeClient,
  build: (name: string) => KubeObject,
  base: string,
  role: string,
): Promise<KubeObject> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await client.create(build(requestName(base, role, randomSuffix())));
    } catch (err) {
      if (!isKubeError(err, "AlreadyExists") || attempt >= 2) throw err;
    }
  }
}

/** A request of either kind by name; an error that lists the newest requests when neither exists. */
export async function getRequest(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<{ request: AnyRequest; raw: KubeObject }> {
  const [upgrade, rollback] = await Promise.all([
    getRaw(client, Kind.UpgradeRequest, namespace, name),
    getRaw(client, Kind.RollbackRequest, namespace, name),
  ]);
  if (upgrade) return { request: parseObject(UpgradeRequest, upgrade), raw: upgrade };
  if (rollback) return { request: parseObject(RollbackRequest, rollback), raw: rollback };
  const [upgrades, rollbacks] = await Promise.all([
    listUpgrades(client, namespace),
    listRollbacks(client, namespace),
  ]);
  const recent = newestFirst<AnyRequest>([...upgrades, ...rollbacks]).map((r) => r.metadata.name);
  const shown = recent.length > 0 ? recent.slice(0, 10).join(", ") : "(none)";
  const more = recent.length > 10 ? `, and ${recent.length - 10} more` : "";
  throw new CliError(
    `no upgraderequest or rollbackrequest "${name}" in namespace "${namespace}"; requests here: ${shown}${more}`,
  );
}

async function getRaw(
  client: KubeClient,
  kind: Kind,
  namespace: string,
  name: string,
): Promise<KubeObject | undefined> {
  try {
    return await client.get({ apiVersion: API_VERSION, kind, namespace, name });
  } catch (err) {
    if (isKubeError(err, "NotFound")) return undefined;
    throw err;
  }
}

/** The core/v1 Events about one object (those written as events.k8s.io/v1 included). */
export async function listEventsAbout(
  client: KubeClient,
  namespace: string,
  kind: string,
  name: string,
): Promise<KubeObject[]> {
  const { items } = await client.list("v1", "Event", {
    namespace,
    fieldSelector: `involvedObject.kind=${kind},involvedObject.name=${name}`,
  });
  return [...items];
}
