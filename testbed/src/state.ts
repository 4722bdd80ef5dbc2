// The run folder's cluster.json: what `testbed status`, `testbed down` and a later start read.
import { z } from "zod";

export const ClusterState = z.object({
  name: z.string(),
  dir: z.string(),
  kubeconfig: z.string(),
  ports: z.object({
    etcd: z.number(),
    etcdPeer: z.number(),
    apiserver: z.number(),
    controllerManager: z.number(),
    scheduler: z.number(),
    kwok: z.number(),
  }),
  components: z.array(z.object({ name: z.string(), pid: z.number(), logFile: z.string() })),
  nodes: z.array(z.string()),
  /** The process that owns the components (the `up` supervisor or a test runner). */
  supervisorPid: z.number(),
  startedAt: z.string(),
});
export type ClusterState = z.infer<typeof ClusterState>;
