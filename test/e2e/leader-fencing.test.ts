// Fencing across a leader change (docs/architecture.md, "Fencing"): two controller replicas as
// a Deployment runs them (leader election on, deploy/'s RBAC, short lease timings). The leader
// freezes itself (SIGSTOP, --failpoint-action=stop) right after the Commit step's push and
// before its status write; the other replica takes the Lease and finishes the request; then the
// frozen one gets SIGCONT. It must exit without writing anything: no status version regresses,
// no step runs twice (one bump commit, one snapshot per PVC, each step once in the history), and
// the finished request is left exactly as the new leader wrote it.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { KubeClient, KubeObject } from "../../src/kube/client.ts";
import { repoPath } from "../../testbed/src/git-fixtures.ts";
import { TestController } from "../support/controller.ts";
import { setUpDemoApp, type DemoApp } from "../support/demo-app.ts";
import { deleteNamespace, eventually, testClient } from "../support/kube.ts";
import { conditions, isReadyNow } from "../support/objects.ts";

const run = promisify(execFile);
const API = "cairn.dev/v1alpha1";
// Short but valid timings (lease > renew deadline > retry period): the takeover comes within
// seconds of the leader freezing.
const LEASE_ARGS = [
  "--lease-duration-seconds=15",
  "--renew-deadline-seconds=10",
  "--retry-period-seconds=2",
];

interface StatusShape {
  readonly conditions?: readonly { type: string; status: string }[];
  readonly history?: readonly { name: string }[];
}

/** The first place where a later version of the request lost something an earlier one had. */
function regression(versions: readonly KubeObject[]): string | undefined {
  for (let i = 1; i < versions.length; i++) {
    const before = (versions[i - 1]?.["status"] ?? {}) as StatusShape;
    const after = (versions[i]?.["status"] ?? {}) as StatusShape;
    const rv = versions[i]?.metadata.resourceVersion;
    for (const c of before.conditions ?? []) {
      if (c.status !== "True") continue;
      const now = after.conditions?.find((d) => d.type === c.type);
      if (now?.status !== "True")
        return `resourceVersion ${rv}: condition ${c.type} went from True to ${now?.status ?? "absent"}`;
    }
    if ((after.history?.length ?? 0) < (before.history?.length ?? 0))
      return `resourceVersion ${rv}: history shrank`;
  }
  return undefined;
}

describe("a replica that lost its lease writes nothing", () => {
  const admin: KubeClient = testClient();
  const git = inject("git");
  let first: TestController;
  let second: TestController;
  let app: DemoApp;

  beforeAll(async () => {
    if (!git) throw new Error("the e2e tier needs the full test bed");
    first = await TestController.prepare({
      admin,
      clusterKubeconfig: inject("kubeconfig"),
      suffix: "-fencing",
      leaderElect: true,
      extraArgs: LEASE_ARGS,
    });
    second = await first.replica(1);
    app = await setUpDemoApp(admin, git, inject("helmRepoUrl"), {
      prefix: "fencing",
      labels: first.labels,
    });
    await first.start();
    await eventually(
      "the ManagedApp Ready",
      async () =>
        isReadyNow(
          await admin.get({
            apiVersion: API,
            kind: "ManagedApp",
            namespace: app.namespace,
            name: "demo",
          }),
        )
          ? true
          : undefined,
      240_000,
    );
    // Graceful: the Lease is released, so the restart below leads at once.
    await first.stop();
  }, 400_000);

  afterAll(async () => {
    await second.stop();
    await first.cleanup();
    await deleteNamespace(admin, app.namespace);
  });

  async function commitsWithTrailer(uid: string): Promise<number> {
    const { stdout } = await run("git", [
      "--git-dir",
      repoPath(git?.root ?? "", app.repo),
      "log",
      "--format=%B%x00",
      "main",
    ]);
    return stdout.split("\0").filter((m) => m.includes(` ${uid}`) && m.includes("Cairn-Request:"))
      .length;
  }

  it("the leader frozen past its lease mid-Commit exits on waking; the new leader's work stands", async () => {
    const name = "fenced-upgrade";
    const ref = { apiVersion: API, kind: "UpgradeRequest", namespace: app.namespace, name };
    await first.start(["--failpoint=UpgradeRequest/Commit", "--failpoint-action=stop"]);
    await second.start([], { standby: true });

    // Every version of the request, as the API hands them out.
    const versions: KubeObject[] = [];
    const stopWatching = new AbortController();
    const watching = (async () => {
      while (!stopWatching.signal.aborted) {
        try {
          for await (const ev of admin.watch(API, "UpgradeRequest", {
            namespace: app.namespace,
            fieldSelector: `metadata.name=${name}`,
            timeoutSeconds: 600,
            signal: stopWatching.signal,
          })) {
            if (ev.type === "BOOKMARK") continue;
            const rv = ev.object.metadata.resourceVersion;
            if (!versions.some((v) => v.metadata.resourceVersion === rv)) versions.push(ev.object);
          }
        } catch {
          // A dropped watch: start another (an ADDED of the current version is de-duplicated).
        }
      }
    })();

    const created = await admin.create({
      apiVersion: API,
      kind: "UpgradeRequest",
      metadata: { name, namespace: app.namespace },
      spec: { managedAppRef: { name: "demo" }, targetVersion: { chart: "1.1.0" } },
    });
    const uid = created.metadata.uid ?? "";

    // The leader pushed the bump commit and froze before writing that it did.
    await eventually(
      "the leader frozen at the failpoint",
      () =>
        Promise.resolve(
          first.logTail(200).includes("failpoint reached; stopping the process") ? true : undefined,
        ),
      240_000,
    );
    expect(first.process?.running).toBe(true);
    expect(await commitsWithTrailer(uid)).toBe(1);

    // The other replica takes the Lease once it lapses and finishes the request.
    const finished: KubeObject = await eventually(
      `${name} finished by the second replica`,
      async () => {
        const r = await admin.get(ref);
        const complete = conditions(r).find((c) => c.type === "Complete");
        const finalizers = (r.metadata["finalizers"] as unknown[] | undefined) ?? [];
        return complete && complete.status !== "Unknown" && finalizers.length === 0 ? r : undefined;
      },
      240_000,
    );
    const complete = conditions(finished).find((c) => c.type === "Complete");
    expect(complete?.reason, complete?.message).toBe("Succeeded");
    expect(second.logTail(400)).toContain("became the leader");

    // Wake the old leader: it must exit, having sent nothing.
    const pid = first.process?.pid ?? -1;
    process.kill(pid, "SIGCONT");
    await first.exited(60_000);
    const oldLog = first.logTail(400);
    expect(oldLog).toContain("resumed after the failpoint");
    expect(oldLog).toContain("lost the lease; exiting");
    expect(first.process?.describeExit()).toBe("exited with code 1");

    // Give a write that got out anyway time to show up in the watch, then compare.
    await eventually(
      "the watch to catch up",
      async () => {
        const now = await admin.get(ref);
        return versions.at(-1)?.metadata.resourceVersion === now.metadata.resourceVersion
          ? true
          : undefined;
      },
      30_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    stopWatching.abort();
    await watching;

    const after = await admin.get(ref);
    expect(after.metadata.resourceVersion).toBe(finished.metadata.resourceVersion);
    expect(after["status"]).toEqual(finished["status"]);
    expect(regression(versions)).toBeUndefined();
    const history = ((after["status"] ?? {}) as StatusShape).history?.map((h) => h.name) ?? [];
    expect(history).toContain("Commit");
    expect(new Set(history).size, history.join(", ")).toBe(history.length);
    expect(await commitsWithTrailer(uid)).toBe(1);
    const snaps = await admin.list("snapshot.storage.k8s.io/v1", "VolumeSnapshot", {
      namespace: app.namespace,
      labelSelector: `cairn.dev/request-uid=${uid}`,
    });
    expect(snaps.items).toHaveLength(2);
    // The new leader, still running, finished everything: Flux resumed, replicas back.
    for (const [kind, apiVersion, n] of [
      ["Kustomization", "kustomize.toolkit.fluxcd.io/v1", "apps"],
      ["HelmRelease", "helm.toolkit.fluxcd.io/v2", "demo"],
    ] as const) {
      const obj = await admin.get({ apiVersion, kind, namespace: app.namespace, name: n });
      expect((obj["spec"] as { suspend?: boolean }).suspend ?? false).toBe(false);
    }
    expect(second.process?.running).toBe(true);
  }, 600_000);
});
