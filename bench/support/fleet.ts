// The Flux objects of a benchmark fleet: one GitRepository for the whole fleet, and a
// Kustomization per app applying apps/<name>/ into the fleet's namespace.
import type { KubeObject } from "../../src/kube/client.ts";

export function fleetSource(namespace: string, url: string, interval: string): KubeObject {
  return {
    apiVersion: "source.toolkit.fluxcd.io/v1",
    kind: "GitRepository",
    metadata: { name: "fleet", namespace },
    spec: { url, ref: { branch: "main" }, interval },
  };
}

export function fleetKustomization(name: string, namespace: string, interval: string): KubeObject {
  return {
    apiVersion: "kustomize.toolkit.fluxcd.io/v1",
    kind: "Kustomization",
    metadata: { name, namespace },
    spec: {
      sourceRef: { kind: "GitRepository", name: "fleet" },
      path: `./apps/${name}`,
      prune: true,
      targetNamespace: namespace,
      interval,
      timeout: "2m",
    },
  };
}
