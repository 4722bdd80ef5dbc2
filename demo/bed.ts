// The demo's own test bed (full profile: control plane, kwok nodes, Flux, Git server, Helm
// repository, CSI simulator and snapshot-controller). Without --keep it is a child of the demo
// and stops with it, folder removed. With --keep it is started the way `npm run testbed -- up`
// starts one (a detached supervisor, run folder of the "default" cluster), and the supervisor
// also installs Cairn from deploy/ and runs its controller, so both outlive the demo until
// `npm run testbed -- down`.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Cluster, type GitAccess } from "../testbed/src/cluster.ts";
import { downDetached, readCairnState, upDetached } from "../testbed/src/detached.ts";
import type { Display } from "./display.ts";
import type { RunningCairn } from "./scenario.ts";
import type { Teardown } from "./teardown.ts";

export interface Bed {
  readonly kubeconfig: string;
  readonly git: GitAccess;
  readonly helmRepoUrl: string;
  readonly dir: string;
  /** The controller the kept bed's supervisor runs; undefined: the demo runs its own. */
  readonly cairn: RunningCairn | undefined;
}

export interface BedOptions {
  readonly keep: boolean;
  /** The kept cluster's name (its run folder); "default" is what `testbed -- down` stops. */
  readonly name: string;
  readonly show: Display;
  /**
   * Without keep, stopping the bed (and removing its folder) is registered here, before the
   * start, so an interrupted start cleans up too. With keep nothing is: the bed stays.
   */
  readonly teardown: Teardown;
}

/** The last line the harness logged, for the live status line. */
function lastLine(text: string): string {
  const lines = text.trimEnd().split("\n");
  return (lines[lines.length - 1] ?? "").replace(/^testbed: /, "");
}

function describe(show: Display, bed: Bed, ms: number): void {
  show.line(
    `✓ test bed up in ${(ms / 1000).toFixed(1)}s (${bed.dir}): etcd, kube-apiserver, ` +
      `kube-controller-manager, kube-scheduler, kwok with 2 nodes; source-, kustomize-, ` +
      `helm-, notification- and image-reflector-controller; an OCI registry; ` +
      `snapshot-controller and the CSI simulator`,
  );
  show.line(
    `  Git server ${bed.git.url}, Helm repository ${bed.helmRepoUrl} (chart demo 1.0.0, 1.1.0, 2.0.0)`,
  );
}

export async function startBed(opts: BedOptions): Promise<Bed> {
  const { show } = opts;
  let latest = "building or finding the binaries";
  const t0 = Date.now();
  if (opts.keep) {
    const state = await show.waiting(
      `starting cluster "${opts.name}" with Cairn (kept after the demo)`,
      () =>
        upDetached({
          name: opts.name,
          nodes: 2,
          cairn: true,
          onLog: (chunk) => (latest = lastLine(chunk.toString("utf8"))),
        }),
      () => latest,
    );
    const cairn = await readCairnState(state.dir);
    if (!state.git || !state.helmRepoUrl || !cairn) {
      await downDetached(opts.name);
      throw new Error(`cluster "${opts.name}" came up without Git, Helm repository or Cairn`);
    }
    const bed = {
      kubeconfig: state.kubeconfig,
      git: state.git,
      helmRepoUrl: state.helmRepoUrl,
      dir: state.dir,
      cairn,
    };
    describe(show, bed, Date.now() - t0);
    return bed;
  }
  const dir = await mkdtemp(join(tmpdir(), "cairn-demo-"));
  opts.teardown.add(`remove ${dir}`, () => rm(dir, { recursive: true, force: true }));
  const cluster = await show.waiting(
    "starting the test bed",
    () =>
      Cluster.start({
        dir,
        name: "demo",
        nodes: 2,
        profile: "full",
        log: (line) => (latest = lastLine(line)),
      }),
    () => latest,
  );
  opts.teardown.add("stop the test bed", () => cluster.stop());
  const { git, helmRepoUrl } = cluster;
  if (!git || !helmRepoUrl) {
    throw new Error("the test bed came up without its Git server or Helm repository");
  }
  const bed = { kubeconfig: cluster.kubeconfig, git, helmRepoUrl, dir, cairn: undefined };
  describe(show, bed, Date.now() - t0);
  return bed;
}
