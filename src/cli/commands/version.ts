// `kubectl cairn version`: the plugin's version and the controller's, read from the controller
// Deployments (labelled as deploy/ and the chart label them), as `flux version` does.
import type { KubeClient, KubeObject } from "../../kube/client.ts";
import { isKubeError } from "../../kube/errors.ts";
import { clientVersion } from "../client-version.ts";
import { emit, type CommandContext } from "../context.ts";
import { ExitCode } from "../errors.ts";

export const CONTROLLER_SELECTOR =
  "app.kubernetes.io/name=cairn,app.kubernetes.io/component=controller";

export interface ControllerVersion {
  readonly namespace: string;
  readonly name: string;
  /** The app.kubernetes.io/version label, else the tag of the controller image. */
  readonly version: string | null;
  readonly image: string | null;
}

function imageOf(deployment: KubeObject): string | null {
  const spec = deployment["spec"] as
    { template?: { spec?: { containers?: { name?: string; image?: string }[] } } } | undefined;
  const containers = spec?.template?.spec?.containers ?? [];
  const controller = containers.find((c) => c.name === "controller") ?? containers[0];
  return controller?.image ?? null;
}

/** The tag of an image reference, ignoring a registry port and a digest. */
export function imageTag(image: string): string | null {
  const withoutDigest = image.split("@")[0] ?? image;
  const lastPart = withoutDigest.slice(withoutDigest.lastIndexOf("/") + 1);
  const colon = lastPart.lastIndexOf(":");
  return colon < 0 ? null : lastPart.slice(colon + 1);
}

export function controllerVersion(deployment: KubeObject): ControllerVersion {
  const image = imageOf(deployment);
  return {
    namespace: deployment.metadata.namespace ?? "",
    name: deployment.metadata.name ?? "",
    version:
      deployment.metadata.labels?.["app.kubernetes.io/version"] ?? (image ? imageTag(image) : null),
    image,
  };
}

type Lookup = { controllers: ControllerVersion[] } | { problem: string };

async function findControllers(client: KubeClient): Promise<Lookup> {
  try {
    const { items } = await client.list("apps/v1", "Deployment", {
      labelSelector: CONTROLLER_SELECTOR,
    });
    return { controllers: items.map(controllerVersion) };
  } catch (err) {
    // Reading Deployments cluster-wide is not part of the plugin's role; say so, not fail.
    if (isKubeError(err, "Forbidden")) {
      return { problem: "unknown (not allowed to list Deployments in every namespace)" };
    }
    throw err;
  }
}

export async function version(
  ctx: CommandContext,
  cmd: { readonly clientOnly: boolean },
): Promise<ExitCode> {
  const client = clientVersion();
  if (cmd.clientOnly) {
    if (!emit(ctx, { clientVersion: client })) ctx.stdout.write(`Client Version: ${client}\n`);
    return ExitCode.Ok;
  }
  // The client's line first: it is true whatever the cluster says.
  if (ctx.output === "table") ctx.stdout.write(`Client Version: ${client}\n`);
  const found = await findControllers(ctx.client);
  if (emit(ctx, { clientVersion: client, ...found })) return ExitCode.Ok;
  if ("problem" in found) {
    ctx.stdout.write(`Controller Version: ${found.problem}\n`);
  } else if (found.controllers.length === 0) {
    ctx.stdout.write(
      `Controller Version: not found (no Deployment labelled ${CONTROLLER_SELECTOR})\n`,
    );
  } else {
    for (const c of found.controllers) {
      ctx.stdout.write(
        `Controller Version: ${c.version ?? "unknown"} (${c.namespace}/${c.name}${c.image ? `, image ${c.image}` : ""})\n`,
      );
    }
  }
  return ExitCode.Ok;
}
