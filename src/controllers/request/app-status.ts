// What a request records on its ManagedApp's status when it ends: the version now in Git and
// the outcome of the app's last upgrade. A merge patch of the status subresource, so writing the
// same values again (after a crash) changes nothing.
import { API_VERSION, Kind, type ManagedApp, type ManagedAppStatus } from "../../api/index.ts";
import type { KubeApi } from "../../kube/client.ts";

export async function recordOnApp(
  client: KubeApi,
  app: Pick<ManagedApp, "metadata">,
  status: Pick<ManagedAppStatus, "currentVersion" | "lastUpgrade">,
): Promise<void> {
  await client.patchStatus(
    {
      apiVersion: API_VERSION,
      kind: Kind.ManagedApp,
      namespace: app.metadata.namespace,
      name: app.metadata.name,
    },
    { status },
  );
}
