// A Helm release Secret (`sh.helm.release.v1.<release>.v<revision>`, type helm.sh/release.v1), as
// the API returns it, decoded into the release it stores.
import { z } from "zod";
import {
  DEFAULT_LIMITS,
  decodeRelease,
  type DecodeLimits,
  type Release,
  type ReleaseError,
} from "./release.ts";

export const RELEASE_SECRET_TYPE = "helm.sh/release.v1";

export const ReleaseSecret = z.object({
  metadata: z.object({
    name: z.string().min(1),
    namespace: z.string().default(""),
    uid: z.string().optional(),
    resourceVersion: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
  }),
  type: z.string().optional(),
  data: z.record(z.string(), z.string()).optional(),
});
export type ReleaseSecret = z.infer<typeof ReleaseSecret>;

/** Which Secret a result is about; revision from the decoded release, else the label or name. */
export interface SecretRef {
  readonly namespace: string;
  readonly name: string;
  readonly revision: number | undefined;
}

export type SecretDecodeResult =
  | {
      readonly ok: true;
      readonly secret: SecretRef;
      readonly release: Release;
      readonly decodedBytes: number;
    }
  | { readonly ok: false; readonly secret: SecretRef | undefined; readonly error: ReleaseError };

/**
 * The revision Helm wrote into the `version` label, or the name's `.v<N>` suffix. Only used to
 * place a Secret that cannot be decoded; a decoded release's own version always wins.
 */
export function revisionHint(secret: ReleaseSecret): number | undefined {
  const fromLabel = secret.metadata.labels?.["version"];
  const text = fromLabel ?? /\.v(\d+)$/.exec(secret.metadata.name)?.[1];
  const n = text !== undefined && /^[1-9]\d*$/.test(text) ? Number(text) : NaN;
  return Number.isSafeInteger(n) ? n : undefined;
}

export function decodeReleaseSecret(
  value: unknown,
  limits: DecodeLimits = DEFAULT_LIMITS,
): SecretDecodeResult {
  const parsed = ReleaseSecret.safeParse(value);
  if (!parsed.success) {
    return {
      ok: false,
      secret: undefined,
      error: {
        code: "NotAReleaseSecret",
        message: "the object is not a Secret with metadata.name",
      },
    };
  }
  const secret = parsed.data;
  const ref: SecretRef = {
    namespace: secret.metadata.namespace,
    name: secret.metadata.name,
    revision: revisionHint(secret),
  };
  const where = `Secret ${ref.namespace}/${ref.name}`;
  if (secret.type !== undefined && secret.type !== RELEASE_SECRET_TYPE) {
    return {
      ok: false,
      secret: ref,
      error: {
        code: "NotAReleaseSecret",
        message: `${where} has type ${secret.type}, not ${RELEASE_SECRET_TYPE}`,
      },
    };
  }
  const data = secret.data?.["release"];
  if (data === undefined) {
    return {
      ok: false,
      secret: ref,
      error: { code: "MissingData", message: `${where} has no data.release` },
    };
  }
  const decoded = decodeRelease(data, limits);
  if (!decoded.ok) {
    return {
      ok: false,
      secret: ref,
      error: { ...decoded.error, message: `${where}: ${decoded.error.message}` },
    };
  }
  return {
    ok: true,
    secret: { ...ref, revision: decoded.release.version },
    release: decoded.release,
    decodedBytes: decoded.decodedBytes,
  };
}
