// The demo's data: bytes written into the StatefulSet's volume, standing in for what the app's
// database holds, and a digest of every file in a volume to compare before and after. On the
// test bed a volume is a folder of the CSI simulator (testbed/src/volumes.ts finds it).
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";

/** Deterministic bytes: the same label always gives the same content. */
export function demoBytes(label: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash("sha256").update(label).digest();
  for (let at = 0; at < size; at += block.length) {
    block.copy(out, at, 0, Math.min(block.length, size - at));
    block = createHash("sha256").update(block).digest();
  }
  return out;
}

export function sha256(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Every regular file under folder (relative path → sha256 and size), in path order. */
export type VolumeDigest = Readonly<
  Record<string, { readonly sha256: string; readonly bytes: number }>
>;

export async function digestFolder(folder: string): Promise<VolumeDigest> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  const files = entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
  const digest: Record<string, { sha256: string; bytes: number }> = {};
  for (const file of files) {
    const bytes = await readFile(file);
    digest[relative(folder, file)] = { sha256: sha256(bytes), bytes: bytes.length };
  }
  return digest;
}

/** One sha256 over the whole digest: equal folders, equal fingerprints. */
export function fingerprint(digest: VolumeDigest): string {
  return sha256(
    Object.entries(digest)
      .map(([path, f]) => `${path} ${f.bytes} ${f.sha256}`)
      .join("\n"),
  );
}

/** What differs between two digests, for a failure message ("orders.db changed", …). */
export function differences(expected: VolumeDigest, actual: VolumeDigest): string[] {
  const out: string[] = [];
  for (const [path, f] of Object.entries(expected)) {
    const a = actual[path];
    if (!a) out.push(`${path} is missing`);
    else if (a.sha256 !== f.sha256) out.push(`${path} changed (${f.bytes} → ${a.bytes} bytes)`);
  }
  for (const path of Object.keys(actual)) if (!(path in expected)) out.push(`${path} is new`);
  return out;
}
