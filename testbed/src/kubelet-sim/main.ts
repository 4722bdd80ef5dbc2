// The kubelet simulator as a process of the test bed:
//   node testbed/src/kubelet-sim/main.ts --kubeconfig K --health-addr 127.0.0.1:PORT
// It serves /healthz (200 once its pod informer has synced) and logs JSON lines to stdout.
import { parseArgs } from "node:util";
import { KubeClient } from "../../../src/kube/client.ts";
import { systemClock } from "../../../src/runtime/clock.ts";
import { runSimulator } from "../sim-process.ts";
import { KubeletSimulator } from "./simulator.ts";

const { values } = parseArgs({
  options: { kubeconfig: { type: "string" }, "health-addr": { type: "string" } },
});
const { kubeconfig } = values;
const healthAddr = values["health-addr"];
if (!kubeconfig || !healthAddr) {
  process.stderr.write("usage: kubelet-sim --kubeconfig FILE --health-addr 127.0.0.1:PORT\n");
  process.exit(2);
}
await runSimulator(
  "kubelet-sim",
  healthAddr,
  (log) =>
    new KubeletSimulator({
      client: KubeClient.fromKubeconfigFile(kubeconfig),
      clock: systemClock(),
      log,
    }),
);
