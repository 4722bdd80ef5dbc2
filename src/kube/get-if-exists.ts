// A read where "not there" is an answer, not an error: every other failure still throws.
import type { KubeApi, KubeObject, ObjectRef } from "./client.ts";
import { isKubeError } from "./errors.ts";

export async function getIfExists(
  client: Pick<KubeApi, "get">,
  ref: ObjectRef,
): Promise<KubeObject | undefined> {
  try {
    return await client.get(ref);
  } catch (err) {
    if (isKubeError(err, "NotFound")) return undefined;
    throw err;
  }
}
