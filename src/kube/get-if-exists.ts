// A read where "not there" is an answer, not an error: every other failure still throws.
import type { KubeClient, KubeObject, ObjectRef } from "./client.ts";
import { isKubeError } from "./errors.ts";

export async function getIfExists(
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
