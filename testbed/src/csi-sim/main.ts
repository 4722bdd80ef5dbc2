// The CSI simulator as a process of the test bed:
//   node testbed/src/csi-sim/main.ts --kubeconfig K --root DIR --health-addr 127.0.0.1:PORT
// It serves /healthz (200 once its informers have synced) and logs JSON lines to stdout.
import { parseArgs } from "node:util";
import { KubeClient } from "../../../src/kube/client.ts";
import { systemClock } from "../../../src/runtime/clock.ts";
import { runSimulator } from "../sim-process.ts";
import { CsiSimulator } from "./simulator.ts";

const { values } = parseArgs({
  options: {
    kubeconfig: { type: "string" },
    root: { type: "string" },
    "health-addr": { type: "string" },
  },
});
const { kubeconfig, root } = values;
const healthAddr = values["health-addr"];
if (!kubeconfig || !root || !healthAddr) {
  process.stderr.write(
    "usage: csi-sim --kubeconfig FILE --root DIR --health-addr 127.0.0.1:PORT\n",
  );
  process.exit(2);
}
await runSimulator(
  "csi-sim",
  healthAddr,
  (log) =>
    new CsiSimulator({
      client: KubeClient.fromKubeconfigFile(kubeconfig),
      root,
      clock: systemClock(),
      log,
    }),
  { root },
);
