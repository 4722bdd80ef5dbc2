// Where an image's versions come from (pure, but for the reads at the end): the registry host and
// repository path of an image name as container runtimes resolve it, or the Flux ImagePolicy
// that selects the image. A first path component without a dot or a port (and not "localhost")
// is a Docker Hub namespace, so "nginx" is registry-1.docker.io's library/nginx. The settings
// put the image through the same cache and backoff as a chart's OCI repository, read every
// versionPolicy.checkInterval.
import { z } from "zod";
import type { VersionImage } from "../api/index.ts";
import type { KubeClient } from "../kube/client.ts";
import { isKubeError } from "../kube/errors.ts";
import type { RepositorySettings } from "./chart-source.ts";
import { IndexReadError } from "./fetch-index.ts";
import { secretOf, type TagListing } from "./oci-registry.ts";

const DOCKER_HUB_API = "registry-1.docker.io";
const DOCKER_HUB_NAMES = new Set(["docker.io", "index.docker.io", DOCKER_HUB_API]);
/** The key Docker writes Docker Hub's credentials under in a config.json. */
const DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/";

export interface ImageLocation {
  readonly base: string;
  readonly host: string;
  readonly repository: string;
  readonly credentialsKey?: string;
}

/** The registry and repository of an image name without tag ("ghcr.io/org/app", "nginx"). */
export function imageLocation(name: string, insecure: boolean): ImageLocation {
  const slash = name.indexOf("/");
  const first = slash < 0 ? "" : name.slice(0, slash);
  const hasRegistry = first.includes(".") || first.includes(":") || first === "localhost";
  const scheme = insecure ? "http" : "https";
  if (hasRegistry && !DOCKER_HUB_NAMES.has(first)) {
    return { base: `${scheme}://${first}`, host: first, repository: name.slice(slash + 1) };
  }
  const path = hasRegistry ? name.slice(slash + 1) : name;
  return {
    base: `${scheme}://${DOCKER_HUB_API}`,
    host: DOCKER_HUB_API,
    repository: path.includes("/") ? path : `library/${path}`,
    credentialsKey: DOCKER_HUB_AUTH_KEY,
  };
}

/** Whether two image names are the same repository ("nginx" and "docker.io/library/nginx"). */
export function sameImage(a: string, b: string): boolean {
  const x = imageLocation(a, false);
  const y = imageLocation(b, false);
  return x.host === y.host && x.repository === y.repository;
}

/**
 * The key an image's answer is cached and its apps woken under, beside HelmRepositories (whose
 * names hold no ":"). Apps reading the same image another way (Secret, scheme, ImagePolicy)
 * get their own.
 */
export const imageSourceName = (image: VersionImage) =>
  `image:${image.name}#${image.secretRef?.name ?? ""}#${image.insecure ? "http" : "https"}#${image.policyRef?.name ?? ""}`;

/** The image as a version source: the app's namespace holds its Secret and its ImagePolicy. */
export function imageSettings(namespace: string, image: VersionImage): RepositorySettings {
  const at = imageLocation(image.name, image.insecure);
  return {
    ref: { namespace, name: imageSourceName(image) },
    url: `${at.base}/${at.repository}`,
    type: "image",
    secretName: image.secretRef?.name,
    secretField: "spec.versionPolicy.image.secretRef",
    certSecretName: undefined,
    passCredentials: false,
    insecure: image.insecure,
    timeout: undefined,
    // A changed Secret name or scheme is another source: read it again at once.
    fingerprint: `${image.secretRef?.name ?? ""}/${String(image.insecure)}`,
    revision: undefined,
    ...(image.policyRef ? { imagePolicy: image.policyRef.name } : {}),
  };
}

/** How to list the image's tags. */
export function imageTagListing(settings: RepositorySettings, image: string): TagListing {
  const at = imageLocation(image, settings.insecure);
  return {
    location: { base: at.base, host: at.host, repository: at.repository },
    ...(at.credentialsKey ? { credentialsKey: at.credentialsKey } : {}),
    secret: secretOf(settings),
    where: `image ${image} (${settings.url})`,
  };
}

/** The reasons an ImagePolicy gives no candidate. */
export const ImagePolicyReason = {
  SourceNotFound: "SourceNotFound",
  PolicyNotReady: "PolicyNotReady",
  SourceInvalid: "SourceInvalid",
} as const;

const ImagePolicyStatus = z.object({
  status: z
    .object({
      latestRef: z.object({ name: z.string(), tag: z.string() }).nullish(),
    })
    .nullish(),
});

/**
 * The tag an ImagePolicy selected for the image (its status.latestRef), as a one-tag list.
 * Rejects with IndexReadError naming the policy when it is missing, has chosen nothing yet, or
 * selects another image.
 */
export async function readImagePolicyTag(
  client: Pick<KubeClient, "get">,
  namespace: string,
  policy: string,
  image: string,
): Promise<string[]> {
  const name = `ImagePolicy ${namespace}/${policy}`;
  let obj;
  try {
    obj = await client.get({
      apiVersion: "image.toolkit.fluxcd.io/v1",
      kind: "ImagePolicy",
      namespace,
      name: policy,
    });
  } catch (err) {
    // NotFound is also what a cluster without Flux's image automation answers.
    if (isKubeError(err, "NotFound"))
      throw new IndexReadError(ImagePolicyReason.SourceNotFound, `${name} not found`);
    throw err;
  }
  const latest = ImagePolicyStatus.safeParse(obj).data?.status?.latestRef;
  if (!latest)
    throw new IndexReadError(
      ImagePolicyReason.PolicyNotReady,
      `${name} has selected no image yet (no status.latestRef; see its Ready condition)`,
    );
  if (!sameImage(latest.name, image))
    throw new IndexReadError(
      ImagePolicyReason.SourceInvalid,
      `${name} selects image ${latest.name}, not ${image} (spec.versionPolicy.image.name)`,
    );
  return [latest.tag];
}
