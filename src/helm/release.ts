// Decoding of Helm's release storage. A release Secret's `data.release`, as the
// API returns it, is base64 (the API's layer) of base64 (Helm's layer) of gzip (when the magic bytes
// say so) of JSON. Everything here returns errors as values: a corrupt or hostile Secret becomes a
// condition on the app, never an exception in a reconcile.
import { Inflate } from "pako";
import { z } from "zod";

export const ReleaseStatus = z.enum([
  "unknown",
  "deployed",
  "uninstalled",
  "superseded",
  "failed",
  "uninstalling",
  "pending-install",
  "pending-upgrade",
  "pending-rollback",
]);
export type ReleaseStatus = z.infer<typeof ReleaseStatus>;

export function isPending(status: ReleaseStatus): boolean {
  return status.startsWith("pending-");
}

/**
 * The parts of Helm's release JSON Cairn reads. Unknown keys are dropped on parse, which also keeps
 * the chart's templates and files (the bulk of a release) out of the cache.
 */
export const Release = z.object({
  name: z.string().min(1),
  namespace: z.string().min(1),
  version: z.number().int().positive(),
  info: z.object({
    status: ReleaseStatus,
    first_deployed: z.string().optional(),
    last_deployed: z.string().optional(),
    description: z.string().optional(),
  }),
  chart: z.object({
    metadata: z.object({
      name: z.string().min(1),
      version: z.string().min(1),
      appVersion: z.string().optional(),
    }),
  }),
  // Helm omits both when empty (Go's omitempty), so absent means "no values" and "no manifest".
  config: z
    .record(z.string(), z.unknown())
    .nullish()
    .transform((c) => c ?? {}),
  manifest: z.string().default(""),
});
export type Release = z.infer<typeof Release>;

export type ReleaseError =
  | { readonly code: "NotAReleaseSecret"; readonly message: string }
  | { readonly code: "MissingData"; readonly message: string }
  | {
      readonly code: "TooLarge";
      /** encoded: data.release itself; decoded: the bytes after gzip. */
      readonly stage: "encoded" | "decoded";
      readonly limit: number;
      readonly message: string;
    }
  | { readonly code: "InvalidBase64"; readonly layer: "api" | "helm"; readonly message: string }
  | { readonly code: "BadGzip"; readonly message: string }
  | { readonly code: "InvalidUtf8"; readonly message: string }
  | { readonly code: "InvalidJson"; readonly message: string }
  | {
      readonly code: "SchemaMismatch";
      readonly issues: readonly string[];
      readonly message: string;
    };
export type ReleaseErrorCode = ReleaseError["code"];

export type DecodeResult =
  | { readonly ok: true; readonly release: Release; readonly decodedBytes: number }
  | { readonly ok: false; readonly error: ReleaseError };

export interface DecodeLimits {
  /**
   * Characters of data.release. A Secret holds at most 1 MiB of data, which the API's base64 turns
   * into about 1.4 MiB of text; anything far beyond cannot have come from a real Secret.
   */
  readonly maxEncodedLength: number;
  /** Bytes of release JSON after inflating; caps what a gzip bomb can cost. */
  readonly maxDecodedBytes: number;
}

export const DEFAULT_LIMITS: DecodeLimits = {
  maxEncodedLength: 4 * 1024 * 1024,
  maxDecodedBytes: 16 * 1024 * 1024,
};

const GZIP_MAGIC = [0x1f, 0x8b, 0x08] as const;
// Node's Buffer.from(…, "base64") skips characters it does not know, so a corrupt value would
// decode to garbage that fails later with a misleading error. Both layers are standard, padded
// base64 without line breaks (Go's base64.StdEncoding).
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
// Feeding the inflater in slices bounds the work spent past the limit to one slice's expansion.
const INFLATE_SLICE = 16 * 1024;

function fail(error: ReleaseError): DecodeResult {
  return { ok: false, error };
}

function decodeBase64(text: string): Buffer | undefined {
  return text.length % 4 === 0 && BASE64.test(text) ? Buffer.from(text, "base64") : undefined;
}

function startsWithGzipMagic(bytes: Uint8Array): boolean {
  return GZIP_MAGIC.every((b, i) => bytes[i] === b);
}

type Inflated =
  | { readonly ok: true; readonly bytes: Uint8Array }
  | { readonly ok: false; readonly error: ReleaseError };

function gunzip(bytes: Uint8Array, limit: number): Inflated {
  const inflater = new Inflate();
  const chunks: Uint8Array[] = [];
  let total = 0;
  inflater.onData = (chunk) => {
    total += chunk.length;
    if (total <= limit) chunks.push(chunk);
  };
  for (let at = 0; at < bytes.length && !inflater.ended && total <= limit; at += INFLATE_SLICE) {
    inflater.push(bytes.subarray(at, at + INFLATE_SLICE), at + INFLATE_SLICE >= bytes.length);
  }
  if (total > limit) {
    return {
      ok: false,
      error: {
        code: "TooLarge",
        stage: "decoded",
        limit,
        message: `the release inflates to more than ${limit} bytes`,
      },
    };
  }
  if (inflater.err !== 0 || !inflater.ended) {
    const why = inflater.msg || "the stream ends early";
    return { ok: false, error: { code: "BadGzip", message: `the gzip stream is corrupt: ${why}` } };
  }
  return { ok: true, bytes: Buffer.concat(chunks) };
}

/** Decodes `data.release` exactly as the API returns it (two base64 layers, not one, not three). */
export function decodeRelease(data: string, limits: DecodeLimits = DEFAULT_LIMITS): DecodeResult {
  if (data.length > limits.maxEncodedLength) {
    return fail({
      code: "TooLarge",
      stage: "encoded",
      limit: limits.maxEncodedLength,
      message: `data.release has ${data.length} characters, more than the ${limits.maxEncodedLength} a release Secret can hold`,
    });
  }
  const helmText = decodeBase64(data);
  if (!helmText) {
    return fail({
      code: "InvalidBase64",
      layer: "api",
      message: "data.release is not valid base64",
    });
  }
  const packed = decodeBase64(helmText.toString("latin1"));
  if (!packed) {
    // Gzip bytes here mean the caller already removed the API layer (what Go clients do).
    const hint = startsWithGzipMagic(helmText)
      ? "; it is gzip already, so data.release was decoded once too often before it came here"
      : "";
    return fail({
      code: "InvalidBase64",
      layer: "helm",
      message: `the API-decoded release is not valid base64${hint}`,
    });
  }
  let bytes: Uint8Array = packed;
  if (startsWithGzipMagic(packed)) {
    const inflated = gunzip(packed, limits.maxDecodedBytes);
    if (!inflated.ok) return inflated;
    bytes = inflated.bytes;
  } else if (packed.length > limits.maxDecodedBytes) {
    // Releases written by old Helm versions are stored uncompressed.
    return fail({
      code: "TooLarge",
      stage: "decoded",
      limit: limits.maxDecodedBytes,
      message: `the release has ${packed.length} bytes, more than ${limits.maxDecodedBytes}`,
    });
  }
  return parseReleaseJson(bytes);
}

function parseReleaseJson(bytes: Uint8Array): DecodeResult {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return fail({ code: "InvalidUtf8", message: "the release is not UTF-8 text" });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return fail({ code: "InvalidJson", message: `the release is not JSON: ${why}` });
  }
  const parsed = Release.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    return fail({
      code: "SchemaMismatch",
      issues,
      message: `the release JSON does not have the expected shape: ${issues.slice(0, 3).join("; ")}`,
    });
  }
  return { ok: true, release: parsed.data, decodedBytes: bytes.length };
}
