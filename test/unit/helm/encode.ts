// Builds release Secrets the way Helm and the API layer do, for variants derived from the captured
// ones: JSON → gzip (optional) → base64 (Helm) → base64 (API). Kept independent of the code under
// test, so a decoding bug cannot cancel out against the same bug in the fixture (FluxUp defect 5).
import { gzip, inflate } from "pako";
import type { KubeObject } from "../../../src/kube/client.ts";
import { captured, derive } from "../../fixtures/load.ts";

export function apiLayer(helmBytes: Uint8Array): string {
  return Buffer.from(Buffer.from(helmBytes).toString("base64")).toString("base64");
}

export function encodeReleaseBytes(bytes: Uint8Array, compress = true): string {
  return apiLayer(compress ? gzip(bytes) : bytes);
}

export function encodeRelease(json: unknown, compress = true): string {
  return encodeReleaseBytes(new TextEncoder().encode(JSON.stringify(json)), compress);
}

export function releaseData(secret: KubeObject): string {
  return (secret["data"] as { release: string }).release;
}

/** Helm's bytes inside a captured Secret: what is left after the API's base64 and Helm's. */
export function helmBytes(secret: KubeObject): Buffer {
  return Buffer.from(Buffer.from(releaseData(secret), "base64").toString("latin1"), "base64");
}

/** The full release JSON inside a captured Secret. */
export function releaseJson(secret: KubeObject): Record<string, unknown> {
  return JSON.parse(new TextDecoder().decode(inflate(helmBytes(secret)))) as Record<
    string,
    unknown
  >;
}

/** The captured Secret with data.release replaced. */
export function withRelease(file: string, data: string): KubeObject {
  return derive(captured(file), (s) => {
    (s["data"] as { release: string }).release = data;
  });
}
