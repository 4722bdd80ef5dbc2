// Owns one long-running cluster for `testbed up`: the CLI starts this process detached and
// returns once it reports ready. Components die with this process (PR_SET_PDEATHSIG), so
// SIGKILL here still leaves nothing behind; SIGTERM or SIGINT stops them in order.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Cluster } from "./cluster.ts";

const { values } = parseArgs({
  options: {
    dir: { type: "string" },
    name: { type: "string" },
    nodes: { type: "string" },
    "control-plane": { type: "boolean", default: false },
  },
});
if (!values.dir) throw new Error("supervisor: --dir is required");
const dir = values.dir;
const log = (line: string) => process.stdout.write(`${line}\n`);

try {
  const cluster = await Cluster.start({
    dir,
    name: values.name ?? "default",
    nodes: Number(values.nodes ?? "2"),
    profile: values["control-plane"] ? "control-plane" : "full",
    log,
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`testbed: ${signal}: stopping`);
    void cluster.stop({ removeDir: false }).then(() => process.exit(0));
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  await writeFile(join(dir, "ready"), new Date().toISOString());
} catch (err) {
  const message = err instanceof Error ? err.message : String(err);
  await writeFile(join(dir, "failed"), message);
  log(`testbed: start failed: ${message}`);
  process.exit(1);
}
