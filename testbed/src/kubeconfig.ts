import { stringify } from "yaml";

export interface KubeconfigInput {
  readonly clusterName: string;
  readonly server: string;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly user: string;
}

/** Renders a one-context kubeconfig that points at files (not inline data), as kubeadm does for
 *  components, so a reader can see which certificate each component uses. */
export function renderKubeconfig(input: KubeconfigInput): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: input.clusterName,
        cluster: { server: input.server, "certificate-authority": input.caFile },
      },
    ],
    users: [
      {
        name: input.user,
        user: { "client-certificate": input.certFile, "client-key": input.keyFile },
      },
    ],
    contexts: [
      { name: input.clusterName, context: { cluster: input.clusterName, user: input.user } },
    ],
    "current-context": input.clusterName,
  });
}
