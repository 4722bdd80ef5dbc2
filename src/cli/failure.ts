// How any failure becomes the one line on stderr, including the Kubernetes client's errors.
import { KubeconfigError } from "../kube/client.ts";
import { KubeError } from "../kube/errors.ts";
import { CliError } from "./errors.ts";

function causes(err: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e = err; e !== undefined && e !== null && chain.length < 10;) {
    chain.push(e);
    e = (e as { cause?: unknown }).cause;
  }
  return chain;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

/** client-node's discovery says a kind is not served in two ways: an unknown kind of a known group, or a 404 for the group. */
function unservedKind(err: KubeError): string | undefined {
  for (const e of causes(err)) {
    const text = messageOf(e);
    const unknownKind = /Unrecognized API version and kind: (\S+) (\S+)/.exec(text);
    if (unknownKind) return `${unknownKind[1] ?? ""} ${unknownKind[2] ?? ""}`;
    const missingGroup =
      /Failed to fetch resource metadata for (\S+)\/([A-Za-z0-9]+): HTTP-Code: 404/.exec(text);
    if (missingGroup) return `${missingGroup[1] ?? ""} ${missingGroup[2] ?? ""}`;
  }
  return undefined;
}

/** The deepest cause's message: "connect ECONNREFUSED 127.0.0.1:6443" rather than "fetch failed". */
function rootCause(err: unknown): string {
  const chain = causes(err);
  return messageOf(chain[chain.length - 1]);
}

/** One line for any failure; `server` is the API server URL the kubeconfig points at. */
export function describeFailure(err: unknown, server: string): string {
  if (err instanceof CliError || err instanceof KubeconfigError) return oneLine(err.message);
  if (err instanceof KubeError) {
    const kind = unservedKind(err);
    if (kind !== undefined) {
      return `the cluster at ${server} does not serve ${kind}; are its CRDs installed?`;
    }
    // Without an HTTP status the request never got an answer: no route, refused, TLS, DNS.
    if (err.code === "Transient" && err.status === undefined) {
      return `cannot reach the Kubernetes API at ${server}: ${oneLine(rootCause(err))}`;
    }
    if (err.code === "Unauthorized") {
      return `the Kubernetes API at ${server} rejected the credentials: ${oneLine(err.message)}`;
    }
    return oneLine(err.message);
  }
  return oneLine(messageOf(err));
}
