// npm run demo [-- --keep]: starts a test bed of its own, runs the demo scenario on it
// (demo/scenario.ts) and stops everything again: exit 0 when every step turned out as it must,
// 1 when one did not, 130 on Ctrl-C. With --keep the cluster, Cairn and the demo app stay up and
// the last line is `export KUBECONFIG=<path>`; `npm run testbed -- down` stops them.
import { parseArgs } from "node:util";
import { downDetached } from "../testbed/src/detached.ts";
import { startBed, type Bed } from "./bed.ts";
import { Display } from "./display.ts";
import { APP, INTRO, runDemo } from "./scenario.ts";
import { Teardown } from "./teardown.ts";

const USAGE = `usage: npm run demo [-- --keep]
  Starts a local test bed (Kubernetes, Flux, a Git server, a Helm repository, CSI snapshots),
  installs Cairn from deploy/ and runs the demo: a dry-run plan, an upgrade, and a broken upgrade
  that Cairn rolls back with the data. Stops everything at the end.
  --keep   leave the cluster, Cairn and the demo app running; the last line is
           export KUBECONFIG=<path>, and \`npm run testbed -- down\` stops them
`;

/** The cluster name `npm run testbed -- down` stops when given no --name. */
const KEPT_NAME = "default";

async function main(argv: string[]): Promise<number> {
  let keep: boolean;
  try {
    const { values } = parseArgs({
      args: argv,
      options: { keep: { type: "boolean", default: false }, help: { type: "boolean", short: "h" } },
    });
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    keep = values.keep;
  } catch (err) {
    process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }

  const show = new Display(process.stdout);
  const teardown = new Teardown();
  const report = (line: string) => show.line(`warning: ${line}`);
  let bed: Bed | undefined;
  // An object, not a let: the compiler would take a let as fixed across the awaits below.
  const state = { interrupted: false };
  const onSignal = (signal: string) => {
    if (state.interrupted) return;
    state.interrupted = true;
    show.interject(`\n${signal}: stopping everything the demo started …`);
    void (async () => {
      await teardown.run(report);
      if (keep) await downDetached(KEPT_NAME).catch(() => undefined);
      show.line("stopped");
      process.exit(130);
    })();
  };
  process.on("SIGINT", () => onSignal("SIGINT"));
  process.on("SIGTERM", () => onSignal("SIGTERM"));

  const started = Date.now();
  let ok = false;
  try {
    show.line(INTRO);
    show.stage("Start the test bed");
    bed = await startBed({ keep, name: KEPT_NAME, show, teardown });
    const result = await runDemo({
      kubeconfig: bed.kubeconfig,
      git: bed.git,
      helmRepoUrl: bed.helmRepoUrl,
      out: process.stdout,
      display: show,
      keep,
      teardown,
      ...(bed.cairn ? { cairn: bed.cairn } : {}),
    });
    ok = true;
    show.line();
    show.line(
      `✓ the demo passed in ${Math.round((Date.now() - started) / 1000)}s: ` +
        `${result.rows.length} requests, the data restored byte for byte`,
    );
  } catch (err) {
    if (state.interrupted) return new Promise<number>(() => undefined); // the signal handler exits
    const message = err instanceof Error ? err.message : String(err);
    // runDemo has reported its own failures; anything else (the bed) is reported here.
    if (!bed || !(err instanceof Error && err.name === "DemoError")) {
      show.line(`✗ the demo failed: ${message}`);
    }
  }
  if (state.interrupted) return new Promise<number>(() => undefined);
  if (keep && bed) {
    show.line();
    show.line(
      `The cluster keeps running, with Cairn (namespace ${bed.cairn?.namespace ?? "cairn-system"}) ` +
        `and the ManagedApp ${APP} (namespace ${APP}). With the plugin on your PATH (npm link):`,
    );
    show.line(`  kubectl cairn status ${APP} -n ${APP}`);
    show.line(`  kubectl cairn history ${APP} -n ${APP}`);
    show.line(`Stop it with: npm run testbed -- down`);
    show.line(`export KUBECONFIG=${bed.kubeconfig}`);
  } else {
    await teardown.run(report);
    show.line(ok ? "everything the demo started is stopped" : "stopped");
  }
  return ok ? 0 : 1;
}

process.exit(await main(process.argv.slice(2)));
