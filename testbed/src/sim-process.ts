// What the test bed's simulators (csi-sim, kubelet-sim) share as processes: JSON log lines on
// stdout, a /healthz on loopback that answers 200 once the simulator has started (its
// informers synced), and a clean stop on SIGTERM or SIGINT.
import { createServer } from "node:http";
import type { LogFn } from "../../src/runtime/log.ts";

export interface Simulator {
  start(signal: AbortSignal): Promise<void>;
  stop(): Promise<void>;
}

/** Runs a simulator until a signal stops it; exits 2 when --health-addr is not loopback. */
export async function runSimulator(
  name: string,
  healthAddr: string,
  create: (log: LogFn) => Simulator,
  readyFields: Record<string, unknown> = {},
): Promise<void> {
  const [host, portText] = healthAddr.split(":");
  if (host !== "127.0.0.1" || !portText) {
    process.stderr.write(`${name}: --health-addr must be 127.0.0.1:PORT\n`);
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

  const simulator = create(log);
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
  log("info", `${name} ready`, readyFields);
}
