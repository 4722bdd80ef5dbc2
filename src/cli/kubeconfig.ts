// Which cluster, as kubectl decides it: --kubeconfig, else the KUBECONFIG list (missing files
// skipped, the first definition of a name wins), else ~/.kube/config; --context overrides the
// current context; the namespace is --namespace, else the context's, else "default".
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { KubeClient } from "../kube/client.ts";
import { CliError } from "./errors.ts";

export interface KubeconfigInputs {
  readonly flag?: string | undefined;
  /** $KUBECONFIG as the environment has it. */
  readonly env?: string | undefined;
  readonly home: string;
  readonly exists: (path: string) => boolean;
  readonly pathDelimiter?: string;
}

/** The kubeconfig files to merge, in precedence order. Pure but for `exists`. */
export function kubeconfigFiles(inputs: KubeconfigInputs): string[] {
  if (inputs.flag !== undefined) return [inputs.flag];
  if (inputs.env) {
    const listed = [...new Set(inputs.env.split(inputs.pathDelimiter ?? delimiter))].filter(
      (file) => file !== "",
    );
    const present = listed.filter(inputs.exists);
    if (present.length === 0) {
      throw new CliError(`none of the files in KUBECONFIG exists: ${listed.join(", ")}`);
    }
    return present;
  }
  const fallback = join(inputs.home, ".kube", "config");
  if (!inputs.exists(fallback)) {
    throw new CliError(
      `no kubeconfig: ${fallback} does not exist; pass --kubeconfig or set KUBECONFIG`,
    );
  }
  return [fallback];
}

export interface Connection {
  readonly client: KubeClient;
  readonly namespace: string;
}

export interface ConnectOptions {
  readonly kubeconfig?: string | undefined;
  readonly context?: string | undefined;
  readonly namespace?: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly home: string;
}

export function connect(opts: ConnectOptions): Connection {
  const files = kubeconfigFiles({
    flag: opts.kubeconfig,
    env: opts.env["KUBECONFIG"],
    home: opts.home,
    exists: existsSync,
  });
  const client = KubeClient.fromKubeconfig({ files, context: opts.context });
  return { client, namespace: opts.namespace ?? client.namespace ?? "default" };
}
