// Where an image's tags are listed (pure): the registry host and repository path of an image
// name as container runtimes resolve it. A first path component without a dot or a port (and
// not "localhost") is a Docker Hub namespace, so "nginx" is registry-1.docker.io's
// library/nginx. The settings put the image through the same cache and backoff as a chart's
// OCI repository, read every versionPolicy.checkInterval.
import type { VersionImage } from "../api/index.ts";
import type { RepositorySettings } from "./chart-source.ts";
import type { TagListing } from "./oci-registry.ts";

const DOCKER_HUB_API = "registry-1.docker.io";
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
  if (hasRegistry) {
    return { base: `${scheme}://${first}`, host: first, repository: name.slice(slash + 1) };
  }
  return {
    base: `${scheme}://${DOCKER_HUB_API}`,
    host: DOCKER_HUB_API,
    repository: slash < 0 ? `library/${name}` : name,
    credentialsKey: DOCKER_HUB_AUTH_KEY,
  };
}

/**
 * The key an image's answer is cached and its apps woken under, beside HelmRepositories (whose
 * names hold no ":"). Apps reading the same image with another Secret or scheme get their own.
 */
export const imageSourceName = (image: VersionImage) =>
  `image:${image.name}#${image.secretRef?.name ?? ""}#${image.insecure ? "http" : "https"}`;

/** The image as a tag source: the app's namespace holds its Secret. */
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
  };
}

/** How to list the image's tags. */
export function imageTagListing(settings: RepositorySettings, image: string): TagListing {
  const at = imageLocation(image, settings.insecure);
  return {
    location: { base: at.base, host: at.host, repository: at.repository },
    ...(at.credentialsKey ? { credentialsKey: at.credentialsKey } : {}),
    secret: settings.secretName
      ? {
          namespace: settings.ref.namespace,
          name: settings.secretName,
          field: settings.secretField ?? "spec.secretRef",
        }
      : undefined,
    where: `image ${image} (${settings.url})`,
  };
}
