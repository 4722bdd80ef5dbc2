// Where a HelmRelease's Helm release lives: its name and the namespace of its
// storage Secrets. helm-controller records both in status (history[0].name, status.storageNamespace)
// once it has acted; before that they are computed the way helm-controller computes them, so a
// release installed by an older controller, whose status lacks them, is still found.
import { createHash } from "node:crypto";
import { z } from "zod";

export interface ReleaseLocation {
  /** The Helm release name: the `name` label of its storage Secrets. */
  readonly name: string;
  /** Where the release's objects go when they name no namespace. */
  readonly namespace: string;
  /** Where the storage Secrets live. */
  readonly storageNamespace: string;
}

const HelmReleaseFields = z.object({
  metadata: z.object({ name: z.string().min(1), namespace: z.string().min(1) }),
  spec: z
    .object({
      releaseName: z.string().optional(),
      targetNamespace: z.string().optional(),
      storageNamespace: z.string().optional(),
    })
    .default({}),
  status: z
    .object({
      storageNamespace: z.string().optional(),
      history: z
        .array(z.object({ name: z.string().optional(), namespace: z.string().optional() }))
        .nullish(),
    })
    .default({}),
});

// Helm caps release names at 53 characters; helm-controller shortens longer ones to 40
// characters, a hyphen and the first 12 hex digits of the full name's SHA-256
// (internal/release/name.go, ShortenName).
const MAX_RELEASE_NAME = 53;
const SHORT_HASH = 12;

export function shortenReleaseName(name: string): string {
  if (name.length <= MAX_RELEASE_NAME) return name;
  const hash = createHash("sha256").update(name).digest("hex").slice(0, SHORT_HASH);
  return `${name.slice(0, MAX_RELEASE_NAME - (SHORT_HASH + 1))}-${hash}`;
}

const nonEmpty = (s: string | undefined) => (s === undefined || s === "" ? undefined : s);

export type LocationResult =
  | { readonly ok: true; readonly location: ReleaseLocation }
  | { readonly ok: false; readonly message: string };

export function releaseLocation(helmRelease: unknown): LocationResult {
  const parsed = HelmReleaseFields.safeParse(helmRelease);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      message: `the HelmRelease cannot be read: ${issue ? `${issue.path.join(".")}: ${issue.message}` : "unexpected shape"}`,
    };
  }
  const { metadata, spec, status } = parsed.data;
  const latest = status.history?.[0];
  const target = nonEmpty(spec.targetNamespace);
  const computedName =
    nonEmpty(spec.releaseName) ?? (target ? `${target}-${metadata.name}` : metadata.name);
  return {
    ok: true,
    location: {
      name: nonEmpty(latest?.name) ?? shortenReleaseName(computedName),
      namespace: nonEmpty(latest?.namespace) ?? target ?? metadata.namespace,
      storageNamespace:
        nonEmpty(status.storageNamespace) ?? nonEmpty(spec.storageNamespace) ?? metadata.namespace,
    },
  };
}

/** The label selector Helm's own storage driver lists a release's Secrets with. */
export function releaseSecretSelector(releaseName: string): string {
  return `owner=helm,name=${releaseName}`;
}

/** The name Helm gives a revision's storage Secret. */
export function releaseSecretName(release: string, revision: number): string {
  return `sh.helm.release.v1.${release}.v${revision}`;
}
