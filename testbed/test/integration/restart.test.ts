// A second cluster beside the shared one: the harness restarts kube-apiserver, a client watch
// resumes from its last resourceVersion afterwards, and stopping leaves no process behind.
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { readFileSync } from "node:fs";
import { Cluster } from "../../src/cluster.ts";
import { isAlive } from "../../src/process.ts";
import type { WatchEvent } from "../../../src/kube/client.ts";
import { KubeError } from "../../../src/kube/errors.ts";
import { eventually } from "../../../test/support/kube.ts";

describe("a second cluster with an API server restart", () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await Cluster.start({ nodes: 1 });
  }, 180_000);
  afterAll(async () => {
    await cluster.stop();
  });

  it("runs beside the shared cluster on its own ports and folder", () => {
    const shared = readFileSync(inject("kubeconfig"), "utf8");
    expect(shared).not.toContain(`127.0.0.1:${cluster.ports.apiserver}`);
    expect(inject("kubeconfig")).not.toBe(cluster.kubeconfig);
  });

  it("resumes a watch after kube-apiserver restarts", async () => {
    const client = cluster.client();
    const ns = "restart";
    await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    const labelSelector = "test=restart";
    const names: string[] = [];
    const ended: KubeError[] = [];
    let resourceVersion = "";
    // A minimal resume loop, as an informer does: remember the last resourceVersion and re-watch
    // from it when the stream ends or fails; relist when the server answers 410 Gone (a
    // restarted API server's watch cache cannot serve versions from before the restart).
    const relist = async () => {
      const list = await client.list("v1", "ConfigMap", { namespace: ns, labelSelector });
      for (const item of list.items) see(item.metadata.name ?? "");
      resourceVersion = list.resourceVersion;
    };
    const see = (name: string) => {
      if (!names.includes(name)) names.push(name);
    };
    await relist();

    const abort = new AbortController();
    const consume = async () => {
      while (!abort.signal.aborted) {
        try {
          for await (const ev of client.watch("v1", "ConfigMap", {
            namespace: ns,
            labelSelector,
            resourceVersion,
            timeoutSeconds: 60,
            signal: abort.signal,
          })) {
            resourceVersion = nextVersion(ev, resourceVersion);
            if (ev.type === "ADDED") see(ev.object.metadata.name ?? "");
          }
        } catch (err) {
          if (!(err instanceof KubeError)) throw err;
          ended.push(err);
          if (err.code === "Gone") await relist().catch(() => undefined);
          else await new Promise((r) => setTimeout(r, 200));
        }
      }
    };
    const consuming = consume();

    await client.create({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "before", namespace: ns, labels: { test: "restart" } },
    });
    await eventually("the watch sees 'before'", () =>
      Promise.resolve(names.includes("before") ? true : undefined),
    );

    const oldPid = cluster.state().components.find((c) => c.name === "kube-apiserver")?.pid ?? -1;
    await cluster.restart("kube-apiserver");
    const newPid = cluster.state().components.find((c) => c.name === "kube-apiserver")?.pid ?? -1;
    expect(newPid).not.toBe(oldPid);
    expect(isAlive(oldPid)).toBe(false);

    await client.create({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "after", namespace: ns, labels: { test: "restart" } },
    });
    await eventually("the resumed watch sees 'after'", () =>
      Promise.resolve(names.includes("after") ? true : undefined),
    );
    abort.abort();
    await consuming;

    // The restart really broke the stream, and the client saw why.
    expect(ended.map((e) => e.code)).toContain("Transient");
    expect(names).toEqual(["before", "after"]);
    expect(cluster.deadComponents()).toEqual([]);
  });

  it("stops every process and removes its folder", async () => {
    const pids = cluster.state().components.map((c) => c.pid);
    const dir = cluster.dir;
    await cluster.stop();
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });
});

function nextVersion(ev: WatchEvent, current: string): string {
  if (ev.type === "BOOKMARK") return ev.resourceVersion || current;
  return ev.object.metadata.resourceVersion ?? current;
}
