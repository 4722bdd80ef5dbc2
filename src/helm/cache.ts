// Decoded releases keyed by the Secret's uid and resourceVersion. A release Secret changes only when
// Helm rewrites it (a status flip), so every reconcile of an unchanged app skips the base64, gzip and
// JSON work. Results are cached whether they succeeded or not: a corrupt Secret stays corrupt until
// its resourceVersion moves. The owner (main.ts) creates one and passes it in; there is no global.
import { DEFAULT_LIMITS, type DecodeLimits } from "./release.ts";
import { decodeReleaseSecret, type SecretDecodeResult } from "./secret.ts";

export interface ReleaseDecoder {
  decode(secret: unknown): SecretDecodeResult;
}

export interface ReleaseCacheOptions {
  /** Entries kept, least recently used first out. */
  readonly maxEntries?: number;
  /** Decoded bytes kept in total; a rough bound on memory (parsed objects cost more). */
  readonly maxBytes?: number;
  readonly limits?: DecodeLimits;
}

interface Entry {
  readonly result: SecretDecodeResult;
  readonly weight: number;
}

function keyOf(secret: unknown): string | undefined {
  const meta = (secret as { metadata?: { uid?: unknown; resourceVersion?: unknown } } | null)
    ?.metadata;
  const uid = meta?.uid;
  const rv = meta?.resourceVersion;
  return typeof uid === "string" && uid && typeof rv === "string" && rv
    ? `${uid}/${rv}`
    : undefined;
}

export class ReleaseCache implements ReleaseDecoder {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #limits: DecodeLimits;
  #bytes = 0;
  #hits = 0;
  #misses = 0;

  constructor(options: ReleaseCacheOptions = {}) {
    this.#maxEntries = options.maxEntries ?? 256;
    this.#maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    this.#limits = options.limits ?? DEFAULT_LIMITS;
  }

  decode(secret: unknown): SecretDecodeResult {
    const key = keyOf(secret);
    if (key === undefined) return decodeReleaseSecret(secret, this.#limits);
    const hit = this.#entries.get(key);
    if (hit) {
      // Re-insert so Map order stays least-recently-used first.
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      this.#hits++;
      return hit.result;
    }
    this.#misses++;
    const result = decodeReleaseSecret(secret, this.#limits);
    const weight = result.ok ? result.decodedBytes : 0;
    if (weight <= this.#maxBytes) {
      this.#entries.set(key, { result, weight });
      this.#bytes += weight;
      this.#evict();
    }
    return result;
  }

  get size(): number {
    return this.#entries.size;
  }

  get stats(): { readonly hits: number; readonly misses: number; readonly bytes: number } {
    return { hits: this.#hits, misses: this.#misses, bytes: this.#bytes };
  }

  #evict(): void {
    for (const [key, entry] of this.#entries) {
      if (this.#entries.size <= this.#maxEntries && this.#bytes <= this.#maxBytes) return;
      this.#entries.delete(key);
      this.#bytes -= entry.weight;
    }
  }
}
