// Queue and store keys: "namespace/name" for namespaced objects, "name" for cluster-scoped ones,
// as in client-go, so a key names an object without carrying it.

/** Only the two fields a key needs, so parsed (zod) metadata fits as well as raw ObjectMeta. */
export interface KeyedMeta {
  readonly name?: string | undefined;
  readonly namespace?: string | undefined;
}

export function objectKey(meta: KeyedMeta): string {
  const name = meta.name ?? "";
  return meta.namespace ? `${meta.namespace}/${name}` : name;
}

export interface KeyParts {
  readonly namespace: string | undefined;
  readonly name: string;
}

export function splitKey(key: string): KeyParts {
  const slash = key.indexOf("/");
  if (slash < 0) return { namespace: undefined, name: key };
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
