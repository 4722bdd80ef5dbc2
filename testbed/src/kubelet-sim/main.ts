// The kubelet simulator as a process of the test bed:
//   node testbed/src/kubelet-sim/main.ts --kubeconfig K --health-addr 127.0.0.1:PORT
// It serves /healthz (200 once its pod informer has synced) and logs JSON lines to stdout.
import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { KubeClient } from "../../../src/kube/client.ts";
import { systemClock } from "../../../src/runtime/clock.ts";
import type { LogFn } from "../../../src/runtime/log.ts";
import { KubeletSimulator } from "./simulator.ts";

const { values } = parseArgs({
  options: {
    kubeconfig: { type: "string" },
    "health-addr": { type: "string" },
  },
});
const { kubeconfig } = values;
const healthAddr = values["health-addr"];
if (!kubeconfig || !healthAddr) {
  process.stderr.write("usage: kubelet-sim --kubeconfig FILE --health-addr 127.0.0.1:PORT\n");
  process.exit(2);
}
const [host, portText] = healthAddr.split(":");
if (host !== "127.0.0.1" || !portText) {
  process.stderr.write("kubelet-sim: --health-addr must be 127.0.0.1:PORT\n");
  process.exit(2);
}

const log: LogFn = (level, message, fields) => {
  process.stdout.write(
    `${JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields })}\n`,
  );
};
const abort = new AbortController();
let ready = false;
const health = createServer((req, res) => {
  const ok = req.url === "/healthz" && ready;
  res.writeHead(ok ? 200 : 503, { "content-type": "text/plain" }).end(ok ? "ok" : "not ready");
});
health.listen(Number(portText), host);

const simulator = new KubeletSimulator({
  client: KubeClient.fromKubeconfigFile(kubeconfig),
  clock: systemClock(),
  log,
});
const shutdown = () => {
  abort.abort();
  void simulator.stop().finally(() => {
    health.close();
    process.exit(0);
  });
};
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
await simulator.start(abort.signal);
ready = true;
log("info", "kubelet-sim ready", {});
