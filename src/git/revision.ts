// Flux names the commit a source or a Kustomization is at in a revision string ("main@sha1:abc…",
// or the bare SHA of older controllers): the SHA is what Git is asked about.

/** "main@sha1:abc…" or "abc…" → "abc…". */
export function revisionSha(revision: unknown): string | undefined {
  if (typeof revision !== "string" || revision === "") return undefined;
  const at = revision.lastIndexOf(":");
  const sha = at >= 0 ? revision.slice(at + 1) : revision.slice(revision.lastIndexOf("/") + 1);
  return /^[0-9a-f]{40,64}$/.test(sha) ? sha : undefined;
}
