// Global setup of the integration and e2e tiers: one real cluster (full profile: control plane,
// CSI snapshots, Flux, git and Helm servers) per test run, shared by both projects; or an
// existing one started with `npm run testbed -- up`, named by CAIRN_TESTBED_KUBECONFIG.
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { TestProject } from "vitest/node";
import { Cluster, type GitAccess } from "../../testbed/src/cluster.ts";
import { ClusterState } from "../../testbed/src/state.ts";

declare module "vitest" {
  export interface ProvidedContext {
    kubeconfig: string;
    /** The run folder of the cluster. */
    testbedDir: string;
    /** The local git server and its test credentials; null on a control-plane-only cluster. */
    git: GitAccess | null;
    helmRepoUrl: string;
    ociRepoUrl: string;
    /** notification-controller's event address (Cairn's --events-addr); "" without Flux. */
    eventsUrl: string;
  }
}

interface Shared {
  cluster: Promise<Cluster>;
  users: number;
}

// Vitest loads a global setup file once per project, each in its own module graph; a key on
// globalThis is the one place both projects' copies can see, so they share one cluster.
const KEY = Symbol.for("cairn.testbed.shared");
const registry = globalThis as unknown as Record<symbol, Shared | undefined>;

async function provideExisting(project: TestProject, kubeconfig: string): Promise<void> {
  const dir = dirname(kubeconfig);
  const state = ClusterState.parse(JSON.parse(await readFile(join(dir, "cluster.json"), "utf8")));
  project.provide("kubeconfig", kubeconfig);
  project.provide("testbedDir", dir);
  project.provide("git", state.git ?? null);
  project.provide("helmRepoUrl", state.helmRepoUrl ?? "");
  project.provide("ociRepoUrl", state.ociRepoUrl ?? "");
  project.provide("eventsUrl", state.eventsUrl ?? "");
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const reuse = process.env["CAIRN_TESTBED_KUBECONFIG"];
  if (reuse) {
    await provideExisting(project, reuse);
    return () => Promise.resolve();
  }
  let shared = registry[KEY];
  if (!shared) {
    shared = {
      users: 0,
      cluster: Cluster.start({ profile: "full", log: (line) => process.stderr.write(`${line}\n`) }),
    };
    registry[KEY] = shared;
  }
  shared.users++;
  const cluster = await shared.cluster;
  project.provide("kubeconfig", cluster.kubeconfig);
  project.provide("testbedDir", cluster.dir);
  project.provide("git", cluster.git ?? null);
  project.provide("helmRepoUrl", cluster.helmRepoUrl ?? "");
  project.provide("ociRepoUrl", cluster.ociRepoUrl ?? "");
  project.provide("eventsUrl", cluster.eventsUrl ?? "");
  const current = shared;
  return async () => {
    current.users--;
    if (current.users === 0) {
      registry[KEY] = undefined;
      await cluster.stop();
    }
  };
}
