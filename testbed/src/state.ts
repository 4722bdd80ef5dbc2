// The run folder's cluster.json: what `testbed status`, `testbed down` and a later start read.
import { z } from "zod";

export const ClusterState = z.object({
  name: z.string(),
  dir: z.string(),
  kubeconfig: z.string(),
  profile: z.enum(["control-plane", "full"]),
  ports: z.record(z.string(), z.number()),
  git: z
    .object({
      url: z.string(),
      root: z.string(),
      username: z.string(),
      password: z.string(),
      token: z.string(),
      readOnlyUsername: z.string(),
      readOnlyPassword: z.string(),
    })
    .optional(),
  helmRepoUrl: z.string().optional(),
  ociRepoUrl: z.string().optional(),
  /** notification-controller's event address (--events-addr). */
  eventsUrl: z.string().optional(),
  /** The OCI registry's host:port (plain HTTP): an ImageRepository's spec.image is
   *  <registryHost>/<name>; the charts are under ociRepoUrl on the same registry. */
  registryHost: z.string().optional(),
  components: z.array(z.object({ name: z.string(), pid: z.number(), logFile: z.string() })),
  nodes: z.array(z.string()),
  /** The process that owns the components (the `up` supervisor or a test runner). */
  supervisorPid: z.number(),
  startedAt: z.string(),
});
export type ClusterState = z.infer<typeof ClusterState>;
