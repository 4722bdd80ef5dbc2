// Global setup of the integration and e2e tiers: one real cluster per test run, shared by both
// projects, or an existing one named by CAIRN_TESTBED_KUBECONFIG.
import type { TestProject } from "vitest/node";
import { Cluster } from "../../testbed/src/cluster.ts";

declare module "vitest" {
  export interface ProvidedContext {
    kubeconfig: string;
    /** The run folder of a cluster this run started (empty when reusing one). */
    testbedDir: string;
  }
}

interface Shared {
  cluster: Promise<Cluster | undefined>;
  users: number;
}

// Vitest loads a global setup file once per project, each in its own module graph; a key on
// globalThis is the one place both projects' copies can see, so they share one cluster.
const KEY = Symbol.for("cairn.testbed.shared");
const registry = globalThis as unknown as Record<symbol, Shared | undefined>;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const reuse = process.env["CAIRN_TESTBED_KUBECONFIG"];
  if (reuse) {
    project.provide("kubeconfig", reuse);
    project.provide("testbedDir", "");
    return () => Promise.resolve();
  }
  let shared = registry[KEY];
  if (!shared) {
    shared = {
      users: 0,
      cluster: Cluster.start({ log: (line) => process.stderr.write(`${line}\n`) }),
    };
    registry[KEY] = shared;
  }
  shared.users++;
  const cluster = await shared.cluster;
  if (!cluster) throw new Error("testbed did not start");
  project.provide("kubeconfig", cluster.kubeconfig);
  project.provide("testbedDir", cluster.dir);
  const current = shared;
  return async () => {
    current.users--;
    if (current.users === 0) {
      registry[KEY] = undefined;
      await cluster.stop();
    }
  };
}
