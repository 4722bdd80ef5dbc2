// `kubectl-cairn __complete <words…>`: completion candidates for the shell scripts and for
// kubectl (through kubectl_complete-cairn). Names come from the cluster of the words' own
// --kubeconfig, --context and --namespace; a cluster that cannot be read offers no names and
// never prints an error, which would land in the middle of the user's command line.
import { API_VERSION, Kind } from "../../api/group.ts";
import { complete, type CompletionContext, type NameKind } from "../completion.ts";
import { ExitCode } from "../errors.ts";
import type { Io } from "../main.ts";

const KINDS: Record<Exclude<NameKind, "namespace">, Kind> = {
  app: Kind.ManagedApp,
  upgrade: Kind.UpgradeRequest,
  rollback: Kind.RollbackRequest,
};

export async function completeCommand(words: readonly string[], io: Io): Promise<ExitCode> {
  const names = async (kind: NameKind, ctx: CompletionContext): Promise<readonly string[]> => {
    try {
      const { connect } = await import("../kubeconfig.ts");
      const { client, namespace } = connect({ ...ctx, env: io.env, home: io.home });
      const { items } =
        kind === "namespace"
          ? await client.list("v1", "Namespace")
          : await client.list(API_VERSION, KINDS[kind], { namespace });
      return items.map((i) => i.metadata.name ?? "").filter((n) => n !== "");
    } catch {
      return [];
    }
  };
  for (const line of await complete(words, names)) io.stdout.write(`${line}\n`);
  return ExitCode.Ok;
}
