// Owns one long-running cluster for `testbed up`: the CLI starts this process detached and
// returns once it reports ready. Components die with this process (PR_SET_PDEATHSIG), so
// SIGKILL here still leaves nothing behind; SIGTERM or SIGINT stops them in order. With --cairn
// (`npm run demo -- --keep`) it also installs Cairn from deploy/ and runs its controller, which
// dies with this process too.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { LocalCairn } from "./cairn.ts";
import { Cluster } from "./cluster.ts";
import type { CairnState } from "./detached.ts";

const { values } = parseArgs({
  options: {
    dir: { type: "string" },
    name: { type: "string" },
    nodes: { type: "string" },
    "control-plane": { type: "boolean", default: false },
    cairn: { type: "boolean", default: false },
  },
});
if (!values.dir) throw new Error("supervisor: --dir is required");
const dir = values.dir;
const log = (line: string) => process.stdout.write(`${line}\n`);

let cluster: Cluster | undefined;
let cairn: LocalCairn | undefined;
// An object, not a let: the compiler would take a let as fixed across the awaits below.
const run = { stopping: false };
const stop = (signal: string) => {
  if (run.stopping) return;
  run.stopping = true;
  log(`testbed: ${signal}: stopping`);
  void (async () => {
    await cairn?.stop();
    await cluster?.stop({ removeDir: false });
    process.exit(0);
  })();
};
process.on("SIGTERM", () => stop("SIGTERM"));
process.on("SIGINT", () => stop("SIGINT"));

try {
  cluster = await Cluster.start({
    dir,
    name: values.name ?? "default",
    nodes: Number(values.nodes ?? "2"),
    profile: values["control-plane"] ? "control-plane" : "full",
    log,
  });
  if (values.cairn && !run.stopping) {
    const t0 = Date.now();
    cairn = await LocalCairn.prepare({
      admin: cluster.client(),
      clusterKubeconfig: cluster.kubeconfig,
      work: join(dir, "cairn"),
    });
    await cairn.start();
    const proc = cairn.process;
    if (!proc?.running) {
      throw new Error(`cairn ${proc?.describeExit() ?? "did not start"}:\n${cairn.logTail()}`);
    }
    const state: CairnState = {
      namespace: cairn.namespace,
      serviceAccount: cairn.serviceAccount,
      pid: proc.pid,
      logFile: cairn.logFile,
      metricsPort: cairn.metricsPort,
      healthPort: cairn.healthPort,
    };
    await writeFile(join(dir, "cairn.json"), JSON.stringify(state, null, 2));
    log(
      `testbed: cairn running in namespace ${cairn.namespace} as ServiceAccount ${cairn.serviceAccount} ` +
        `in ${Date.now() - t0} ms (pid ${proc.pid}, log ${cairn.logFile})`,
    );
  }
  if (!run.stopping) await writeFile(join(dir, "ready"), new Date().toISOString());
} catch (err) {
  const message = err instanceof Error ? err.message : String(err);
  await writeFile(join(dir, "failed"), message);
  log(`testbed: start failed: ${message}`);
  await cairn?.stop();
  await cluster?.stop({ removeDir: false });
  process.exit(1);
}
