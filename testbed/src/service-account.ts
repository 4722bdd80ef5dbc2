// Acting as a ServiceAccount (tests, the demo), so that the RBAC Cairn ships is what is exercised.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parse } from "yaml";
import type { KubeClient } from "../../src/kube/client.ts";
import { isKubeError } from "../../src/kube/errors.ts";
import { eventually } from "./poll.ts";

/** The API server and CA file of a kubeconfig's current context. */
export function apiEndpoint(kubeconfigPath: string): { server: string; caFile: string } {
  interface Kubeconfig {
    readonly "current-context"?: string;
    readonly contexts?: readonly { name: string; context?: { cluster?: string } }[];
    readonly clusters?: readonly {
      name: string;
      cluster?: { server?: string; "certificate-authority"?: string };
    }[];
  }
  const config = parse(readFileSync(kubeconfigPath, "utf8")) as Kubeconfig;
  const context = config.contexts?.find((c) => c.name === config["current-context"])?.context;
  const cluster = config.clusters?.find((c) => c.name === context?.cluster)?.cluster;
  const server = cluster?.server;
  const ca = cluster?.["certificate-authority"];
  if (!server || !ca) {
    throw new Error(`${kubeconfigPath}: no server and certificate-authority file in its context`);
  }
  // kubectl resolves a relative file path against the kubeconfig's folder.
  return { server, caFile: resolve(dirname(kubeconfigPath), ca) };
}

/**
 * A token of the ServiceAccount, from a Secret of type kubernetes.io/service-account-token that
 * KCM's token controller fills in (KubeClient cannot call the TokenRequest subresource).
 */
export async function serviceAccountToken(
  admin: KubeClient,
  namespace: string,
  serviceAccount: string,
  secretName: string,
): Promise<string> {
  try {
    await admin.create({
      apiVersion: "v1",
      kind: "Secret",
      type: "kubernetes.io/service-account-token",
      metadata: {
        name: secretName,
        namespace,
        annotations: { "kubernetes.io/service-account.name": serviceAccount },
      },
    });
  } catch (err) {
    if (!isKubeError(err, "AlreadyExists")) throw err;
  }
  return eventually(`KCM to fill in the token of Secret ${secretName}`, async () => {
    const secret = await admin.get({
      apiVersion: "v1",
      kind: "Secret",
      namespace,
      name: secretName,
    });
    const encoded = (secret["data"] as Record<string, string> | undefined)?.["token"];
    return encoded ? Buffer.from(encoded, "base64").toString("utf8") : undefined;
  });
}
